// How values read on the page: the labels for API enum values, and money,
// ratios and billions formatted exactly as the API states them (decimal strings
// never go through a float). Pure functions, no DOM.

const LABELS = {
  customer_service: 'Customer service', sales_marketing: 'Sales & marketing',
  software_engineering: 'Software engineering', it_operations: 'IT operations',
  finance_accounting: 'Finance & accounting', hr: 'HR', legal: 'Legal',
  procurement_supply_chain: 'Procurement & supply chain', rnd: 'R&D', other: 'Other',
  built: 'Built', bought: 'Bought', partnered: 'Partnered',
  genai_assistant: 'GenAI assistant', genai_agentic: 'GenAI agentic', predictive_ml: 'Predictive ML',
  proposed: 'Proposed', piloting: 'Piloting', production: 'Production', scaled: 'Scaled', abandoned: 'Abandoned',
  lt250: '< 250 employees', '250_999': '250–999 employees', '1000_9999': '1,000–9,999 employees',
  '10000_plus': '10,000+ employees',
  function: 'Business function', sourcing: 'Sourcing', ai_kind: 'AI kind', industry: 'Industry',
  size_band: 'Size band', region: 'Region', all: 'All',
  energy: 'Energy', materials: 'Materials', industrials: 'Industrials',
  consumer_discretionary: 'Consumer discretionary', consumer_staples: 'Consumer staples',
  health_care: 'Health care', financials: 'Financials', information_technology: 'Information technology',
  communication_services: 'Communication services', utilities: 'Utilities', real_estate: 'Real estate',
  public_sector: 'Public sector', education: 'Education',
  status_quo: 'Status quo', revenue_catches_up: 'Revenue catches up', spending_slows: 'Spending slows',
};
export const label = (v) => (v == null ? '' : LABELS[v] || String(v).replace(/_/g, ' '));

/** An API money object as its exact decimal string (digits grouped) and currency. */
export function fmtMoney(m) {
  if (!m) return '—';
  return `${groupDigits(m.amount)} ${m.currency}`;
}

/** Groups the integer digits of an exact decimal string; never goes through a float. */
export function groupDigits(str) {
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(String(str));
  if (!m) return String(str);
  return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (m[3] || '');
}

/** A ratio given as an exact decimal string ("-0.9884") as a percentage with one decimal, rounded half away from zero exactly. */
export function pctFromDecimal(str) {
  if (str == null) return 'n/a';
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(str));
  if (!m) return String(str);
  const frac = m[3] || '';
  const n = BigInt(m[2] + frac) * 1000n;
  const den = 10n ** BigInt(frac.length);
  let q = n / den;
  if ((n % den) * 2n >= den) q += 1n;
  const digits = q.toString().padStart(2, '0');
  const sign = m[1] && q !== 0n ? '-' : '';
  return `${sign}${digits.slice(0, -1)}.${digits.slice(-1)}%`;
}

/** A rate in 0..1 (a JSON number) as a percentage with one decimal. */
export function pct(x) {
  if (x == null || Number.isNaN(x)) return 'n/a';
  return `${(x * 100).toFixed(1)}%`;
}

export function pctInterval(iv) {
  if (!iv) return 'n/a';
  return `${pct(iv.estimate)} (95% CI ${pct(iv.low)}–${pct(iv.high)})`;
}

export function signed(x, digits) {
  const t = x.toFixed(digits);
  return x > 0 && Number(t) !== 0 ? `+${t}` : t;
}

const compactFmt = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
export const compact = (v) => compactFmt.format(v);
const sgn = (v) => (v < 0 ? '-' : '');
export const bn = (v) => (Math.abs(v) >= 1000 ? `${sgn(v)}$${(Math.abs(v) / 1000).toFixed(Math.abs(v) >= 10000 ? 0 : 1)}T` : `${sgn(v)}$${Math.abs(v).toFixed(0)}B`);
/** Billions of USD with one decimal (the projection works in floating point, unlike the ledger). */
export const bnExact = (v) => `${sgn(v) && Number(Math.abs(v).toFixed(1)) !== 0 ? '-' : ''}$${groupDigits(Math.abs(v).toFixed(1))}B`;
