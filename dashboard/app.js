// pilotledger dashboard: plain JS, no framework, no build step, no third-party
// anything (the server's CSP allows only same-origin scripts and styles).
// It talks to the same JSON API as every other client, with the bearer token
// the user pastes (kept in sessionStorage only, never in localStorage).
'use strict';

(() => {
  const TOKEN_KEY = 'pilotledger.token';
  const ROLES = ['member', 'finance', 'admin', 'researcher', 'operator'];
  const SVGNS = 'http://www.w3.org/2000/svg';
  const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'CHF', 'CAD', 'AUD', 'INR', 'BRL', 'SGD', 'BHD'];
  const STAGES = ['proposed', 'piloting', 'production', 'scaled', 'abandoned'];
  const DIMENSIONS = ['function', 'sourcing', 'ai_kind', 'industry', 'size_band', 'region'];

  // The views and who sees them. Members get the pilot table and drill-down
  // (GET /v1/summary is finance/admin only); researchers and the operator get
  // the anonymised aggregates; everyone gets the projection.
  const VIEWS = [
    { id: 'finance', label: 'Finance', roles: ['finance', 'admin'], render: renderFinance },
    { id: 'pilots', label: 'Pilots', roles: ['member', 'finance', 'admin'], render: renderPilots },
    { id: 'research', label: 'Zero-impact rate', roles: ['researcher', 'operator'], render: renderResearch },
    { id: 'projection', label: 'Gap projection', roles: ROLES, render: renderProjection },
  ];

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
  const label = (v) => (v == null ? '' : LABELS[v] || String(v).replace(/_/g, ' '));

  const SUPPRESSION = {
    empty: 'no evaluated pilots in this cell',
    min_organisations: 'fewer than the minimum number of organisations',
    dominance: 'one organisation holds more than the allowed share of pilots',
    p_percent: 'the p%-rule on spend fails',
    one_sided: 'too few organisations on one side (with and without impact)',
    complementary: 'suppressed so that another suppressed cell cannot be recovered by subtraction',
  };

  const state = { token: null, claims: null, view: null, rendered: new Map(), currency: '' };

  // ---------------------------------------------------------------- DOM helpers

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value' && 'value' in el && !(el instanceof SVGElement)) el.value = v;
      else if (k === 'checked' || k === 'disabled' || k === 'selected') el[k] = Boolean(v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  let uid = 0;
  const nextId = (prefix) => `${prefix}-${++uid}`;

  function field(labelText, control, help) {
    const id = control.id || (control.id = nextId('f'));
    const helpId = help ? `${id}-help` : null;
    if (helpId) control.setAttribute('aria-describedby', helpId);
    return h('div', { class: 'field' },
      h('label', { for: id }, labelText),
      control,
      help ? h('p', { class: 'help', id: helpId }, help) : null);
  }

  function select(attrs, options, selected) {
    const el = h('select', attrs);
    for (const o of options) {
      const [value, text] = Array.isArray(o) ? o : [o, label(o)];
      el.append(h('option', { value, selected: value === selected }, text));
    }
    if (selected != null) el.value = selected;
    return el;
  }

  /** Replaces an element's children, skipping null/false entries. */
  function fill(el, children) {
    el.replaceChildren();
    append(el, [children]);
    return el;
  }

  function alertBox() {
    return h('div', { class: 'alert', role: 'alert', hidden: true });
  }

  function showError(box, err) {
    let msg = err && err.detail ? err.detail : String(err && err.message ? err.message : err);
    if (err && err.status === 401) msg = `Your token was refused: ${msg}. Sign out and sign in with a valid token.`;
    box.replaceChildren(h('strong', null, 'Error: '), msg);
    box.hidden = false;
  }

  function clearError(box) {
    box.hidden = true;
    box.replaceChildren();
  }

  /** Returns a function that tells whether a request is still the latest of its kind. */
  function latest() {
    let n = 0;
    return () => {
      const mine = ++n;
      return () => mine === n;
    };
  }

  function setBusy(el, busy) {
    el.setAttribute('aria-busy', busy ? 'true' : 'false');
    el.classList.toggle('is-busy', busy);
  }

  // ----------------------------------------------------------------- formatting

  /** An API money object as its exact decimal string (digits grouped) and currency. */
  function fmtMoney(m) {
    if (!m) return '—';
    return `${groupDigits(m.amount)} ${m.currency}`;
  }

  /** Groups the integer digits of an exact decimal string; never goes through a float. */
  function groupDigits(str) {
    const m = /^(-?)(\d+)(\.\d+)?$/.exec(String(str));
    if (!m) return String(str);
    return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (m[3] || '');
  }

  /** A ratio given as an exact decimal string ("-0.9884") as a percentage with one decimal, rounded half away from zero exactly. */
  function pctFromDecimal(str) {
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
  function pct(x) {
    if (x == null || Number.isNaN(x)) return 'n/a';
    return `${(x * 100).toFixed(1)}%`;
  }

  function pctInterval(iv) {
    if (!iv) return 'n/a';
    return `${pct(iv.estimate)} (95% CI ${pct(iv.low)}–${pct(iv.high)})`;
  }

  function signed(x, digits) {
    const t = x.toFixed(digits);
    return x > 0 && Number(t) !== 0 ? `+${t}` : t;
  }

  const compactFmt = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
  const compact = (v) => compactFmt.format(v);
  const sgn = (v) => (v < 0 ? '-' : '');
  const bn = (v) => (Math.abs(v) >= 1000 ? `${sgn(v)}$${(Math.abs(v) / 1000).toFixed(Math.abs(v) >= 10000 ? 0 : 1)}T` : `${sgn(v)}$${Math.abs(v).toFixed(0)}B`);
  /** Billions of USD with one decimal (the projection works in floating point, unlike the ledger). */
  const bnExact = (v) => `${sgn(v) && Number(Math.abs(v).toFixed(1)) !== 0 ? '-' : ''}$${groupDigits(Math.abs(v).toFixed(1))}B`;

  // ------------------------------------------------------------------------ API

  class ApiError extends Error {
    constructor(status, problem) {
      super(problem.detail || problem.title || `HTTP ${status}`);
      this.status = status;
      this.detail = problem.detail || problem.title || `The server answered ${status}.`;
      this.code = problem.code;
      this.field = problem.field;
    }
  }

  async function request(path, { method = 'GET', body, accept = 'application/json' } = {}) {
    const headers = { Accept: accept, Authorization: `Bearer ${state.token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let resp;
    try {
      resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, { detail: `The server could not be reached (${e.message}).` });
    }
    if (!resp.ok) {
      let problem = {};
      try {
        problem = await resp.json();
      } catch (_) {
        problem = { detail: `The server answered ${resp.status} ${resp.statusText}.` };
      }
      throw new ApiError(resp.status, problem);
    }
    return resp;
  }

  async function api(path, opts) {
    return (await request(path, opts)).json();
  }

  /** Fetches a CSV (or JSON export) with the Authorization header and saves it through a Blob. */
  async function download(path, fallbackName, opts = {}) {
    const resp = await request(path, { accept: opts.accept || 'text/csv', ...opts });
    const blob = await resp.blob();
    const cd = resp.headers.get('Content-Disposition') || '';
    const m = /filename="?([^";]+)"?/.exec(cd);
    const a = h('a', { href: URL.createObjectURL(blob), download: m ? m[1] : fallbackName, class: 'visually-hidden' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 30000);
  }

  function downloadButton(text, run, box) {
    const btn = h('button', { type: 'button', class: 'btn btn-download' }, h('span', { class: 'icon-dl', 'aria-hidden': 'true' }), text);
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      clearError(box);
      try {
        await run();
      } catch (e) {
        showError(box, e);
      } finally {
        btn.disabled = false;
      }
    });
    return btn;
  }

  function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v != null && v !== '') u.set(k, v);
    const t = u.toString();
    return t ? `?${t}` : '';
  }

  // ----------------------------------------------------------------------- auth

  function decodeClaims(token) {
    const parts = String(token).split('.');
    if (parts.length !== 3) return null;
    try {
      const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
      const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
      const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch (_) {
      return null;
    }
  }

  function tokenProblem(claims) {
    if (!claims) return 'That is not a JSON Web Token (expected three dot-separated base64url parts).';
    if (!ROLES.includes(claims.role)) return `The token's role "${claims.role}" is not one this dashboard knows.`;
    if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) return 'The token has expired; ask for a new one.';
    return null;
  }

  function readFragmentToken() {
    const hash = location.hash || '';
    const m = /^#token=([^&]+)/.exec(hash);
    if (!m) return null;
    // Clear the fragment at once so the token does not linger in the address bar or history.
    history.replaceState(null, '', location.pathname + location.search);
    try {
      return decodeURIComponent(m[1]);
    } catch (_) {
      return m[1];
    }
  }

  /** viaLink: the token came from a #token= link or session storage (no form to return focus from). */
  function signIn(token, viaLink) {
    const claims = decodeClaims(token);
    const problem = tokenProblem(claims);
    if (problem) {
      sessionStorage.removeItem(TOKEN_KEY);
      showSignIn(problem);
      return;
    }
    state.token = token;
    state.claims = claims;
    sessionStorage.setItem(TOKEN_KEY, token);
    showWorkspace();
    // After signing in with the form, focus the selected view's tab rather than losing it.
    if (!viaLink) document.querySelector('#tabs [role=tab][aria-selected=true]').focus();
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.claims = null;
    state.view = null;
    state.rendered = new Map();
    state.currency = '';
    history.replaceState(null, '', location.pathname + location.search);
    document.getElementById('panels').replaceChildren();
    document.getElementById('tabs').replaceChildren();
    showSignIn(null, 'You are signed out.');
  }

  function showSignIn(error, info) {
    document.getElementById('workspace').hidden = true;
    document.getElementById('session').hidden = true;
    const section = document.getElementById('signin');
    section.hidden = false;
    const box = document.getElementById('signin-alert');
    if (error) showError(box, { detail: error });
    else clearError(box);
    const note = section.querySelector('.signin-note');
    if (note) note.remove();
    if (info) section.querySelector('form').before(h('p', { class: 'notice signin-note', role: 'status' }, info));
    const input = document.getElementById('token-input');
    input.value = '';
    if (error || info) input.focus();
  }

  // ------------------------------------------------------------------ workspace

  function showWorkspace() {
    const { role } = state.claims;
    document.getElementById('signin').hidden = true;
    document.getElementById('workspace').hidden = false;
    const session = document.getElementById('session');
    session.hidden = false;
    document.getElementById('session-role').textContent = label(role) === role ? role[0].toUpperCase() + role.slice(1) : label(role);
    const orgEl = document.getElementById('session-org');
    orgEl.textContent = state.claims.org ? `Organisation ${state.claims.org.slice(0, 8)}…` : 'All organisations (anonymised)';
    orgEl.title = state.claims.org || '';
    if (role === 'admin' && state.claims.org) {
      api(`/v1/orgs/${encodeURIComponent(state.claims.org)}`)
        .then((o) => { orgEl.textContent = o.name; })
        .catch(() => {});
    }

    const views = VIEWS.filter((v) => v.roles.includes(role));
    const tabs = document.getElementById('tabs');
    const panels = document.getElementById('panels');
    tabs.replaceChildren();
    panels.replaceChildren();
    state.rendered = new Map();
    for (const v of views) {
      const tab = h('button', {
        type: 'button', role: 'tab', id: `tab-${v.id}`, class: 'tab',
        'aria-controls': `panel-${v.id}`, 'aria-selected': 'false', tabindex: '-1', dataset: { view: v.id },
      }, v.label);
      tab.addEventListener('click', () => selectView(v.id, false));
      tab.addEventListener('keydown', onTabKey);
      tabs.append(tab);
      panels.append(h('section', { role: 'tabpanel', id: `panel-${v.id}`, class: 'panel', 'aria-labelledby': `tab-${v.id}`, hidden: true, dataset: { view: v.id } }));
    }
    const wanted = /^#view=([a-z]+)/.exec(location.hash || '');
    const first = wanted && views.some((v) => v.id === wanted[1]) ? wanted[1] : views[0].id;
    selectView(first, false);
  }

  function onTabKey(ev) {
    const tabs = [...document.querySelectorAll('#tabs [role=tab]')];
    const i = tabs.indexOf(ev.currentTarget);
    let j = null;
    if (ev.key === 'ArrowRight' || ev.key === 'ArrowDown') j = (i + 1) % tabs.length;
    else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowUp') j = (i - 1 + tabs.length) % tabs.length;
    else if (ev.key === 'Home') j = 0;
    else if (ev.key === 'End') j = tabs.length - 1;
    if (j == null) return;
    ev.preventDefault();
    selectView(tabs[j].dataset.view, true);
  }

  function selectView(id, focusTab) {
    state.view = id;
    for (const tab of document.querySelectorAll('#tabs [role=tab]')) {
      const on = tab.dataset.view === id;
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
      tab.tabIndex = on ? 0 : -1;
      if (on && focusTab) tab.focus();
    }
    for (const panel of document.querySelectorAll('#panels [role=tabpanel]')) {
      panel.hidden = panel.dataset.view !== id;
    }
    history.replaceState(null, '', `${location.pathname}${location.search}#view=${id}`);
    if (!state.rendered.has(id)) {
      const view = VIEWS.find((v) => v.id === id);
      const panel = document.getElementById(`panel-${id}`);
      state.rendered.set(id, true);
      view.render(panel);
    }
  }

  // --------------------------------------------------------------------- charts

  // Charts are drawn at the width of their container and redrawn when it
  // changes, so text stays legible from phone to laptop widths.
  const resizer = new ResizeObserver((entries) => {
    for (const e of entries) {
      const host = e.target;
      const w = Math.round(e.contentRect.width);
      if (host.chartSpec && w > 0 && Math.abs(w - (host.drawnWidth || 0)) > 4) drawChart(host);
    }
  });

  function drawChart(host) {
    const width = Math.max(260, Math.floor(host.clientWidth || 640));
    host.drawnWidth = width;
    host.replaceChildren(host.chartSpec.draw(width, host.hiddenGroups || new Set()));
  }

  /**
   * A chart figure: caption, the SVG (role img, with <title> and <desc>), a
   * legend and a data table for anyone who cannot see the chart.
   */
  function chartFigure(spec) {
    const host = h('div', { class: 'chart' });
    host.chartSpec = spec;
    host.hiddenGroups = new Set();
    const fig = h('figure', { class: 'chart-figure', dataset: { chart: spec.key || '' } },
      h('figcaption', { class: 'chart-title' }, spec.title),
      spec.subtitle ? h('p', { class: 'chart-sub' }, spec.subtitle) : null,
      host,
      spec.legend ? legend(spec.legend, host) : null,
      spec.controls ? spec.controls(() => drawChart(host)) : null,
      spec.table ? h('details', { class: 'chart-data' }, h('summary', null, 'Show the data as a table'), spec.table) : null);
    requestAnimationFrame(() => {
      drawChart(host);
      resizer.observe(host);
    });
    return fig;
  }

  /** The legend; items with a `group` become checkboxes that show or hide that group's series. */
  function legend(items, host) {
    return h('ul', { class: 'legend' }, items.map((it) => {
      const sw = h('span', { class: `swatch ${it.cls}${it.dashed ? ' dashed' : ''}${it.band ? ' band' : ''}`, 'aria-hidden': 'true' });
      if (!it.group) return h('li', null, sw, it.name);
      const id = nextId('show');
      const box = h('input', { type: 'checkbox', id, checked: true });
      box.addEventListener('change', () => {
        if (box.checked) host.hiddenGroups.delete(it.group);
        else host.hiddenGroups.add(it.group);
        drawChart(host);
      });
      return h('li', { class: 'toggle' }, box, h('label', { for: id }, sw, it.name));
    }));
  }

  function svgRoot(width, height, title, desc) {
    const tid = nextId('t');
    const did = nextId('d');
    return s('svg', {
      xmlns: SVGNS, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
      'aria-labelledby': `${tid} ${did}`, class: 'chart-svg', focusable: 'false',
    }, s('title', { id: tid }, title), s('desc', { id: did }, desc));
  }

  function niceTicks(min, max, count) {
    if (min === max) {
      const d = Math.abs(min) || 1;
      min -= d / 2;
      max += d / 2;
    }
    const raw = (max - min) / Math.max(1, count);
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) || 10 * mag;
    const lo = Math.floor(min / step) * step;
    const hi = Math.ceil(max / step) * step;
    const ticks = [];
    for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Math.abs(v) < step / 1e6 ? 0 : v);
    return { lo, hi, ticks };
  }

  function yAxis(g, ticks, y, left, right, fmt) {
    for (const t of ticks) {
      g.append(s('line', { class: t === 0 ? 'axis-zero' : 'grid', x1: left, x2: right, y1: y(t), y2: y(t) }));
      g.append(s('text', { class: 'tick', x: left - 6, y: y(t), 'text-anchor': 'end', 'dominant-baseline': 'middle' }, fmt(t)));
    }
  }

  /** Category labels, thinned so they never overlap, kept inside the SVG's width. */
  function xLabels(g, labels, x, yPos, plotWidth, width) {
    const longest = Math.max(...labels.map((l) => String(l).length), 1);
    const every = Math.max(1, Math.ceil((labels.length * (longest * 6.6 + 10)) / plotWidth));
    labels.forEach((l, i) => {
      if (i % every !== 0 && i !== labels.length - 1) return;
      if (i !== labels.length - 1 && labels.length - 1 - i < every && i % every === 0 && i !== 0) return;
      const half = (String(l).length * 6.6) / 2;
      const anchor = x(i) + half > width - 2 ? 'end' : x(i) - half < 2 ? 'start' : 'middle';
      const xPos = anchor === 'end' ? width - 2 : anchor === 'start' ? 2 : x(i);
      g.append(s('text', { class: 'tick', x: xPos, y: yPos, 'text-anchor': anchor }, l));
    });
  }

  /**
   * Line chart over categorical x labels. series: {name, cls, values[], band?
   * [[lo, hi] | null], dashed?}. Bands are clipped to a range around the
   * point estimates so one extreme band cannot flatten every line.
   */
  function lineChart(spec) {
    return {
      ...spec,
      draw(width, hidden) {
        const shown = spec.series.filter((se) => !hidden.has(se.group));
        const height = spec.height || (width < 480 ? 240 : 300);
        const m = { top: 16, right: 16, bottom: 34, left: spec.leftMargin || 58 };
        const pw = width - m.left - m.right;
        const ph = height - m.top - m.bottom;
        const n = spec.labels.length;
        const x = (i) => m.left + (n <= 1 ? pw / 2 : (i * pw) / (n - 1));
        const vals = shown.flatMap((se) => se.values.filter((v) => v != null && Number.isFinite(v)));
        const yMin = typeof spec.yMin === 'function' ? spec.yMin() : spec.yMin;
        let lo = yMin != null ? yMin : Math.min(0, ...vals);
        let hi = spec.yMax != null ? spec.yMax : Math.max(...vals, 0);
        let clipped = false;
        if (yMin == null || spec.yMax == null) {
          const span = Math.max(hi - lo, 1e-9);
          const bandVals = shown.flatMap((se) => (se.band || []).filter(Boolean).flat());
          for (const b of bandVals) {
            if (!Number.isFinite(b)) continue;
            const c = Math.min(Math.max(b, lo - span * 0.5), hi + span * 0.5);
            if (c !== b) clipped = true;
            if (yMin == null) lo = Math.min(lo, c);
            if (spec.yMax == null) hi = Math.max(hi, c);
          }
        }
        const nt = niceTicks(lo, hi, height < 260 ? 4 : 5);
        if (yMin == null) lo = nt.lo;
        if (spec.yMax == null) hi = nt.hi;
        const y = (v) => m.top + ph - ((v - lo) / (hi - lo || 1)) * ph;
        const desc = spec.desc + (clipped ? ' Some interval bands extend beyond the chart area and are clipped.' : '');
        const svg = svgRoot(width, height, spec.title, desc);
        const clipId = nextId('clip');
        svg.append(s('defs', null, s('clipPath', { id: clipId }, s('rect', { x: m.left, y: m.top, width: pw, height: ph }))));
        const g = s('g');
        svg.append(g);
        yAxis(g, nt.ticks.filter((t) => t >= lo - 1e-9 && t <= hi + 1e-9), y, m.left, m.left + pw, spec.yFormat);
        xLabels(g, spec.labels, x, height - 10, pw, width);
        const plot = s('g', { 'clip-path': `url(#${clipId})` });
        g.append(plot);
        for (const [k, mk] of (spec.markers || []).entries()) {
          if (mk.index == null || mk.index < 0) continue;
          plot.append(s('line', { class: `marker ${mk.cls || ''}`, x1: x(mk.index), x2: x(mk.index), y1: m.top, y2: m.top + ph }));
          // Place the label on whichever side of the line has room; shorten it if neither has.
          const xm = x(mk.index);
          const fits = (t) => t.length * 6.8 < Math.max(width - 4 - (xm + 4), xm - 4 - 2);
          const textOf = fits(mk.label) ? mk.label : mk.short || mk.label;
          const est = textOf.length * 6.8;
          const anchor = xm + 4 + est <= width - 2 ? 'start' : 'end';
          g.append(s('text', { class: 'marker-label', x: anchor === 'end' ? Math.max(xm - 4, est + 2) : xm + 4, y: m.top + 12 + k * 15, 'text-anchor': anchor }, textOf));
        }
        for (const se of shown) {
          if (!se.band) continue;
          for (const seg of segments(se.band.map((b) => (b && Number.isFinite(b[0]) && Number.isFinite(b[1]) ? b : null)))) {
            const up = seg.map((i) => `${x(i)},${y(Math.max(...se.band[i]))}`);
            const down = seg.slice().reverse().map((i) => `${x(i)},${y(Math.min(...se.band[i]))}`);
            if (seg.length === 1) {
              const i = seg[0];
              plot.append(s('rect', { class: `band ${se.cls}`, x: x(i) - 4, width: 8, y: y(Math.max(...se.band[i])), height: Math.abs(y(se.band[i][0]) - y(se.band[i][1])) }));
            } else {
              plot.append(s('polygon', { class: `band ${se.cls}`, points: up.concat(down).join(' ') }));
            }
          }
        }
        for (const se of shown) {
          for (const seg of segments(se.values)) {
            const d = seg.map((i, k) => `${k ? 'L' : 'M'}${x(i).toFixed(1)},${y(se.values[i]).toFixed(1)}`).join('');
            plot.append(s('path', { class: `line ${se.cls}${se.dashed ? ' dashed' : ''}`, d }));
          }
          if (se.points !== false) {
            se.values.forEach((v, i) => {
              if (v == null || !Number.isFinite(v)) return;
              const band = se.band && se.band[i] ? ` (${spec.yFormatExact(Math.min(...se.band[i]))} to ${spec.yFormatExact(Math.max(...se.band[i]))})` : '';
              plot.append(s('circle', { class: `point ${se.cls}`, cx: x(i), cy: y(v), r: se.dashed ? 2.5 : 3.5 },
                s('title', null, `${se.name}, ${spec.labels[i]}: ${spec.yFormatExact(v)}${band}`)));
            });
          }
        }
        return svg;
      },
    };
  }

  function segments(values) {
    const out = [];
    let cur = [];
    values.forEach((v, i) => {
      if (v == null || (typeof v === 'number' && !Number.isFinite(v))) {
        if (cur.length) out.push(cur);
        cur = [];
      } else cur.push(i);
    });
    if (cur.length) out.push(cur);
    return out;
  }

  /** Vertical grouped bars: one group per label, one bar per series. */
  function barChart(spec) {
    return {
      ...spec,
      draw(width) {
        const height = width < 480 ? 240 : 300;
        const m = { top: 16, right: 12, bottom: 34, left: 62 };
        const pw = width - m.left - m.right;
        const ph = height - m.top - m.bottom;
        const n = spec.labels.length;
        const vals = spec.series.flatMap((se) => se.values.filter(Number.isFinite));
        const nt = niceTicks(Math.min(0, ...vals), Math.max(0, ...vals), 5);
        const y = (v) => m.top + ph - ((v - nt.lo) / (nt.hi - nt.lo || 1)) * ph;
        const slot = pw / Math.max(1, n);
        const x = (i) => m.left + slot * (i + 0.5);
        const svg = svgRoot(width, height, spec.title, spec.desc);
        const g = s('g');
        svg.append(g);
        yAxis(g, nt.ticks, y, m.left, m.left + pw, spec.yFormat);
        xLabels(g, spec.labels, x, height - 10, pw, width);
        const inner = slot * 0.78;
        const bw = inner / spec.series.length;
        spec.series.forEach((se, k) => {
          se.values.forEach((v, i) => {
            if (!Number.isFinite(v)) return;
            const x0 = x(i) - inner / 2 + k * bw;
            const top = Math.min(y(v), y(0));
            const hgt = Math.max(v === 0 ? 0 : 1, Math.abs(y(v) - y(0)));
            g.append(s('rect', { class: `bar ${se.cls}`, x: x0.toFixed(1), y: top.toFixed(1), width: Math.max(1, bw - 1).toFixed(1), height: hgt.toFixed(1) },
              s('title', null, `${se.name}, ${spec.labels[i]}: ${se.exact[i]}`)));
          });
        });
        return svg;
      },
    };
  }

  /** Horizontal bars with the label above each bar (legible at phone widths). */
  function hbarChart(spec) {
    return {
      ...spec,
      draw(width) {
        const row = 40;
        const m = { top: 8, right: 20, bottom: 28, left: 12 };
        const n = spec.labels.length;
        const height = m.top + m.bottom + row * Math.max(1, n);
        const pw = width - m.left - m.right;
        const vals = spec.values.filter(Number.isFinite);
        const nt = niceTicks(Math.min(0, ...vals), Math.max(0, ...vals), width < 480 ? 4 : 6);
        const x = (v) => m.left + ((v - nt.lo) / (nt.hi - nt.lo || 1)) * pw;
        const svg = svgRoot(width, height, spec.title, spec.desc);
        const g = s('g');
        svg.append(g);
        for (const t of nt.ticks) {
          g.append(s('line', { class: t === 0 ? 'axis-zero' : 'grid', x1: x(t), x2: x(t), y1: m.top, y2: height - m.bottom }));
          const tl = spec.xFormat(t);
          const half = (tl.length * 6.6) / 2;
          const anchor = x(t) + half > width - 2 ? 'end' : x(t) - half < 2 ? 'start' : 'middle';
          g.append(s('text', { class: 'tick', x: anchor === 'end' ? width - 2 : anchor === 'start' ? 2 : x(t), y: height - 8, 'text-anchor': anchor }, tl));
        }
        spec.labels.forEach((l, i) => {
          const top = m.top + i * row;
          const v = spec.values[i];
          g.append(s('text', { class: 'bar-label', x: m.left, y: top + 12 }, l));
          g.append(s('text', { class: 'bar-value', x: m.left + pw, y: top + 12, 'text-anchor': 'end' }, spec.exact[i]));
          if (!Number.isFinite(v)) return;
          const x0 = Math.min(x(0), x(v));
          g.append(s('rect', { class: `bar ${v < 0 ? spec.negCls : spec.cls}`, x: x0.toFixed(1), y: top + 18, width: Math.max(1, Math.abs(x(v) - x(0))).toFixed(1), height: 14 },
            s('title', null, `${l}: ${spec.exact[i]}`)));
        });
        return svg;
      },
    };
  }

  /**
   * Explicit table roles, so a table that small screens restyle as cards
   * (.stack, display: block) keeps its semantics for assistive technology.
   */
  function keepTableRoles(table) {
    table.setAttribute('role', 'table');
    for (const g of table.querySelectorAll('thead, tbody')) g.setAttribute('role', 'rowgroup');
    for (const tr of table.querySelectorAll('tr')) tr.setAttribute('role', 'row');
    for (const th of table.querySelectorAll('th')) th.setAttribute('role', th.getAttribute('scope') === 'row' ? 'rowheader' : 'columnheader');
    for (const td of table.querySelectorAll('td')) td.setAttribute('role', 'cell');
    return table;
  }

  function dataTable(caption, head, rows) {
    return h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
      h('caption', null, caption),
      h('thead', null, h('tr', null, head.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : null }, c)))),
      h('tbody', null, rows.map((r) => h('tr', null, r.map((c, i) => (i ? h('td', { class: 'num' }, c) : h('th', { scope: 'row' }, c))))))));
  }

  // -------------------------------------------------------------------- finance

  function renderFinance(panel) {
    const box = alertBox();
    const from = h('input', { type: 'date', id: 'fin-from', name: 'from' });
    const to = h('input', { type: 'date', id: 'fin-to', name: 'to' });
    const currency = select({ id: 'fin-currency', name: 'currency' }, [['', 'Reporting currency'], ...CURRENCIES.map((c) => [c, c])], '');
    const form = h('form', { class: 'filters', 'aria-label': 'Period and currency' },
      field('From (period end on or after)', from),
      field('To (period end on or before)', to),
      field('Currency', currency),
      h('div', { class: 'filter-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'),
        h('button', { type: 'button', class: 'btn btn-quiet', id: 'fin-reset' }, 'All time')));
    const status = h('p', { class: 'status', role: 'status', id: 'fin-status' }, 'Loading…');
    const results = h('div', { class: 'results', 'aria-live': 'polite' });
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
    async function load() {
      const current = begin();
      clearError(box);
      setBusy(results, true);
      status.textContent = 'Loading…';
      state.currency = currency.value;
      try {
        const [byQuarter, byFunction] = await Promise.all([
          api(`/v1/summary${params('quarter')}`),
          api(`/v1/summary${params('function')}`),
        ]);
        if (!current()) return;
        const reporting = currency.querySelector('option[value=""]');
        if (!currency.value) reporting.textContent = `Reporting currency (${byQuarter.currency})`;
        fill(results, financeResults(byQuarter, byFunction));
        const period = byQuarter.from || byQuarter.to ? `${byQuarter.from || 'the beginning'} to ${byQuarter.to || 'today'}` : 'all time';
        status.textContent = `Showing ${period}, in ${byQuarter.currency}.`;
      } catch (e) {
        if (!current()) return;
        showError(box, e);
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

  /** Money for a headline figure: the exact amount, then the currency in smaller type. */
  function moneyFigure(m) {
    if (!m) return '—';
    return [groupDigits(m.amount), ' ', h('span', { class: 'cur' }, m.currency)];
  }

  function figure(key, name, value, sub) {
    return h('div', { class: 'card', dataset: { figure: key } },
      h('dt', null, name), h('dd', { class: 'figure-value' }, value), sub ? h('dd', { class: 'figure-sub' }, sub) : null);
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
      legend: [{ name: 'Spend', cls: 's1' }, { name: 'Measured impact', cls: 's2' }],
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
    return [cards, h('div', { class: 'chart-grid' }, quarterChart, functionChart), fxDetails, meta];
  }

  function maxBy(arr, f) {
    return arr.reduce((a, b) => (f(b) > f(a) ? b : a));
  }

  // --------------------------------------------------------------------- pilots

  function renderPilots(panel) {
    const box = alertBox();
    const st = { limit: 25, stage: '', cursors: [null], page: 0, items: [], next: null, sort: null };
    const stage = select({ id: 'pilots-stage' }, [['', 'All stages'], ...STAGES.map((x) => [x, label(x)])], '');
    const limit = select({ id: 'pilots-limit' }, [['10', '10'], ['25', '25'], ['50', '50'], ['100', '100']], '25');
    const filters = h('form', { class: 'filters', 'aria-label': 'Pilot filters' }, field('Stage', stage), field('Rows per page', limit));
    const status = h('p', { class: 'status', role: 'status', id: 'pilots-status' }, 'Loading…');
    const tableHost = h('div', { class: 'table-wrap', id: 'pilots-table-wrap' });
    const prev = h('button', { type: 'button', class: 'btn', id: 'pilots-prev', disabled: true }, '← Previous page');
    const next = h('button', { type: 'button', class: 'btn', id: 'pilots-next', disabled: true }, 'Next page →');
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
          h('td', { class: 'col-business_function' }, label(p.business_function)),
          h('td', { class: 'col-stage' }, h('span', { class: `stage stage-${p.stage}` }, label(p.stage))),
          h('td', { class: 'col-sourcing' }, label(p.sourcing)),
          h('td', { class: 'col-ai_kind' }, label(p.ai_kind)),
          h('td', { class: 'col-started_on' }, p.started_on || '—'),
          h('td', { class: 'col-evaluated_on' }, p.evaluated_on || '—'));
      });
      tableHost.replaceChildren(h('table', { class: 'data pilots', id: 'pilots-table' },
        h('caption', null, `Pilots, page ${st.page + 1}. Sort by a column with its header button (within this page).`),
        h('thead', null, head), h('tbody', null, rows)));
      prev.disabled = st.page === 0;
      next.disabled = !st.next;
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
      if (st.page === 0) return;
      st.page -= 1;
      load();
    });
    next.addEventListener('click', () => {
      if (!st.next) return;
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
      legend: [{ name: 'Cumulative spend', cls: 's1' }, { name: 'Cumulative measured impact', cls: 's2' }],
      table: dataTable(`Monthly figures, ${roi.currency}`, ['Month', 'Spend', 'Measured impact', 'Cumulative spend', 'Cumulative measured impact'],
        mo.map((m) => [m.month, fmtMoney(m.spend), fmtMoney(m.measured_impact), fmtMoney(m.cumulative_spend), fmtMoney(m.cumulative_measured_impact)])),
    }));
    const facts = h('p', { class: 'meta' }, `${label(p.business_function)} · ${label(p.sourcing)} · ${label(p.ai_kind)} · stage ${label(p.stage)}${p.owner_team ? ` · ${p.owner_team}` : ''}`);
    const dl = h('div', { class: 'downloads' },
      downloadButton('Monthly ROI (CSV)', () => download(`/v1/pilots/${encodeURIComponent(roi.pilot_id)}/roi${qs({ currency: cur, format: 'csv' })}`, 'pilot-roi.csv'), box));
    return [facts, cards, chart, dl];
  }

  // ------------------------------------------------------------------- research

  function renderResearch(panel) {
    const box = alertBox();
    const from = h('input', { type: 'text', id: 'res-from', inputmode: 'text', pattern: '\\d{4}Q[1-4]|\\d{4}-\\d{2}-\\d{2}', placeholder: 'e.g. 2024Q1', autocomplete: 'off' });
    const to = h('input', { type: 'text', id: 'res-to', inputmode: 'text', pattern: '\\d{4}Q[1-4]|\\d{4}-\\d{2}-\\d{2}', placeholder: 'e.g. 2026Q4', autocomplete: 'off' });
    const minImpact = select({ id: 'res-min-impact' }, [['0', '0 USD'], ['1000', '1,000 USD'], ['10000', '10,000 USD'], ['100000', '100,000 USD']], '0');
    const windowMonths = select({ id: 'res-window' }, [['3', '3 months'], ['6', '6 months'], ['12', '12 months']], '6');
    const by = select({ id: 'res-by' }, DIMENSIONS.map((d) => [d, label(d)]), 'function');
    const form = h('form', { class: 'filters', 'aria-label': 'Aggregate parameters' },
      field('From quarter', from, 'Blank: three years back.'),
      field('To quarter', to, 'Blank: this quarter.'),
      field('Zero impact at or below', minImpact),
      field('Impact window after evaluation', windowMonths),
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
    downloads.append(
      downloadButton('Export all breakdowns (CSV)', () => download(`/v1/aggregates/export${qs({ ...params(), format: 'csv' })}`, 'pilotledger-aggregates.csv'), box),
      downloadButton('Export all breakdowns (JSON)', () => download(`/v1/aggregates/export${qs({ ...params(), format: 'json' })}`, 'pilotledger-aggregates.json', { accept: 'application/json' }), box),
      downloadButton('This breakdown (CSV)', () => download(`/v1/aggregates/zero-impact-rate${qs({ ...params(), by: by.value, format: 'csv' })}`, 'zero-impact-rate.csv'), box));

    let quarterChoice = null;
    const begin = latest();
    async function load() {
      const current = begin();
      clearError(box);
      setBusy(overview, true);
      setBusy(breakdown, true);
      status.textContent = 'Loading…';
      try {
        const r = await api(`/v1/aggregates/zero-impact-rate${qs({ ...params(), by: by.value })}`);
        if (!current()) return;
        fill(overview, researchOverview(r));
        const bd = researchBreakdown(r, quarterChoice, (q) => { quarterChoice = q; });
        fill(quarterSlot, bd.controls);
        fill(breakdown, bd.content);
        const p = r.parameters;
        status.textContent = `Quarters ${p.from} to ${p.to}; ${r.definition_version}, ${r.disclosure_policy_version}.`;
      } catch (e) {
        if (!current()) return;
        showError(box, e);
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
    const projectionBand = all.map(() => null).concat(proj.map((p) => [p.low, p.high]));
    if (proj.length && all.length) {
      // Join the projection to the last fitted point so the dashed line is continuous.
      const last = all.length - 1;
      if (fitted[last] != null) projection[last] = fitted[last];
    }
    const published = all.filter((c) => !c.suppressed);
    const latest = published[published.length - 1];
    const series = [
      { name: 'Organisation zero-return share', group: 'org', cls: 's1', values: rateSeries('org_zero_return_share'), band: rateBand('org_zero_return_share') },
      { name: 'Pilot rate', group: 'pilot', cls: 's2', values: rateSeries('pilot_rate'), band: rateBand('pilot_rate') },
      { name: 'Organisation-average rate', group: 'avg', cls: 's3', values: rateSeries('org_average_rate'), band: rateBand('org_average_rate') },
      { name: 'Organisation trend (fitted)', group: 'trend', cls: 's5', values: fitted, dashed: true, points: false },
      { name: 'Projection of the organisation trend', group: 'trend', cls: 's5', values: projection, band: projectionBand, dashed: true },
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
        { name: 'Organisation zero-return share (MIT-comparable)', group: 'org', cls: 's1', band: true },
        { name: 'Pilot rate', group: 'pilot', cls: 's2', band: true },
        { name: 'Organisation-average rate', group: 'avg', cls: 's3', band: true },
        { name: 'Organisation trend (logistic fit) and its projection with 95% band', group: 'trend', cls: 's5', dashed: true, band: true },
      ],
      table: dataTable('Zero-impact rates by quarter (95% intervals)', ['Quarter', 'Organisations', 'Pilots', 'Organisation zero-return share', 'Pilot rate', 'Organisation-average rate'],
        all.map((c) => (c.suppressed
          ? [c.quarter, '—', '—', `suppressed (${c.suppression_reason})`, '—', '—']
          : [c.quarter, String(c.organisations), String(c.pilots), pctInterval(c.org_zero_return_share), pctInterval(c.pilot_rate), pctInterval(c.org_average_rate)]))
          .concat(proj.map((p) => [`${p.quarter} (projected)`, '—', '—', `${pct(p.estimate)} (95% CI ${pct(p.low)}–${pct(p.high)})`, '—', '—']))),
    }));

    const trendItem = (name, key, fit) => {
      if (!fit || !fit.available) {
        return h('div', { class: 'card', dataset: { trend: key } }, h('dt', null, name), h('dd', { class: 'figure-value small' }, 'Not available'),
          h('dd', { class: 'figure-sub' }, fit && fit.reason ? fit.reason : 'Too few published quarters.'));
      }
      const pp = fit.pp_change_per_year;
      return h('div', { class: 'card', dataset: { trend: key } },
        h('dt', null, name),
        h('dd', { class: 'figure-value' }, `${signed(pp.estimate, 1)} pp per year`),
        h('dd', { class: 'figure-sub' }, `95% CI ${signed(pp.low, 1)} to ${signed(pp.high, 1)} pp at ${fit.at_quarter}; slope ${signed(fit.slope.estimate, 3)} log-odds per year (95% CI ${signed(fit.slope.low, 3)} to ${signed(fit.slope.high, 3)}); n = ${fit.n}`));
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
        h('dd', { class: 'figure-sub' }, `95% band ${pct(lastProj.low)}–${pct(lastProj.high)}`)) : null);
    const dq = r.data_quality && r.data_quality.pilots_excluded_missing_fx_rate
      ? h('p', { class: 'meta' }, `${r.data_quality.pilots_excluded_missing_fx_rate} pilots were left out because an FX rate is missing.`) : null;
    const p = r.parameters;
    const meta = h('p', { class: 'meta' }, `Zero impact: measured net impact ≤ ${p.min_impact} USD within ${p.window_months} months of evaluation. Disclosure: at least ${p.min_organisations} organisations per cell, no organisation above ${pct(p.max_org_share)} of pilots, p%-rule p = ${p.p_percent}, at least ${p.min_each_side} organisations on each side. Bootstrap ${p.bootstrap_reps} replicates, seed ${p.seed}.`);
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
    const host = h('div', { class: 'table-wrap', id: 'res-breakdown-table' });
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
              h('td', { colspan: 5, class: 'suppressed-cell', 'data-label': 'Status', title: SUPPRESSION[c.suppression_reason] || '' }, `suppressed (${c.suppression_reason})`));
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
      h('dl', { class: 'reasons' }, Object.entries(SUPPRESSION).flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
    return { controls: field('Quarter', qSel), content: [summary, host, reasons] };
  }

  // ----------------------------------------------------------------- projection

  const PROJ_FIELDS = [
    { key: 'start_year', label: 'Start year', type: 'int' },
    { key: 'horizon_years', label: 'Horizon (years)', type: 'int', min: 1, max: 30 },
    { key: 'spend_usd_bn', label: 'AI infrastructure spend, $bn by year', type: 'series' },
    { key: 'spend_growth', label: 'Spend growth per year (0.1 = 10%)', type: 'num' },
    { key: 'spend_growth_path', label: 'Spend growth overrides by year', type: 'series', optional: true },
    { key: 'cost_multiplier', label: 'Cost multiplier', type: 'num' },
    { key: 'gross_margin', label: 'End-user gross margin (0–1)', type: 'num' },
    { key: 'revenue_usd_bn', label: 'AI revenue, $bn by year', type: 'series' },
    { key: 'revenue_growth', label: 'Revenue growth at the reference success rate', type: 'num' },
    { key: 'reference_success_rate', label: 'Reference success rate (0–1)', type: 'num' },
    { key: 'elasticity', label: 'Elasticity of revenue growth to success', type: 'num' },
  ];

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

  function renderProjection(panel) {
    const box = alertBox();
    const status = h('p', { class: 'status', role: 'status', id: 'proj-status' }, 'Loading the defaults…');
    const form = h('form', { class: 'proj-form', id: 'proj-form', 'aria-label': 'Projection parameters' });
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
        grid.append(field(f.label, input, h('span', null, h('span', { class: 'default-badge', dataset: { defaultFor: f.key } }, 'Default'), ` Default ${value || 'none'}. Source: ${sources[f.key] || '—'}`)));
      }
      const sr = defaults.success_rate || { source: 'fixed', value: 0.05 };
      const fixed = h('input', { type: 'radio', name: 'sr-source', id: 'proj-sr-fixed', value: 'fixed', checked: sr.source !== 'measured' });
      const measured = h('input', { type: 'radio', name: 'sr-source', id: 'proj-sr-measured', value: 'measured', checked: sr.source === 'measured' });
      const srValue = h('input', { type: 'number', id: 'proj-sr-value', step: 'any', min: '0', max: '1', value: String(sr.value != null ? sr.value : 0.05), inputmode: 'decimal' });
      const srLow = h('input', { type: 'number', id: 'proj-sr-low', step: 'any', min: '0', max: '1', value: sr.low != null ? String(sr.low) : '', inputmode: 'decimal' });
      const srHigh = h('input', { type: 'number', id: 'proj-sr-high', step: 'any', min: '0', max: '1', value: sr.high != null ? String(sr.high) : '', inputmode: 'decimal' });
      Object.assign(inputs, { fixed, measured, srValue, srLow, srHigh });
      const fixedFields = h('div', { class: 'sr-fixed' },
        field('Success rate (0–1)', srValue, `Default 0.05. Source: ${sources['success_rate.value'] || sources.success_rate || '—'}`),
        field('95% low (optional)', srLow), field('95% high (optional)', srHigh));
      const syncSource = () => {
        const on = fixed.checked;
        for (const el of [srValue, srLow, srHigh]) el.disabled = !on;
        fixedFields.classList.toggle('is-disabled', !on);
      };
      fixed.addEventListener('change', syncSource);
      measured.addEventListener('change', syncSource);
      const srSet = h('fieldset', { class: 'sr' },
        h('legend', null, 'Pilot success rate'),
        h('p', { class: 'help', id: 'proj-sr-help' }, `Default: ${sources['success_rate.source'] || sources.success_rate || 'fixed 0.05'}`),
        h('div', { class: 'radios', role: 'radiogroup', 'aria-describedby': 'proj-sr-help' },
          h('div', { class: 'radio' }, fixed, h('label', { for: 'proj-sr-fixed' }, 'Fixed value')),
          h('div', { class: 'radio' }, measured, h('label', { for: 'proj-sr-measured' }, 'Measured by pilotledger (1 − organisation zero-return share and its trend)'))),
        fixedFields);
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
        field('Draws', mcDraws, `Default 1000. ${sources['monte_carlo.draws'] || ''}`), field('Seed', mcSeed, `Default 42. ${sources['monte_carlo.seed'] || ''}`));
      const actions = h('div', { class: 'filter-actions' },
        h('button', { type: 'submit', class: 'btn btn-primary', id: 'proj-run' }, 'Project'),
        h('button', { type: 'button', class: 'btn btn-quiet', id: 'proj-reset' }, 'Reset to defaults'));
      form.append(grid, srSet, mcSet, actions);
      form.querySelector('#proj-reset').addEventListener('click', () => {
        buildForm({ parameters: defaults, defaults_sources: sources });
        run();
      });
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
          if (!Number.isFinite(v)) throw new ApiError(0, { detail: `${f.label} must be a number.` });
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
      const current = begin();
      clearError(box);
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
        showError(box, e);
        status.textContent = 'The projection failed; see the message above.';
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
    const table = h('div', { class: 'table-wrap' }, keepTableRoles(h('table', { class: 'data stack', id: 'proj-scenarios' },
      h('caption', null, 'When each scenario closes the gap'),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Scenario'), h('th', { scope: 'col' }, 'Gap closes in'),
        h('th', { scope: 'col', class: 'num' }, `Gap ${years[0] || ''}`), h('th', { scope: 'col', class: 'num' }, `Gap ${years[years.length - 1] || ''}`),
        h('th', { scope: 'col', class: 'num' }, 'Cumulative gap'))),
      h('tbody', null, sc.map((s) => {
        const first = s.years[0];
        const last = s.years[s.years.length - 1];
        return h('tr', { dataset: { scenario: s.name } },
          h('th', { scope: 'row' }, h('span', { class: `swatch ${SCENARIO_CLS[s.name] || 's4'}`, 'aria-hidden': 'true' }), label(s.name),
            h('span', { class: 'scenario-desc' }, s.description)),
          h('td', { class: 'closes', 'data-label': 'Gap closes in', dataset: { closes: s.gap_closes_in == null ? '' : String(s.gap_closes_in) } }, closes(s)),
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
        name: label(s.name), cls: SCENARIO_CLS[s.name] || 's4',
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
      legend: sc.map((s) => ({ name: label(s.name), cls: SCENARIO_CLS[s.name] || 's4', band: hasBands })),
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
    return [heading, table, chart, h('details', { class: 'fx' }, h('summary', null, `${label(status && status.name)} year by year`), detail), dl];
  }

  // ----------------------------------------------------------------------- boot

  function boot() {
    document.getElementById('signin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const value = document.getElementById('token-input').value.trim().replace(/^Bearer\s+/i, '');
      if (!value) {
        showSignIn('Paste a token first.');
        return;
      }
      signIn(value, false);
    });
    document.getElementById('sign-out').addEventListener('click', signOut);
    // A sign-in link opened in a tab that already shows the dashboard only changes the fragment.
    window.addEventListener('hashchange', () => {
      const token = readFragmentToken();
      if (token) signIn(token, true);
    });
    const fromLink = readFragmentToken();
    const stored = sessionStorage.getItem(TOKEN_KEY);
    if (fromLink) signIn(fromLink, true);
    else if (stored) signIn(stored, true);
    else showSignIn(null);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
