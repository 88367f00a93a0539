// The Pilots view (member, finance, admin): the organisation's pilots, paged
// by cursor and sortable within a page, and a pilot's drill-down with its
// cumulative spend, measured impact and payback month.
import { api, download, qs } from './api.js';
import { chartFigure, lineChart } from './charts.js';
import { alertBox, clearError, downloadButton, field, fill, h, isOff, latest, select, setBusy, setOff, showError } from './dom.js';
import { compact, fmtMoney, label, pctFromDecimal } from './format.js';
import { state } from './state.js';
import { dataTable, figure, keepTableRoles, moneyFigure } from './tables.js';

const STAGES = ['proposed', 'piloting', 'production', 'scaled', 'abandoned'];

export function renderPilots(panel) {
  const box = alertBox();
  const st = { limit: 25, stage: '', cursors: [null], page: 0, items: [], next: null, sort: null };
  const stage = select({ id: 'pilots-stage' }, [['', 'All stages'], ...STAGES.map((x) => [x, label(x)])], '');
  const limit = select({ id: 'pilots-limit' }, [['10', '10'], ['25', '25'], ['50', '50'], ['100', '100']], '25');
  const filters = h('form', { class: 'filters', 'aria-label': 'Pilot filters' }, field('Stage', stage), field('Rows per page', limit));
  const status = h('p', { class: 'status', role: 'status', id: 'pilots-status' }, 'Loading…');
  const tableHost = h('div', { class: 'table-wrap', id: 'pilots-table-wrap', role: 'region', tabindex: '0', 'aria-label': 'Pilots table' });
  // aria-disabled, not disabled: a pager button that turns off while focused keeps focus (WCAG 2.4.3).
  const prev = h('button', { type: 'button', class: 'btn', id: 'pilots-prev', 'aria-disabled': 'true' }, '← Previous page');
  const next = h('button', { type: 'button', class: 'btn', id: 'pilots-next', 'aria-disabled': 'true' }, 'Next page →');
  const pageInfo = h('span', { class: 'page-info' });
  const drill = h('section', { class: 'drill', id: 'pilot-drill', 'aria-labelledby': 'drill-title', hidden: true });
  panel.append(
    h('div', { class: 'panel-head' }, h('h2', null, 'Pilots'),
      h('p', { class: 'lede' }, 'Your organisation’s AI pilots. Choose a pilot to see its cumulative spend and measured impact and the month it paid back.')),
    box, filters, status, tableHost, h('nav', { class: 'pager', 'aria-label': 'Pilot pages' }, prev, pageInfo, next), drill);

  const COLS = [
    ['name', 'Pilot'], ['business_function', 'Business function'], ['stage', 'Stage'], ['sourcing', 'Sourcing'],
    ['ai_kind', 'AI kind'], ['started_on', 'Started'], ['evaluated_on', 'Evaluated'],
  ];

  const begin = latest();
  async function load() {
    const current = begin();
    clearError(box);
    setBusy(tableHost, true);
    status.textContent = 'Loading…';
    try {
      const res = await api(`/v1/pilots${qs({ limit: st.limit, cursor: st.cursors[st.page], stage: st.stage })}`);
      if (!current()) return;
      st.items = res.items;
      st.next = res.next_cursor;
      draw();
      const first = st.page * st.limit + 1;
      status.textContent = st.items.length
        ? `Showing pilots ${first}–${first + st.items.length - 1}${st.stage ? ` at stage ${label(st.stage)}` : ''}.`
        : st.page > 0 ? 'No more pilots: this is past the last page.' : 'No pilots match.';
    } catch (e) {
      if (!current()) return;
      showError(box, e);
      status.textContent = 'Could not load pilots.';
    } finally {
      if (current()) setBusy(tableHost, false);
    }
  }

  function sorted() {
    if (!st.sort) return st.items;
    const { key, dir } = st.sort;
    const val = (p) => (key === 'name' || p[key] == null ? p[key] || '' : label(p[key]));
    return st.items.slice().sort((a, b) => {
      const va = key.endsWith('_on') ? a[key] || '' : String(val(a)).toLowerCase();
      const vb = key.endsWith('_on') ? b[key] || '' : String(val(b)).toLowerCase();
      return (va < vb ? -1 : va > vb ? 1 : 0) * (dir === 'asc' ? 1 : -1);
    });
  }

  function draw() {
    const head = h('tr', null, COLS.map(([key, text]) => {
      const on = st.sort && st.sort.key === key;
      const th = h('th', { scope: 'col', 'aria-sort': on ? (st.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none', class: `col-${key}` });
      const btn = h('button', { type: 'button', class: 'sort', dataset: { sort: key } }, text,
        h('span', { class: 'sort-icon', 'aria-hidden': 'true' }, on ? (st.sort.dir === 'asc' ? '▲' : '▼') : '↕'));
      btn.addEventListener('click', () => {
        st.sort = { key, dir: on && st.sort.dir === 'asc' ? 'desc' : 'asc' };
        draw();
        tableHost.querySelector(`button[data-sort="${key}"]`).focus();
      });
      th.append(btn);
      return th;
    }));
    const rows = sorted().map((p) => {
      const open = h('button', { type: 'button', class: 'link', dataset: { pilot: p.id }, 'aria-controls': 'pilot-drill' }, p.name);
      open.addEventListener('click', () => openPilot(p, open));
      return h('tr', { dataset: { pilotRow: p.id } },
        h('th', { scope: 'row', class: 'col-name' }, open),
        ...COLS.slice(1).map(([key, text]) => h('td', { class: `col-${key}`, 'data-label': text },
          key === 'stage' ? h('span', { class: `stage stage-${p.stage}` }, label(p.stage))
            : key.endsWith('_on') ? p[key] || '—' : label(p[key]))));
    });
    // .stack: below 600 px one card per pilot with every column, the header a row of sort buttons.
    tableHost.replaceChildren(keepTableRoles(h('table', { class: 'data pilots stack', id: 'pilots-table' },
      h('caption', null, `Pilots, page ${st.page + 1}. Sort by a column with its header button (within this page).`),
      h('thead', null, head), h('tbody', null, rows))));
    setOff(prev, st.page === 0);
    setOff(next, !st.next);
    pageInfo.textContent = `Page ${st.page + 1}`;
  }

  async function openPilot(p, opener) {
    drill.hidden = false;
    const title = h('h3', { id: 'drill-title', tabindex: '-1' }, p.name);
    const close = h('button', { type: 'button', class: 'btn btn-quiet' }, 'Close');
    close.addEventListener('click', () => {
      drill.hidden = true;
      drill.replaceChildren();
      opener.focus();
    });
    const dbox = alertBox();
    const body = h('div', { class: 'drill-body', 'aria-busy': 'true' }, h('p', { class: 'status' }, 'Loading…'));
    drill.replaceChildren(h('div', { class: 'drill-head' }, title, close), dbox, body);
    title.focus();
    const cur = state.currency;
    try {
      const roi = await api(`/v1/pilots/${encodeURIComponent(p.id)}/roi${qs({ currency: cur })}`);
      fill(body, pilotRoi(roi, p, dbox, cur));
    } catch (e) {
      body.replaceChildren();
      showError(dbox, e);
    } finally {
      body.setAttribute('aria-busy', 'false');
    }
  }

  stage.addEventListener('change', () => {
    st.stage = stage.value;
    st.cursors = [null];
    st.page = 0;
    load();
  });
  limit.addEventListener('change', () => {
    st.limit = Number(limit.value);
    st.cursors = [null];
    st.page = 0;
    load();
  });
  filters.addEventListener('submit', (ev) => ev.preventDefault());
  prev.addEventListener('click', () => {
    if (isOff(prev) || st.page === 0) return;
    st.page -= 1;
    load();
  });
  next.addEventListener('click', () => {
    if (isOff(next) || !st.next) return;
    st.cursors[st.page + 1] = st.next;
    st.page += 1;
    load();
  });
  load();
}

function pilotRoi(roi, p, box, cur) {
  const evaluation = roi.evaluated
    ? `Evaluated ${roi.evaluation_date}; ${roi.zero_impact ? 'zero impact' : 'measured impact'} (${fmtMoney(roi.measured_net_impact_usd)} within ${roi.parameters.window_months} months)`
    : 'Not evaluated yet';
  const cards = h('dl', { class: 'cards cards-small', id: 'drill-figures' },
    figure('spend', 'Spend', moneyFigure(roi.spend), `of which capex ${fmtMoney(roi.capex_spend)}`),
    figure('measured_impact', 'Measured impact', moneyFigure(roi.measured_impact), `Estimated: ${fmtMoney(roi.estimated_impact)}`),
    figure('roi', 'ROI (measured)', pctFromDecimal(roi.roi), `Net: ${fmtMoney(roi.net_measured)}`),
    figure('payback_month', 'Payback month', roi.payback_month || 'Not paid back', evaluation));
  const mo = roi.monthly;
  const months = mo.map((m) => m.month);
  const payIdx = roi.payback_month ? months.indexOf(roi.payback_month) : -1;
  const chart = chartFigure(lineChart({
    key: 'pilot-roi',
    title: `Cumulative spend and measured impact, ${roi.name} (${roi.currency})`,
    desc: mo.length
      ? `Line chart over ${mo.length} months from ${months[0]} to ${months[months.length - 1]}. Cumulative spend reaches ${fmtMoney(mo[mo.length - 1].cumulative_spend)}, cumulative measured impact ${fmtMoney(mo[mo.length - 1].cumulative_measured_impact)}. ${roi.payback_month ? `Paid back in ${roi.payback_month}.` : 'Not paid back.'}`
      : 'No entries yet.',
    labels: months,
    series: [
      { name: 'Cumulative spend', cls: 's1', values: mo.map((m) => Number(m.cumulative_spend.amount)) },
      { name: 'Cumulative measured impact', cls: 's2', values: mo.map((m) => Number(m.cumulative_measured_impact.amount)) },
    ],
    markers: payIdx >= 0 ? [{ index: payIdx, label: `Payback ${roi.payback_month}`, cls: 's3' }] : [],
    yFormat: compact,
    yFormatExact: (v) => `${v.toLocaleString('en', { maximumFractionDigits: 2 })} ${roi.currency}`,
    legend: [{ name: 'Cumulative spend', cls: 's1', look: 0 }, { name: 'Cumulative measured impact', cls: 's2', look: 1 }],
    table: dataTable(`Monthly figures, ${roi.currency}`, ['Month', 'Spend', 'Measured impact', 'Cumulative spend', 'Cumulative measured impact'],
      mo.map((m) => [m.month, fmtMoney(m.spend), fmtMoney(m.measured_impact), fmtMoney(m.cumulative_spend), fmtMoney(m.cumulative_measured_impact)])),
  }));
  const facts = h('p', { class: 'meta' }, `${label(p.business_function)} · ${label(p.sourcing)} · ${label(p.ai_kind)} · stage ${label(p.stage)}${p.owner_team ? ` · ${p.owner_team}` : ''}`);
  const dl = h('div', { class: 'downloads' },
    downloadButton('Monthly ROI (CSV)', () => download(`/v1/pilots/${encodeURIComponent(roi.pilot_id)}/roi${qs({ currency: cur, format: 'csv' })}`, 'pilot-roi.csv'), box));
  return [facts, cards, chart, dl];
}
