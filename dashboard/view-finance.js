// The Finance view (finance and admin): spend, measured impact and ROI for the
// organisation over a period, by quarter and by business function, with CSV
// downloads of the summary.
import { api, download, qs } from './api.js';
import { barChart, chartFigure, hbarChart } from './charts.js';
import { alertBox, clearError, clearFieldErrors, downloadButton, field, fieldError, fill, focusFirstInvalid, h, latest, select, setBusy, showErrorFocused } from './dom.js';
import { compact, fmtMoney, label, pctFromDecimal } from './format.js';
import { state } from './state.js';
import { dataTable, figure, moneyFigure } from './tables.js';

const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'CHF', 'CAD', 'AUD', 'INR', 'BRL', 'SGD', 'BHD'];

export function renderFinance(panel) {
  const box = alertBox();
  const from = h('input', { type: 'date', id: 'fin-from', name: 'from' });
  const to = h('input', { type: 'date', id: 'fin-to', name: 'to' });
  const currency = select({ id: 'fin-currency', name: 'currency' }, [['', 'Reporting currency'], ...CURRENCIES.map((c) => [c, c])], '');
  const form = h('form', { class: 'filters', 'aria-label': 'Period and currency', novalidate: true },
    field('From (period end on or after)', from, 'Format: a date, YYYY-MM-DD. Blank: from the beginning.'),
    field('To (period end on or before)', to, 'Format: a date, YYYY-MM-DD, on or after From. Blank: up to today.'),
    field('Currency', currency),
    h('div', { class: 'filter-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'),
      h('button', { type: 'button', class: 'btn btn-quiet', id: 'fin-reset' }, 'All time')));
  const status = h('p', { class: 'status', role: 'status', id: 'fin-status' }, 'Loading…');
  // Not a live region: the status line above announces what is shown, in one short sentence.
  const results = h('div', { class: 'results' });
  const downloads = h('div', { class: 'downloads', role: 'group', 'aria-label': 'CSV downloads' });
  panel.append(
    h('div', { class: 'panel-head' }, h('h2', null, 'Return on AI pilots'),
      h('p', { class: 'lede' }, 'Spend and the P&L impact measured for your organisation’s pilots. Measured impact counts only entries backed by a measurement and attributed by a method other than self-reporting.')),
    box, form, status, results, h('h3', { class: 'section-title' }, 'Downloads'), downloads);

  const params = (groupBy) => qs({ from: from.value, to: to.value, currency: currency.value, group_by: groupBy });
  downloads.append(
    downloadButton('Summary by quarter (CSV)', () => download(`/v1/summary${params('quarter')}&format=csv`, 'pilotledger-summary.csv'), box),
    downloadButton('Summary by business function (CSV)', () => download(`/v1/summary${params('function')}&format=csv`, 'pilotledger-summary.csv'), box),
    downloadButton('Summary by stage (CSV)', () => download(`/v1/summary${params('stage')}&format=csv`, 'pilotledger-summary.csv'), box));

  const begin = latest();
  /** Marks the period fields when they cannot be sent; true when they can. */
  function validate() {
    clearFieldErrors(form);
    for (const [input, name] of [[from, 'From'], [to, 'To']]) {
      if (input.validity && input.validity.badInput) fieldError(input, `${name}: write a date as YYYY-MM-DD.`);
    }
    return !form.querySelector('[aria-invalid=true]');
  }

  async function load() {
    clearError(box);
    if (!validate()) {
      status.textContent = 'Not loaded: correct the fields marked above.';
      focusFirstInvalid(form);
      return;
    }
    const current = begin();
    setBusy(results, true);
    status.textContent = 'Loading…';
    state.currency = currency.value;
    try {
      const [byQuarter, byFunction, bills] = await Promise.all([
        api(`/v1/summary${params('quarter')}`),
        api(`/v1/summary${params('function')}`),
        // Imported bills (issue 21); their absence never hides the summary.
        api('/v1/spend-sources').catch(() => null),
      ]);
      if (!current()) return;
      const reporting = currency.querySelector('option[value=""]');
      if (!currency.value) reporting.textContent = `Reporting currency (${byQuarter.currency})`;
      fill(results, [...financeResults(byQuarter, byFunction), billsSection(byQuarter, bills)]);
      const period = byQuarter.from || byQuarter.to ? `${byQuarter.from || 'the beginning'} to ${byQuarter.to || 'today'}` : 'all time';
      status.textContent = `Showing ${period}, in ${byQuarter.currency}.`;
    } catch (e) {
      if (!current()) return;
      const input = { from, to, currency }[e.field];
      if (input) {
        fieldError(input, e.detail);
        focusFirstInvalid(form);
      } else showErrorFocused(box, e);
      status.textContent = 'Could not load the summary.';
    } finally {
      if (current()) setBusy(results, false);
    }
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  form.querySelector('#fin-reset').addEventListener('click', () => {
    from.value = '';
    to.value = '';
    load();
  });
  load();
}

function financeResults(byQuarter, byFunction) {
  const t = byQuarter.totals;
  const cards = h('dl', { class: 'cards', id: 'fin-headline' },
    figure('spend', 'Spend', moneyFigure(t.spend), `${t.pilots} pilots`),
    figure('measured_impact', 'Measured impact', moneyFigure(t.measured_impact), `Estimated, not counted: ${fmtMoney(t.estimated_impact)}`),
    figure('roi', 'ROI (measured)', pctFromDecimal(t.roi), `Net measured: ${fmtMoney(t.net_measured)}`),
    figure('zero_impact_share', 'Zero-impact share', pctFromDecimal(t.zero_impact_share), `${t.zero_impact} of ${t.evaluated} evaluated pilots`),
    figure('zero_impact_spend', 'Spend sunk in zero-impact pilots', moneyFigure(t.zero_impact_spend), 'Spend of evaluated pilots with no measured net impact'));

  const q = byQuarter.groups;
  const num = (m) => Number(m.amount);
  const cur = byQuarter.currency;
  const quarterChart = chartFigure(barChart({
    key: 'quarter',
    title: `Spend vs measured impact by quarter (${cur})`,
    desc: q.length
      ? `Bar chart over ${q.length} quarters from ${q[0].key} to ${q[q.length - 1].key}. Highest quarterly spend ${fmtMoney(maxBy(q, (g) => num(g.spend)).spend)} in ${maxBy(q, (g) => num(g.spend)).key}; total measured impact ${fmtMoney(t.measured_impact)}.`
      : 'No spend or impact in this period.',
    labels: q.map((g) => g.key),
    series: [
      { name: 'Spend', cls: 's1', values: q.map((g) => num(g.spend)), exact: q.map((g) => fmtMoney(g.spend)) },
      { name: 'Measured impact', cls: 's2', values: q.map((g) => num(g.measured_impact)), exact: q.map((g) => fmtMoney(g.measured_impact)) },
    ],
    yFormat: compact,
    legend: [{ name: 'Spend', cls: 's1', bar: 'solid' }, { name: 'Measured impact (hatched)', cls: 's2', bar: 'hatched' }],
    table: dataTable(`Spend and measured impact by quarter, ${cur}`, ['Quarter', 'Spend', 'Measured impact', 'ROI', 'Zero-impact share'],
      q.map((g) => [g.key, fmtMoney(g.spend), fmtMoney(g.measured_impact), pctFromDecimal(g.roi), pctFromDecimal(g.zero_impact_share)])),
  }));

  const f = byFunction.groups;
  const functionChart = chartFigure(hbarChart({
    key: 'function',
    title: 'ROI by business function',
    desc: f.length
      ? `Horizontal bar chart of measured ROI for ${f.length} business functions. ${f.map((g) => `${label(g.key)} ${pctFromDecimal(g.roi)}`).join('; ')}.`
      : 'No pilots in this period.',
    labels: f.map((g) => label(g.key)),
    values: f.map((g) => (g.roi == null ? NaN : Number(g.roi) * 100)),
    exact: f.map((g) => pctFromDecimal(g.roi)),
    xFormat: (v) => `${v}%`,
    cls: 's3',
    negCls: 's4',
    table: dataTable(`Measured ROI by business function, ${cur}`, ['Business function', 'Spend', 'Measured impact', 'ROI', 'Zero-impact share'],
      f.map((g) => [label(g.key), fmtMoney(g.spend), fmtMoney(g.measured_impact), pctFromDecimal(g.roi), pctFromDecimal(g.zero_impact_share)])),
  }));

  const fx = byQuarter.fx_rates_used || [];
  const fxDetails = h('details', { class: 'fx' },
    h('summary', null, `FX rates used (${fx.length})`),
    fx.length ? dataTable('FX rates used for this summary (USD per unit)', ['Currency', 'Date', 'Rate to USD'], fx.map((r) => [r.currency, r.date, r.rate_to_usd]))
      : h('p', null, 'No conversion was needed.'));
  const meta = h('p', { class: 'meta' }, `Definition ${byQuarter.definition_version}; evaluation window ${byQuarter.parameters.window_months} months; zero impact at or below ${byQuarter.parameters.min_impact} USD.`);
  return [cards, h('div', { class: 'chart-grid' }, quarterChart, functionChart), budgetBurn(byQuarter.budgets || []), fxDetails, meta];
}

/** Burn against each budget, as a table: the figures and a worded status, never colour alone. */
function budgetBurn(budgets) {
  const title = h('h3', { class: 'section-title', id: 'fin-budgets' }, 'Budgets');
  if (!budgets.length) return h('section', { 'aria-labelledby': 'fin-budgets' }, title, h('p', null, 'No budget is set.'));
  const rows = budgets.map((b) => {
    const c = b.current;
    const scope = b.scope === 'pilot' ? `Pilot ${b.pilot_id}` : 'Organisation';
    if (!c) return [scope, label(b.period), fmtMoney(b.amount), '—', '—', '—', 'Not computable'];
    const over = Number(c.remaining.amount) < 0;
    return [scope, `${label(b.period)} ${c.period}`, fmtMoney(c.budget), fmtMoney(c.spent), fmtMoney(c.remaining),
      pctFromDecimal(c.burn_ratio), over ? 'Over budget' : 'Within budget'];
  });
  return h('section', { 'aria-labelledby': 'fin-budgets' }, title,
    dataTable('Burn against budget in the period containing the end of the selected range',
      ['Scope', 'Period', 'Budget', 'Spent', 'Remaining', 'Burn', 'Status'], rows));
}

/**
 * Spend from imported bills (FOCUS, OpenAI, Anthropic): what the rules
 * placed on pilots and the unallocated rest, per bill, as a table (the rest
 * is named in words, never by colour alone). Nothing when no bill was imported.
 */
function billsSection(summary, bills) {
  const sources = (bills && bills.sources) || [];
  if (!sources.length) return null;
  const rest = summary.unallocated_spend || [];
  const restText = rest.length
    ? rest.map((u) => `${fmtMoney(u)} unallocated over ${u.rows} bill rows no rule matched`).join('; ')
    : 'Every bill row is allocated to a pilot.';
  return h('section', { class: 'bills', 'aria-labelledby': 'fin-bills-title' },
    h('h3', { class: 'section-title', id: 'fin-bills-title' }, 'Spend by source'),
    h('p', { id: 'fin-unallocated' }, `Imported bills: ${restText} Unallocated spend is not in the pilots’ totals above; an allocation rule and a re-import place it.`),
    dataTable('Imported bills: allocated to pilots and unallocated', ['Bill', 'Billing period', 'Total', 'Allocated to pilots', 'Unallocated', 'Unallocated rows'],
      sources.map((b) => [`${b.provider}${b.billing_account ? ` ${b.billing_account}` : ''} (${b.kind})`, b.billing_period.slice(0, 7),
        fmtMoney(b.total), fmtMoney(b.allocated), fmtMoney(b.unallocated), String(b.unallocated_rows)])));
}

function maxBy(arr, f) {
  return arr.reduce((a, b) => (f(b) > f(a) ? b : a));
}
