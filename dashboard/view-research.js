// The Zero-impact rate view (researcher, operator): anonymised aggregates
// under disclosure control, the rates' trend and projection, and a breakdown
// by one dimension with its suppressed cells explained.
import { api, download, qs } from './api.js';
import { chartFigure, lineChart } from './charts.js';
import { alertBox, clearError, clearFieldErrors, downloadButton, field, fieldError, fill, focusFirstInvalid, h, latest, select, setBusy, showErrorFocused } from './dom.js';
import { label, pct, pctInterval, signed } from './format.js';
import { dataTable, keepTableRoles } from './tables.js';

const DIMENSIONS = ['function', 'sourcing', 'ai_kind', 'industry', 'size_band', 'region'];

/** Why a cell is suppressed, in words: [short name, what it means]. The API's codes are never shown. */
const SUPPRESSION = {
  empty: ['No pilots', 'no evaluated pilots in this cell'],
  min_organisations: ['Too few organisations', 'fewer than the minimum number of organisations'],
  dominance: ['One organisation dominates', 'one organisation holds more than the allowed share of pilots'],
  one_sided: ['One-sided', 'too few organisations on one side (with and without impact)'],
  complementary: ['Protects another cell', 'suppressed so that another suppressed cell cannot be recovered by subtraction'],
};
/** "Suppressed: fewer than the minimum number of organisations". */
export const suppressedText = (reason) => `Suppressed: ${SUPPRESSION[reason] ? SUPPRESSION[reason][1] : 'withheld by disclosure control'}`;

/** The published definitions (GET /v1/aggregates/definitions), by what each one counts. */
const DEFINITIONS = [
  ['mit_nanda_2025', 'No measured P&L impact (MIT NANDA 2025)'],
  ['pilot_zero_impact', 'No measured impact, per pilot (pilotledger)'],
  ['sp_global_2025', 'Abandoned before production (S&P Global 2025)'],
  ['ibm_ceo_2025', 'Met its expected benefit (IBM 2025)'],
  ['pwc_ceo_2026', 'Neither revenue gain nor cost decrease (PwC 2026)'],
];

const QUARTER = /^(\d{4}Q[1-4]|\d{4}-\d{2}-\d{2})$/;

export function renderResearch(panel) {
  const box = alertBox();
  const from = h('input', { type: 'text', id: 'res-from', inputmode: 'text', pattern: '\\d{4}Q[1-4]|\\d{4}-\\d{2}-\\d{2}', placeholder: 'e.g. 2024Q1', autocomplete: 'off' });
  const to = h('input', { type: 'text', id: 'res-to', inputmode: 'text', pattern: '\\d{4}Q[1-4]|\\d{4}-\\d{2}-\\d{2}', placeholder: 'e.g. 2026Q4', autocomplete: 'off' });
  const minImpact = select({ id: 'res-min-impact' }, [['0', '0 USD'], ['1000', '1,000 USD'], ['10000', '10,000 USD'], ['100000', '100,000 USD']], '0');
  const windowMonths = select({ id: 'res-window' }, [['3', '3 months'], ['6', '6 months'], ['12', '12 months']], '6');
  const by = select({ id: 'res-by' }, DIMENSIONS.map((d) => [d, label(d)]), 'function');
  const definition = select({ id: 'res-definition' }, DEFINITIONS, 'mit_nanda_2025');
  // novalidate: a wrong quarter gets the dashboard's own message next to the field, not the browser's bubble.
  const form = h('form', { class: 'filters', 'aria-label': 'Aggregate parameters', novalidate: true },
    field('From quarter', from, 'Format: YYYYQn (e.g. 2024Q1) or a date YYYY-MM-DD. Blank: three years back.'),
    field('To quarter', to, 'Format: YYYYQn (e.g. 2026Q4) or a date YYYY-MM-DD. Blank: this quarter.'),
    field('Zero impact at or below', minImpact),
    field('Impact window after evaluation', windowMonths),
    field('Definition', definition, 'What a pilot is counted for; every definition counts the same pilots and organisations.'),
    h('div', { class: 'filter-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply')));
  const status = h('p', { class: 'status', role: 'status', id: 'res-status' }, 'Loading…');
  const overview = h('div', { class: 'results', id: 'res-overview' });
  const quarterSlot = h('div', { class: 'slot' });
  const breakdownControls = h('div', { class: 'filters' }, field('Break down by', by), quarterSlot);
  const breakdown = h('div', { class: 'results', id: 'res-breakdown' });
  const downloads = h('div', { class: 'downloads', role: 'group', 'aria-label': 'Exports' });
  panel.append(
    h('div', { class: 'panel-head' }, h('h2', null, 'Zero-impact rate across organisations'),
      h('p', { class: 'lede' }, 'Anonymised aggregates under disclosure control: cells built from too few organisations, dominated by one, or one-sided are suppressed.')),
    box, form, status, overview,
    h('h3', { class: 'section-title', id: 'res-breakdown-title' }, 'Breakdown'), breakdownControls, breakdown,
    h('h3', { class: 'section-title' }, 'Exports'), downloads);

  const params = () => ({ from: from.value.trim(), to: to.value.trim(), min_impact: minImpact.value, window_months: windowMonths.value });
  // The exports carry the default definition's cells; the rate takes any.
  const rateParams = () => ({ ...params(), definition: definition.value });
  downloads.append(
    downloadButton('Export all breakdowns (CSV)', () => download(`/v1/aggregates/export${qs({ ...params(), format: 'csv' })}`, 'pilotledger-aggregates.csv'), box),
    downloadButton('Export all breakdowns (JSON)', () => download(`/v1/aggregates/export${qs({ ...params(), format: 'json' })}`, 'pilotledger-aggregates.json', { accept: 'application/json' }), box),
    downloadButton('This breakdown (CSV)', () => download(`/v1/aggregates/zero-impact-rate${qs({ ...rateParams(), by: by.value, format: 'csv' })}`, 'zero-impact-rate.csv'), box));

  let quarterChoice = null;
  const begin = latest();
  /** Marks a quarter field that is not YYYYQn or YYYY-MM-DD; true when both are acceptable. */
  function validate() {
    clearFieldErrors(form);
    for (const [input, name] of [[from, 'From quarter'], [to, 'To quarter']]) {
      const v = input.value.trim();
      if (v && !QUARTER.test(v)) fieldError(input, `${name}: write a quarter as YYYYQn with n from 1 to 4 (e.g. 2024Q1), or a date as YYYY-MM-DD; "${v}" is neither.`);
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
    setBusy(overview, true);
    setBusy(breakdown, true);
    status.textContent = 'Loading…';
    try {
      const r = await api(`/v1/aggregates/zero-impact-rate${qs({ ...rateParams(), by: by.value })}`);
      if (!current()) return;
      fill(overview, researchOverview(r));
      const bd = researchBreakdown(r, quarterChoice, (q) => { quarterChoice = q; });
      fill(quarterSlot, bd.controls);
      fill(breakdown, bd.content);
      const p = r.parameters;
      status.textContent = `Quarters ${p.from} to ${p.to}; ${r.definition_version}, ${r.disclosure_policy_version}.`;
    } catch (e) {
      if (!current()) return;
      const input = { from, to }[e.field];
      if (input) {
        fieldError(input, e.detail);
        focusFirstInvalid(form);
      } else showErrorFocused(box, e);
      status.textContent = 'Could not load the aggregates.';
    } finally {
      if (current()) {
        setBusy(overview, false);
        setBusy(breakdown, false);
      }
    }
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  by.addEventListener('change', load);
  load();
}

/** Years since 2000-01-01 (days / 365.25) at the middle of a quarter like "2026Q1". */
function quarterMidT(q) {
  const m = /^(\d{4})Q([1-4])$/.exec(q);
  if (!m) return NaN;
  const y = Number(m[1]);
  const k = Number(m[2]);
  const start = Date.UTC(y, (k - 1) * 3, 1);
  const end = Date.UTC(k === 4 ? y + 1 : y, k === 4 ? 0 : k * 3, 1) - 86400000;
  const mid = start + Math.floor((end - start) / 86400000 / 2) * 86400000;
  return (mid - Date.UTC(2000, 0, 1)) / 86400000 / 365.25;
}

/** The legend name of the organisation share under the response's definition. */
function definitionName(r) {
  const key = r.definition ? r.definition.key : 'mit_nanda_2025';
  if (key === 'mit_nanda_2025') return 'Organisation zero-return share (MIT-comparable)';
  const d = DEFINITIONS.find(([k]) => k === key);
  return `Organisation share, every pilot counted (${d ? d[1] : key})`;
}

function researchOverview(r) {
  const all = r.cells.filter((c) => c.dimension === 'all');
  const proj = (r.trend && r.trend.projection) || [];
  const labels = all.map((c) => c.quarter).concat(proj.map((p) => p.quarter));
  const pad = (arr) => arr.concat(proj.map(() => null));
  const rateSeries = (key) => pad(all.map((c) => (c[key] ? c[key].estimate : null)));
  const rateBand = (key) => pad(all.map((c) => (c[key] ? [c[key].low, c[key].high] : null)));
  const org = r.trend.organisation;
  const used = new Set(r.trend.quarters_used || []);
  let fitted = labels.map(() => null);
  if (org && org.available) {
    const firstUsed = all.findIndex((c) => used.has(c.quarter));
    fitted = labels.map((q, i) => {
      if (i < firstUsed || i >= all.length) return null;
      const t = quarterMidT(q);
      return 1 / (1 + Math.exp(-(org.intercept.estimate + org.slope.estimate * t)));
    });
  }
  const projection = all.map(() => null).concat(proj.map((p) => p.estimate));
  // Bounds are null when the trend has too few organisations for intervals.
  const projectionBand = all.map(() => null).concat(proj.map((p) => (p.low == null ? null : [p.low, p.high])));
  if (proj.length && all.length) {
    // Join the projection to the last fitted point so the dashed line is continuous.
    const last = all.length - 1;
    if (fitted[last] != null) projection[last] = fitted[last];
  }
  const published = all.filter((c) => !c.suppressed);
  const latest = published[published.length - 1];
  const series = [
    { name: 'Organisation zero-return share', group: 'org', cls: 's1', look: 0, values: rateSeries('org_zero_return_share'), band: rateBand('org_zero_return_share') },
    { name: 'Pilot rate', group: 'pilot', cls: 's2', look: 1, values: rateSeries('pilot_rate'), band: rateBand('pilot_rate') },
    { name: 'Organisation-average rate', group: 'avg', cls: 's3', look: 2, values: rateSeries('org_average_rate'), band: rateBand('org_average_rate') },
    { name: 'Organisation trend (fitted)', legendName: 'Organisation trend', group: 'trend', cls: 's5', look: 3, values: fitted, points: false },
    { name: 'Projection of the organisation trend', legendName: 'Organisation trend', group: 'trend', cls: 's5', look: 3, values: projection, band: projectionBand },
  ];
  const floor = Math.min(...series.flatMap((se) => se.values.concat((se.band || []).flat())).filter((v) => v != null && Number.isFinite(v)), 1);
  const yMin = Math.max(0, Math.floor((floor - 0.05) * 10) / 10);
  const chart = chartFigure(lineChart({
    key: 'rates',
    title: 'Zero-impact rates by evaluation quarter, with 95% intervals',
    desc: `Line chart of three rates over ${all.length} quarters (${all.length ? `${all[0].quarter} to ${all[all.length - 1].quarter}` : 'none'}), ${published.length} of them published, and the organisation trend projected over ${proj.length} more quarters. ${latest ? `Latest published quarter ${latest.quarter}: organisation zero-return share ${pctInterval(latest.org_zero_return_share)}, pilot rate ${pct(latest.pilot_rate && latest.pilot_rate.estimate)}, organisation-average rate ${pct(latest.org_average_rate && latest.org_average_rate.estimate)}.` : 'No quarter is published.'} Suppressed quarters are gaps.`,
    labels,
    series,
    subtitle: yMin > 0 ? `The vertical axis starts at ${Math.round(yMin * 100)}%. Untick a series to hide it.` : 'Untick a series to hide it.',
    yMin,
    yMax: 1,
    yFormat: (v) => `${Math.round(v * 100)}%`,
    yFormatExact: pct,
    legend: [
      { name: definitionName(r), group: 'org', cls: 's1', look: 0, band: true },
      { name: 'Pilot rate', group: 'pilot', cls: 's2', look: 1, band: true },
      { name: 'Organisation-average rate', group: 'avg', cls: 's3', look: 2, band: true },
      { name: 'Organisation trend (logistic fit) and its projection with 95% band', group: 'trend', cls: 's5', look: 3, band: true },
    ],
    table: dataTable('Zero-impact rates by quarter (95% intervals)', ['Quarter', 'Organisations', 'Pilots', 'Organisation zero-return share', 'Pilot rate', 'Organisation-average rate'],
      all.map((c) => (c.suppressed
        ? [c.quarter, '—', '—', suppressedText(c.suppression_reason), '—', '—']
        : [c.quarter, String(c.organisations), String(c.pilots), pctInterval(c.org_zero_return_share), pctInterval(c.pilot_rate), pctInterval(c.org_average_rate)]))
        .concat(proj.map((p) => [`${p.quarter} (projected)`, '—', '—', p.low == null ? `${pct(p.estimate)} (no interval)` : `${pct(p.estimate)} (95% CI ${pct(p.low)}–${pct(p.high)})`, '—', '—']))),
  }));

  const trendItem = (name, key, fit) => {
    if (!fit || !fit.available) {
      return h('div', { class: 'card', dataset: { trend: key } }, h('dt', null, name), h('dd', { class: 'figure-value small' }, 'Not available'),
        h('dd', { class: 'figure-sub' }, fit && fit.reason ? fit.reason : 'Too few published quarters.'));
    }
    const pp = fit.pp_change_per_year;
    // Intervals are cluster-robust by organisation; with too few organisations
    // there are none and the trend says why.
    const sub = fit.intervals_unavailable_reason
      ? `No 95% interval: ${fit.intervals_unavailable_reason}. At ${fit.at_quarter}; slope ${signed(fit.slope.estimate, 3)} log-odds per year; n = ${fit.n}`
      : `95% CI ${signed(pp.low, 1)} to ${signed(pp.high, 1)} pp at ${fit.at_quarter} (clustered by organisation); slope ${signed(fit.slope.estimate, 3)} log-odds per year (95% CI ${signed(fit.slope.low, 3)} to ${signed(fit.slope.high, 3)}); n = ${fit.n}`;
    return h('div', { class: 'card', dataset: { trend: key } },
      h('dt', null, name),
      h('dd', { class: 'figure-value' }, `${signed(pp.estimate, 1)} pp per year`),
      h('dd', { class: 'figure-sub' }, sub));
  };
  const lastProj = proj[proj.length - 1];
  const trends = h('dl', { class: 'cards', id: 'res-trend' },
    latest ? h('div', { class: 'card', dataset: { figure: 'latest_share' } }, h('dt', null, `Organisation zero-return share, ${latest.quarter}`),
      h('dd', { class: 'figure-value' }, pct(latest.org_zero_return_share.estimate)),
      h('dd', { class: 'figure-sub' }, `95% CI ${pct(latest.org_zero_return_share.low)}–${pct(latest.org_zero_return_share.high)}; ${latest.zero_return_organisations} of ${latest.organisations} organisations`)) : null,
    trendItem('Organisation trend', 'organisation', org),
    trendItem('Pilot trend', 'pilot', r.trend.pilot),
    lastProj ? h('div', { class: 'card', dataset: { figure: 'projection' } }, h('dt', null, `Projected share, ${lastProj.quarter}`),
      h('dd', { class: 'figure-value' }, pct(lastProj.estimate)),
      h('dd', { class: 'figure-sub' }, lastProj.low == null ? 'No 95% band: too few organisations' : `95% band ${pct(lastProj.low)}–${pct(lastProj.high)}`)) : null);
  const d = r.definition;
  if (d && d.key !== 'mit_nanda_2025') {
    trends.append(h('div', { class: 'card', dataset: { figure: 'definition' } },
      h('dt', null, 'Compared with'),
      h('dd', { class: 'figure-value small' }, d.headline_share == null ? 'No published figure' : `${pct(d.headline_share)} published`),
      h('dd', { class: 'figure-sub' }, `${d.headline || d.study}. Here: ${d.rule}. pilotledger's figure is the ${d.figure === 'pilot_rate' ? 'pilot rate' : 'organisation share'} above.`)));
  }
  const dq = r.data_quality && r.data_quality.pilots_excluded_missing_fx_rate
    ? h('p', { class: 'meta' }, `${r.data_quality.pilots_excluded_missing_fx_rate} pilots were left out because an FX rate is missing.`) : null;
  const p = r.parameters;
  const meta = h('p', { class: 'meta' }, `Zero impact: measured net impact ≤ ${p.min_impact} USD within ${p.window_months} months of evaluation. Disclosure: at least ${p.min_organisations} organisations per cell, no organisation above ${pct(p.max_org_share)} of pilots, p%-rule on money bands p = ${p.p_percent}, at least ${p.min_each_side} organisations on each side. Bootstrap rates from 20 organisations per cell (n/a below), ${p.bootstrap_reps} replicates, server-held seed, bounds to 0.1 pp.`);
  return [trends, chart, dq, meta];
}

function researchBreakdown(r, chosen, remember) {
  const dim = r.parameters.by;
  const cells = r.cells.filter((c) => c.dimension !== 'all');
  const quarters = [...new Set(cells.map((c) => c.quarter))];
  const withPublished = quarters.filter((q) => cells.some((c) => c.quarter === q && !c.suppressed));
  const defaultQ = withPublished.length ? withPublished[withPublished.length - 1] : quarters[quarters.length - 1];
  const q0 = chosen && (chosen === 'all' || quarters.includes(chosen)) ? chosen : defaultQ;
  const qSel = select({ id: 'res-quarter' }, [['all', 'All quarters'], ...quarters.map((q) => [q, q])], q0);
  const host = h('div', { class: 'table-wrap', id: 'res-breakdown-table', role: 'region', tabindex: '0', 'aria-label': 'Breakdown table' });
  const summary = h('p', { class: 'meta', id: 'res-breakdown-summary' });
  const draw = () => {
    const q = qSel.value;
    remember(q);
    const shown = q === 'all' ? cells : cells.filter((c) => c.quarter === q);
    const pub = shown.filter((c) => !c.suppressed).length;
    summary.textContent = `${pub} of ${shown.length} cells published; the rest are suppressed by disclosure control.`;
    const multi = q === 'all';
    const head = [multi ? 'Quarter' : null, label(dim), 'Organisations', 'Pilots', 'Organisation zero-return share', 'Pilot rate', 'Organisation-average rate'].filter(Boolean);
    const quarterCell = (c) => (multi ? h('td', { class: 'nowrap', 'data-label': 'Quarter' }, c.quarter) : null);
    host.replaceChildren(keepTableRoles(h('table', { class: 'data breakdown stack' },
      h('caption', null, `Zero-impact rates by ${label(dim).toLowerCase()}, ${multi ? 'all quarters' : q} (95% intervals)`),
      h('thead', null, h('tr', null, head.map((c, i) => h('th', { scope: 'col', class: i > (multi ? 1 : 0) ? 'num' : null }, c)))),
      h('tbody', null, shown.map((c) => {
        const key = { quarter: c.quarter, value: c.value };
        if (c.suppressed) {
          return h('tr', { class: 'suppressed', dataset: { ...key, suppressed: 'true' } },
            quarterCell(c), h('th', { scope: 'row' }, label(c.value)),
            h('td', { colspan: 5, class: 'suppressed-cell', 'data-label': 'Status' }, suppressedText(c.suppression_reason)));
        }
        return h('tr', { dataset: { ...key, suppressed: 'false' } },
          quarterCell(c), h('th', { scope: 'row' }, label(c.value)),
          h('td', { class: 'num', 'data-label': 'Organisations' }, String(c.organisations)),
          h('td', { class: 'num', 'data-label': 'Pilots' }, String(c.pilots)),
          h('td', { class: 'num', 'data-label': 'Organisation zero-return share', dataset: { rate: 'org_zero_return_share' } }, pctInterval(c.org_zero_return_share)),
          h('td', { class: 'num', 'data-label': 'Pilot rate', dataset: { rate: 'pilot_rate' } }, pctInterval(c.pilot_rate)),
          h('td', { class: 'num', 'data-label': 'Organisation-average rate', dataset: { rate: 'org_average_rate' } }, pctInterval(c.org_average_rate)));
      })))));
  };
  qSel.addEventListener('change', draw);
  draw();
  const reasons = h('details', { class: 'fx' }, h('summary', null, 'What the suppression reasons mean'),
    h('dl', { class: 'reasons' }, Object.values(SUPPRESSION).flatMap(([name, meaning]) => [h('dt', null, name), h('dd', null, meaning)])));
  return { controls: field('Quarter', qSel), content: [summary, host, reasons] };
}
