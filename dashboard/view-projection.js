// The Gap projection view (every role): the AI infrastructure revenue gap per
// scenario. The form starts at the server's documented defaults and sends
// only the fields that differ from them.
import { api, ApiError, download } from './api.js';
import { chartFigure, lineChart, seriesKey, tornadoChart } from './charts.js';
import { alertBox, clearError, clearFieldErrors, downloadButton, field, fieldError, fill, focusFirstInvalid, h, latest, setBusy, showErrorFocused } from './dom.js';
import { bn, bnExact, label, pct } from './format.js';
import { dataTable, keepTableRoles, tableWrap } from './tables.js';

const PROJ_FIELDS = [
  { key: 'start_year', label: 'Start year', type: 'int' },
  { key: 'horizon_years', label: 'Horizon (years)', type: 'int', min: 1, max: 30 },
  { key: 'spend_usd_bn', label: 'AI infrastructure spend, $bn by year', type: 'series' },
  { key: 'spend_growth', label: 'Spend growth per year (0.1 = 10%)', type: 'num' },
  { key: 'spend_growth_path', label: 'Spend growth overrides by year', type: 'series', optional: true },
  { key: 'cost_multiplier', label: 'Cost multiplier', type: 'num' },
  { key: 'gross_margin', label: 'End-user gross margin (0–1)', type: 'num', min: 0, max: 1 },
  { key: 'revenue_usd_bn', label: 'AI revenue, $bn by year', type: 'series' },
  { key: 'revenue_growth', label: 'Revenue growth at the reference success rate', type: 'num' },
  { key: 'reference_success_rate', label: 'Reference success rate (0–1)', type: 'num', min: 0, max: 1 },
  { key: 'elasticity', label: 'Elasticity of revenue growth to success', type: 'num' },
  { key: 'max_revenue_growth', label: 'Most AI revenue growth in one year (1 = doubling)', type: 'num', min: 0, max: 10 },
  { key: 'revenue_ceiling_usd_bn', label: 'Ceiling AI revenue saturates at, $bn a year', type: 'num' },
  { key: 'useful_life_years', label: 'Useful life of a capex vintage (years)', type: 'num', min: 1, max: 30 },
  { key: 'cost_of_capital', label: 'Cost of capital on net book value (0–1)', type: 'num', min: 0, max: 1 },
  { key: 'hyperscaler_revenue_usd_bn', label: 'Hyperscaler revenue, $bn by year', type: 'series' },
  { key: 'hyperscaler_revenue_growth', label: 'Hyperscaler revenue growth per year', type: 'num' },
  { key: 'operating_cash_flow_usd_bn', label: 'Operating cash flow, $bn by year', type: 'series' },
  { key: 'operating_cash_flow_growth', label: 'Operating cash flow growth per year', type: 'num' },
  { key: 'shareholder_returns_usd_bn', label: 'Dividends and buybacks, $bn by year', type: 'series' },
  { key: 'shareholder_returns_growth', label: 'Dividends and buybacks growth per year', type: 'num' },
];

const SERIES_FORMAT = 'Format: year: value pairs separated by commas, e.g. 2026: 800, 2027: 1000.';
/** The expected format of a field, written next to it (WCAG 3.3.2). */
function formatOf(f) {
  if (f.type === 'series') return SERIES_FORMAT;
  const range = f.min != null && f.max != null ? ` from ${f.min} to ${f.max}` : '';
  return f.type === 'int' ? `Format: a whole number${range}, e.g. ${f.max || 2026}.` : `Format: a decimal number${range}, e.g. 0.25.`;
}

/** Why a number field's text is not acceptable, or null. */
function numberProblem(input, name, { int = false, min, max, optional = false } = {}) {
  const raw = input.value.trim();
  if (input.validity && input.validity.badInput) return `${name}: write a number${int ? ' (whole)' : ''}.`;
  if (raw === '') return optional ? null : `${name}: enter a value.`;
  const v = Number(raw);
  if (!Number.isFinite(v)) return `${name}: write a number.`;
  if (int && !Number.isInteger(v)) return `${name}: write a whole number.`;
  if (min != null && max == null && v < min) return `${name}: must be ${min} or more.`;
  if ((min != null && v < min) || (max != null && v > max)) return `${name}: must be from ${min} to ${max}.`;
  return null;
}

const seriesText = (obj) => Object.entries(obj || {}).map(([y, v]) => `${y}: ${v}`).join(', ');

function parseSeries(text, name) {
  const out = {};
  const t = text.trim();
  if (!t) return out;
  for (const part of t.split(/[,;\n]+/)) {
    const m = /^\s*(\d{4})\s*[:=]\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/i.exec(part);
    if (!m) throw new ApiError(0, { detail: `${name}: write year: value pairs separated by commas, e.g. "2026: 800, 2027: 1000" (could not read "${part.trim()}").` });
    out[m[1]] = Number(m[2]);
  }
  return out;
}

export function renderProjection(panel) {
  const box = alertBox();
  const status = h('p', { class: 'status', role: 'status', id: 'proj-status' }, 'Loading the defaults…');
  // novalidate: errors are the dashboard's own, tied to their fields, not the browser's generic bubbles.
  const form = h('form', { class: 'proj-form', id: 'proj-form', 'aria-label': 'Projection parameters', novalidate: true });
  const results = h('div', { class: 'results', id: 'proj-results' });
  panel.append(
    h('div', { class: 'panel-head' }, h('h2', null, 'The AI infrastructure revenue gap'),
      h('p', { class: 'lede' }, 'Required revenue = spend × cost multiplier ÷ (1 − gross margin). AI revenue grows with the pilot success rate (1 − the organisation zero-return share). Every parameter starts at its documented default; change any and project again.')),
    box, status, results,
    h('h3', { class: 'section-title', id: 'proj-params-title' }, 'Parameters'),
    h('p', { class: 'help' }, 'Each field shows its default and where that default comes from. Fields you leave at the default are not sent, so the response lists them as defaults used.'),
    form);
  const resultsTitle = () => results.querySelector('#proj-results-title');

  let defaults = null;
  let sources = {};
  const inputs = {};

  function buildForm(resp) {
    defaults = resp.parameters;
    sources = resp.defaults_sources || {};
    form.replaceChildren();
    const grid = h('div', { class: 'proj-grid' });
    for (const f of PROJ_FIELDS) {
      const value = f.type === 'series' ? seriesText(defaults[f.key]) : String(defaults[f.key]);
      const input = h('input', {
        id: `proj-${f.key}`, name: f.key, type: f.type === 'series' ? 'text' : 'number', value,
        step: f.type === 'int' ? '1' : f.type === 'num' ? 'any' : null, min: f.min, max: f.max,
        inputmode: f.type === 'series' ? 'text' : 'decimal', autocomplete: 'off',
        placeholder: f.type === 'series' ? 'e.g. 2026: 800, 2027: 1000' : null,
      });
      inputs[f.key] = input;
      grid.append(field(f.label, input, h('span', null, h('span', { class: 'default-badge', dataset: { defaultFor: f.key } }, 'Default'), ` ${formatOf(f)} Default ${value || 'none'}. Source: ${sources[f.key] || '—'}`)));
    }
    const sr = defaults.success_rate || { source: 'fixed', value: 0.05 };
    const fixed = h('input', { type: 'radio', name: 'sr-source', id: 'proj-sr-fixed', value: 'fixed', checked: sr.source !== 'measured' });
    const measured = h('input', { type: 'radio', name: 'sr-source', id: 'proj-sr-measured', value: 'measured', checked: sr.source === 'measured' });
    const srValue = h('input', { type: 'number', id: 'proj-sr-value', step: 'any', min: '0', max: '1', value: String(sr.value != null ? sr.value : 0.05), inputmode: 'decimal' });
    const srLow = h('input', { type: 'number', id: 'proj-sr-low', step: 'any', min: '0', max: '1', value: sr.low != null ? String(sr.low) : '', inputmode: 'decimal' });
    const srHigh = h('input', { type: 'number', id: 'proj-sr-high', step: 'any', min: '0', max: '1', value: sr.high != null ? String(sr.high) : '', inputmode: 'decimal' });
    Object.assign(inputs, { fixed, measured, srValue, srLow, srHigh });
    const fixedFields = h('div', { class: 'sr-fixed' },
      field('Success rate (0–1)', srValue, `Format: a decimal number from 0 to 1, e.g. 0.05. Default 0.05. Source: ${sources['success_rate.value'] || sources.success_rate || '—'}`),
      field('95% low (optional)', srLow, 'Format: a decimal number from 0 to 1; give both bounds or neither.'),
      field('95% high (optional)', srHigh, 'Format: a decimal number from 0 to 1, at least the low bound.'));
    const fixedNote = h('p', { class: 'help sr-note', hidden: true }, 'These fields apply only to a fixed value; the measured rate comes with its own interval.');
    const syncSource = () => {
      const on = fixed.checked;
      for (const el of [srValue, srLow, srHigh]) el.disabled = !on;
      fixedNote.hidden = on;
    };
    fixed.addEventListener('change', syncSource);
    measured.addEventListener('change', syncSource);
    const srSet = h('fieldset', { class: 'sr' },
      h('legend', { id: 'proj-sr-legend' }, 'Pilot success rate'),
      h('p', { class: 'help', id: 'proj-sr-help' }, `Default: ${sources['success_rate.source'] || sources.success_rate || 'fixed 0.05'}`),
      h('div', { class: 'radios', role: 'radiogroup', 'aria-labelledby': 'proj-sr-legend', 'aria-describedby': 'proj-sr-help' },
        h('div', { class: 'radio' }, fixed, h('label', { for: 'proj-sr-fixed' }, 'Fixed value')),
        h('div', { class: 'radio' }, measured, h('label', { for: 'proj-sr-measured' }, 'Measured by pilotledger (1 − organisation zero-return share and its trend)'))),
      fixedNote, fixedFields);
    syncSource();
    const mc = h('input', { type: 'checkbox', id: 'proj-mc' });
    const mcDraws = h('input', { type: 'number', id: 'proj-mc-draws', value: '1000', min: '1', max: '100000', step: '1', inputmode: 'numeric' });
    const mcSeed = h('input', { type: 'number', id: 'proj-mc-seed', value: '42', min: '0', step: '1', inputmode: 'numeric' });
    Object.assign(inputs, { mc, mcDraws, mcSeed });
    const syncMc = () => {
      mcDraws.disabled = !mc.checked;
      mcSeed.disabled = !mc.checked;
    };
    mc.addEventListener('change', syncMc);
    syncMc();
    const mcSet = h('fieldset', { class: 'sr' }, h('legend', null, 'Bands'),
      h('div', { class: 'radio' }, mc, h('label', { for: 'proj-mc' }, 'Monte Carlo P10/P50/P90 bands instead of low/high')),
      field('Draws', mcDraws, `Format: a whole number from 1 to 100000. Default 1000. ${sources['monte_carlo.draws'] || ''}`),
      field('Seed', mcSeed, `Format: a whole number, 0 or more. Default 42. ${sources['monte_carlo.seed'] || ''}`));
    const actions = h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', id: 'proj-run' }, 'Project'),
      h('button', { type: 'button', class: 'btn btn-quiet', id: 'proj-reset' }, 'Reset to defaults'));
    form.append(grid, srSet, mcSet, actions);
    form.querySelector('#proj-reset').addEventListener('click', () => {
      buildForm({ parameters: defaults, defaults_sources: sources });
      run();
    });
  }

  /**
   * Marks every field whose text cannot be sent (aria-invalid, the message
   * next to it); true when all are acceptable.
   */
  function validate() {
    clearFieldErrors(form);
    for (const f of PROJ_FIELDS) {
      const input = inputs[f.key];
      let problem = null;
      if (f.type === 'series') {
        try {
          parseSeries(input.value, f.label);
        } catch (e) {
          problem = e.detail;
        }
      } else problem = numberProblem(input, f.label, { int: f.type === 'int', min: f.min, max: f.max, optional: true });
      if (problem) fieldError(input, problem);
    }
    if (inputs.fixed.checked) {
      const sv = numberProblem(inputs.srValue, 'Success rate', { min: 0, max: 1 });
      if (sv) fieldError(inputs.srValue, sv);
      const lo = numberProblem(inputs.srLow, '95% low', { min: 0, max: 1, optional: true });
      const hi = numberProblem(inputs.srHigh, '95% high', { min: 0, max: 1, optional: true });
      if (lo) fieldError(inputs.srLow, lo);
      if (hi) fieldError(inputs.srHigh, hi);
      const loT = inputs.srLow.value.trim();
      const hiT = inputs.srHigh.value.trim();
      if (!lo && !hi && Boolean(loT) !== Boolean(hiT)) fieldError(loT ? inputs.srHigh : inputs.srLow, 'Give both the low and the high bound, or neither.');
    }
    if (inputs.mc.checked) {
      const d = numberProblem(inputs.mcDraws, 'Draws', { int: true, min: 1, max: 100000 });
      const sd = numberProblem(inputs.mcSeed, 'Seed', { int: true, min: 0 });
      if (d) fieldError(inputs.mcDraws, d);
      if (sd) fieldError(inputs.mcSeed, sd);
    }
    return !form.querySelector('[aria-invalid=true]');
  }

  /** The input an API error's `field` names (`horizon_years`, `success_rate.value`, `spend_usd_bn.2026`…), if any. */
  function inputFor(name) {
    if (!name) return null;
    const special = { 'success_rate.value': 'srValue', 'success_rate.low': 'srLow', 'success_rate.high': 'srHigh', 'monte_carlo.draws': 'mcDraws', 'monte_carlo.seed': 'mcSeed' };
    if (special[name]) return inputs[special[name]];
    const head = String(name).split(/[.[]/)[0];
    return inputs[head] && inputs[head].tagName === 'INPUT' ? inputs[head] : null;
  }

  /** The request body: only the fields that differ from the defaults, so the response says which defaults were used. */
  function body() {
    const out = {};
    for (const f of PROJ_FIELDS) {
      const raw = inputs[f.key].value.trim();
      if (f.type === 'series') {
        const mine = parseSeries(raw, f.label);
        if (JSON.stringify(mine) !== JSON.stringify(parseSeries(seriesText(defaults[f.key]), f.label))) out[f.key] = mine;
      } else {
        if (raw === '') continue;
        const v = Number(raw);
        if (v !== Number(defaults[f.key])) out[f.key] = v;
      }
    }
    if (inputs.measured.checked) out.success_rate = { source: 'measured' };
    else {
      const value = Number(inputs.srValue.value);
      const lo = inputs.srLow.value.trim();
      const hi = inputs.srHigh.value.trim();
      const def = defaults.success_rate || {};
      if (value !== def.value || lo || hi) {
        out.success_rate = { source: 'fixed', value };
        if (lo || hi) Object.assign(out.success_rate, { low: Number(lo), high: Number(hi) });
      }
    }
    if (inputs.mc.checked) out.monte_carlo = { draws: Number(inputs.mcDraws.value), seed: Number(inputs.mcSeed.value) };
    return out;
  }

  let lastBody = {};
  const begin = latest();
  async function run(initial) {
    clearError(box);
    if (!initial && !validate()) {
      status.textContent = 'Not projected: correct the fields marked in the form.';
      focusFirstInvalid(form);
      return;
    }
    const current = begin();
    setBusy(results, true);
    status.textContent = 'Projecting…';
    try {
      const b = initial ? {} : body();
      const resp = await api('/v1/projections/gap', { method: 'POST', body: b });
      if (!current()) return;
      lastBody = b;
      if (initial) buildForm(resp);
      for (const badge of form.querySelectorAll('.default-badge')) {
        badge.hidden = !(resp.defaults_used || []).includes(badge.dataset.defaultFor);
      }
      fill(results, projectionResults(resp, box, () => lastBody));
      if (!initial && resultsTitle()) resultsTitle().focus();
      status.textContent = `Projected ${resp.parameters.start_year}–${resp.parameters.start_year + resp.parameters.horizon_years - 1}; ${(resp.defaults_used || []).length} parameters at their defaults.`;
    } catch (e) {
      if (!current()) return;
      const input = initial ? null : inputFor(e.field);
      if (input) {
        fieldError(input, e.detail);
        focusFirstInvalid(form);
        status.textContent = 'Not projected: correct the field marked in the form.';
      } else {
        showErrorFocused(box, e);
        status.textContent = 'The projection failed; see the message above.';
      }
    } finally {
      if (current()) setBusy(results, false);
    }
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(false);
  });
  run(true);
}

const SCENARIO_CLS = { status_quo: 's1', revenue_catches_up: 's3', spending_slows: 's2' };
/** The dash and marker per scenario (charts.js LOOKS), the same in the chart, its legend and the table. */
const SCENARIO_LOOK = { status_quo: 0, revenue_catches_up: 1, spending_slows: 2 };
const lookOf = (name) => (name in SCENARIO_LOOK ? SCENARIO_LOOK[name] : 3);

function projectionResults(resp, box, currentBody) {
  const sc = resp.scenarios;
  const years = sc.length ? sc[0].years.map((y) => y.year) : [];
  const bandOf = (y) => {
    const b = y.bands;
    if (!b) return null;
    if (b.low && b.high) return [b.low.gap_usd_bn, b.high.gap_usd_bn];
    if (b.p10 && b.p90) return [b.p10.gap_usd_bn, b.p90.gap_usd_bn];
    return null;
  };
  const closes = (s) => (s.gap_closes_in == null ? 'not within horizon' : String(s.gap_closes_in));
  const table = tableWrap(keepTableRoles(h('table', { class: 'data stack', id: 'proj-scenarios' },
    h('caption', null, 'When each scenario closes the gap'),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'Scenario'), h('th', { scope: 'col' }, 'Gap closes in'), h('th', { scope: 'col' }, 'Closes (depreciation method)'),
      h('th', { scope: 'col', class: 'num' }, `Gap ${years[0] || ''}`), h('th', { scope: 'col', class: 'num' }, `Gap ${years[years.length - 1] || ''}`),
      h('th', { scope: 'col', class: 'num' }, 'Cumulative gap'))),
    h('tbody', null, sc.map((s) => {
      const first = s.years[0];
      const last = s.years[s.years.length - 1];
      return h('tr', { dataset: { scenario: s.name } },
        h('th', { scope: 'row' }, seriesKey({ cls: SCENARIO_CLS[s.name] || 's4', look: lookOf(s.name) }), ' ', label(s.name),
          h('span', { class: 'scenario-desc' }, s.description)),
        h('td', { class: 'closes', 'data-label': 'Gap closes in', dataset: { closes: s.gap_closes_in == null ? '' : String(s.gap_closes_in) } }, closes(s)),
        h('td', { class: 'closes-dep', 'data-label': 'Closes (depreciation method)' }, closesIn(s.gap_closes_in_by_method && s.gap_closes_in_by_method.depreciation)),
        h('td', { class: 'num', 'data-label': `Gap ${years[0] || ''}` }, first ? bnExact(first.gap_usd_bn) : '—'),
        h('td', { class: 'num', 'data-label': `Gap ${years[years.length - 1] || ''}` }, last ? bnExact(last.gap_usd_bn) : '—'),
        h('td', { class: 'num', 'data-label': 'Cumulative gap' }, last ? bnExact(last.cumulative_gap_usd_bn) : '—'));
    })))));

  const hasBands = sc.some((s) => s.years.some((y) => y.bands));
  const everything = sc.flatMap((s) => s.years.flatMap((y) => [y.gap_usd_bn, ...(bandOf(y) || [])])).filter(Number.isFinite);
  const maxGap = Math.max(0, ...everything);
  const canZoom = maxGap > 0 && Math.min(...everything) < -maxGap * 1.25;
  const zoom = { on: canZoom };
  const chart = chartFigure(lineChart({
    key: 'gap',
    title: 'Revenue gap per scenario, $bn (required revenue minus AI revenue)',
    desc: `Line chart of the gap from ${years[0]} to ${years[years.length - 1]} for ${sc.length} scenarios${hasBands ? ', with bands from the success rate’s interval' : ''}. ${sc.map((s) => `${label(s.name)}: closes ${closes(s)}`).join('; ')}. Below zero the gap is closed.`,
    labels: years.map(String),
    series: sc.map((s) => ({
      name: label(s.name), cls: SCENARIO_CLS[s.name] || 's4', look: lookOf(s.name),
      values: s.years.map((y) => y.gap_usd_bn),
      band: hasBands ? s.years.map(bandOf) : null,
    })),
    markers: sc.filter((s) => s.gap_closes_in != null).slice(0, 2).map((s) => ({
      index: years.indexOf(s.gap_closes_in), label: `${label(s.name)}: closes ${s.gap_closes_in}`, short: `closes ${s.gap_closes_in}`, cls: SCENARIO_CLS[s.name] || 's4',
    })),
    yMin: () => (zoom.on ? -maxGap : null),
    subtitle: canZoom ? 'Large surpluses (gap far below zero) can be cut off to keep the years before the gap closes readable.' : null,
    controls: canZoom ? (redraw) => {
      const box = h('input', { type: 'checkbox', id: 'proj-zoom', checked: true });
      box.addEventListener('change', () => {
        zoom.on = box.checked;
        redraw();
      });
      return h('div', { class: 'radio chart-control' }, box, h('label', { for: 'proj-zoom' }, `Cut the axis off at ${bn(-maxGap)}`));
    } : null,
    yFormat: bn,
    yFormatExact: bnExact,
    leftMargin: 56,
    legend: sc.map((s) => ({ name: label(s.name), cls: SCENARIO_CLS[s.name] || 's4', look: lookOf(s.name), band: hasBands })),
    table: dataTable('Gap per scenario and year, $bn', ['Year', ...sc.map((s) => label(s.name))],
      years.map((yr, i) => [String(yr), ...sc.map((s) => {
        const y = s.years[i];
        const b = bandOf(y);
        return `${bnExact(y.gap_usd_bn)}${b ? ` (${bnExact(Math.min(...b))} to ${bnExact(Math.max(...b))})` : ''}`;
      })])),
  }));

  const status = sc.find((s) => s.name === 'status_quo') || sc[0];
  const detail = status ? dataTable(`${label(status.name)}: the model year by year, $bn`, ['Year', 'Spend', 'Required revenue', 'AI revenue', 'Gap', 'Cumulative gap', 'Success rate'],
    status.years.map((y) => [String(y.year), bnExact(y.spend_usd_bn), bnExact(y.required_revenue_usd_bn), bnExact(y.revenue_usd_bn), bnExact(y.gap_usd_bn), bnExact(y.cumulative_gap_usd_bn), pct(y.success_rate)])) : null;
  const dl = h('div', { class: 'downloads' },
    downloadButton('Projection (CSV)', () => download('/v1/projections/gap?format=csv', 'gap-projection.csv', { method: 'POST', body: currentBody() }), box));
  const heading = h('h3', { class: 'section-title first', id: 'proj-results-title', tabindex: '-1' }, 'Results');
  return [heading, warningsList(resp.warnings || []), table, chart, ...fanCharts(sc, bandOf),
    intensityChart(resp, sc), tornadoFigure(resp.sensitivity),
    h('details', { class: 'fx' }, h('summary', null, `${label(status && status.name)} year by year`), detail),
    status ? h('details', { class: 'fx' }, h('summary', null, `${label(status.name)}: depreciation, capital intensity and funding`), accountsTable(status)) : null,
    status ? h('details', { class: 'fx' }, h('summary', null, `${label(status.name)}: payback per capex vintage`), paybackTable(status)) : null,
    resp.measured_success_rate ? h('details', { class: 'fx' }, h('summary', null, 'The measured success rate as used'), measuredTable(resp.measured_success_rate)) : null,
    dl];
}

const closesIn = (y) => (y == null ? 'not within horizon' : String(y));
const orDash = (v, f) => (v == null || !Number.isFinite(v) ? '—' : f(v));
const pctSigned = (v) => `${v > 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;

/** What the response warns about, as text (never colour alone). */
function warningsList(warnings) {
  if (!warnings.length) return null;
  return h('section', { class: 'proj-warnings', 'aria-labelledby': 'proj-warnings-title' },
    h('h4', { id: 'proj-warnings-title' }, `Warnings (${warnings.length})`),
    h('ul', null, warnings.map((w) => h('li', { dataset: { code: w.code } },
      h('strong', null, `${w.scenario ? `${label(w.scenario)}: ` : ''}${w.code.replace(/_/g, ' ')}`),
      ` (${w.years.length > 4 ? `${w.years[0]}–${w.years[w.years.length - 1]}` : w.years.join(', ')}). ${w.message}`))));
}

/** A gap's band from a year's bands: [low, high] edges for `key`, or null. */
function bandFor(y, key) {
  const b = y.bands;
  if (!b) return null;
  if (b.low && b.high) return [b.low[key], b.high[key]];
  if (b.p10 && b.p90) return [b.p10[key], b.p90[key]];
  return null;
}

/** One fan chart per scenario: both methods' gaps with their bands, each with its table. */
function fanCharts(sc, bandOf) {
  return sc.map((s) => {
    const years = s.years.map((y) => String(y.year));
    const runBand = s.years.map(bandOf);
    const depBand = s.years.map((y) => bandFor(y, 'gap_depreciation_usd_bn'));
    const hasBand = runBand.some(Boolean);
    return chartFigure(lineChart({
      key: `fan-${s.name}`,
      title: `${label(s.name)}: the gap by both methods, $bn${hasBand ? ', with bands' : ''}`,
      desc: `Line chart of ${label(s.name)} from ${years[0]} to ${years[years.length - 1]}: Cahn's run-rate gap and the depreciation-based gap${hasBand ? ', each with the band from the success rate' : ''}. Run-rate closes ${closesIn(s.gap_closes_in)}; depreciation closes ${closesIn(s.gap_closes_in_by_method.depreciation)}.`,
      labels: years,
      series: [
        { name: 'Run-rate gap (Cahn)', cls: 's1', look: 0, values: s.years.map((y) => y.gap_usd_bn), band: hasBand ? runBand : null },
        { name: 'Depreciation-based gap', cls: 's2', look: 1, values: s.years.map((y) => y.gap_depreciation_usd_bn), band: hasBand ? depBand : null },
      ],
      yFormat: bn,
      yFormatExact: bnExact,
      leftMargin: 56,
      legend: [{ name: 'Run-rate gap (Cahn)', cls: 's1', look: 0, band: hasBand }, { name: 'Depreciation-based gap', cls: 's2', look: 1, band: hasBand }],
      table: dataTable(`${label(s.name)}: gap by method and year, $bn`, ['Year', 'Run-rate gap', 'Run-rate band', 'Depreciation gap', 'Depreciation band'],
        s.years.map((y, i) => [String(y.year), bnExact(y.gap_usd_bn), runBand[i] ? `${bnExact(Math.min(...runBand[i]))} to ${bnExact(Math.max(...runBand[i]))}` : '—',
          bnExact(y.gap_depreciation_usd_bn), depBand[i] ? `${bnExact(Math.min(...depBand[i]))} to ${bnExact(Math.max(...depBand[i]))}` : '—'])),
    }));
  });
}

/** Capital intensity per scenario against the benchmarks (flat lines with their own dash and marker). */
function intensityChart(resp, sc) {
  const years = sc.length ? sc[0].years.map((y) => String(y.year)) : [];
  const marks = Object.entries((resp.benchmarks && resp.benchmarks.capital_intensity) || {});
  const scen = sc.filter((s) => s.name !== 'revenue_catches_up');
  const series = [
    ...scen.map((s, i) => ({ name: `${label(s.name)} capital intensity`, cls: i ? 's2' : 's1', look: i, values: s.years.map((y) => y.capital_intensity) })),
    ...marks.map(([name, v], i) => ({ name: `Benchmark: ${label(name)}`, cls: i ? 's4' : 's3', look: 2 + (i % 2), values: years.map(() => v), points: false })),
  ];
  return chartFigure(lineChart({
    key: 'intensity',
    title: 'Capital intensity (capex ÷ hyperscaler revenue) against benchmarks',
    desc: `Line chart of capex as a share of hyperscaler revenue from ${years[0]} to ${years[years.length - 1]}${marks.length ? `, with flat benchmark lines: ${marks.map(([n, v]) => `${label(n)} ${pct(v)}`).join(', ')}` : ''}. (Revenue catches up has the same capex as the status quo.)`,
    labels: years,
    series,
    yFormat: pct,
    yFormatExact: pct,
    yMin: 0,
    leftMargin: 48,
    legend: series.map((se) => ({ name: se.name, cls: se.cls, look: se.look, points: se.points })),
    table: dataTable('Capital intensity and divergence by year', ['Year', ...scen.map((s) => `${label(s.name)} intensity`), ...marks.map(([n]) => label(n)), 'Capex − revenue growth (status quo)'],
      years.map((yr, i) => [yr, ...scen.map((s) => orDash(s.years[i].capital_intensity, pct)), ...marks.map(([, v]) => pct(v)), orDash(scen[0] && scen[0].years[i].capex_revenue_divergence, pctSigned)])),
  }));
}

/** The tornado on the status-quo run-rate gap, with every figure (both methods) in its table. */
function tornadoFigure(t) {
  if (!t || !t.bars || !t.bars.length) return null;
  const bars = t.bars;
  const valueText = (b, v) => (b.applies_as === 'multiplier' ? `×${v}` : String(Number(v.toPrecision(4))));
  return chartFigure(tornadoChart({
    key: 'tornado',
    title: `Sensitivity of the ${t.year} gap (status quo, run-rate), $bn`,
    desc: `Tornado chart: each parameter moved to its low and high value with the others as given; bars start at the base gap of ${bnExact(t.base_gap_usd_bn)}. Largest swing: ${label(bars[0].parameter)} (${bnExact(bars[0].gap_usd_bn.at_low)} to ${bnExact(bars[0].gap_usd_bn.at_high)}).`,
    labels: bars.map((b) => label(b.parameter)),
    low: bars.map((b) => b.gap_usd_bn.at_low),
    high: bars.map((b) => b.gap_usd_bn.at_high),
    base: t.base_gap_usd_bn,
    exact: bars.map((b) => `low ${bn(b.gap_usd_bn.at_low)} · high ${bn(b.gap_usd_bn.at_high)}`),
    xFormat: bn,
    lowCls: 's1',
    highCls: 's2',
    legend: [{ name: 'Gap at the low value', cls: 's1', bar: 'solid' }, { name: 'Gap at the high value', cls: 's2', bar: 'hatched' }],
    table: dataTable(`Sensitivity of the ${t.year} gap, $bn (base: run-rate ${bnExact(t.base_gap_usd_bn)}, depreciation ${bnExact(t.base_gap_depreciation_usd_bn)})`,
      ['Parameter', 'Low', 'High', 'Run-rate gap at low', 'at high', 'Depreciation gap at low', 'at high', 'Brackets the base'],
      bars.map((b) => [label(b.parameter), valueText(b, b.low_value), valueText(b, b.high_value), bnExact(b.gap_usd_bn.at_low), bnExact(b.gap_usd_bn.at_high),
        bnExact(b.gap_depreciation_usd_bn.at_low), bnExact(b.gap_depreciation_usd_bn.at_high), b.brackets_base ? 'yes' : 'no'])),
  }));
}

function accountsTable(s) {
  return dataTable(`${label(s.name)}: both methods and the hyperscalers' accounts, $bn`,
    ['Year', 'Required (run-rate)', 'Depreciation', 'Capital charge', 'Required (depreciation)', 'Gap (depreciation)', 'Capital intensity', 'Capex growth', 'Hyperscaler revenue growth', 'Divergence', 'Funding gap', 'Cumulative new debt'],
    s.years.map((y) => [String(y.year), bnExact(y.required_revenue_usd_bn), bnExact(y.depreciation_usd_bn), bnExact(y.capital_charge_usd_bn), bnExact(y.required_revenue_depreciation_usd_bn),
      bnExact(y.gap_depreciation_usd_bn), orDash(y.capital_intensity, pct), orDash(y.capex_growth, pctSigned), orDash(y.hyperscaler_revenue_growth, pctSigned),
      orDash(y.capex_revenue_divergence, pctSigned), bnExact(y.funding_gap_usd_bn), bnExact(y.cumulative_new_debt_usd_bn)]));
}

function paybackTable(s) {
  return dataTable(`${label(s.name)}: payback per capex vintage`, ['Vintage', 'Capex', 'Payback (years)', 'Recovered', 'Outcome'],
    s.payback.map((v) => [String(v.vintage), bnExact(v.capex_usd_bn), v.payback_years == null ? '—' : v.payback_years.toFixed(2), pct(v.recovered_share), label(v.status)]));
}

function measuredTable(rows) {
  return dataTable('Measured success rate per year (1 − organisation zero-return share)', ['Year', 'Estimate', '95% interval', 'Basis', 'Quarter'],
    rows.map((r) => [String(r.year), pct(r.estimate), `${pct(r.low)}–${pct(r.high)}`, r.basis === 'published' ? 'Published quarterly share' : 'Trend projection', r.quarter]));
}
