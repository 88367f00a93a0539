// The workspace after sign-in: which views each role sees, the tab strip
// (with arrow-key navigation) and rendering a view the first time it is shown.
import { api } from './api.js';
import { h } from './dom.js';
import { label } from './format.js';
import { state } from './state.js';
import { renderFinance } from './view-finance.js';
import { renderPilots } from './view-pilots.js';
import { renderProjection } from './view-projection.js';
import { renderResearch } from './view-research.js';

export const ROLES = ['member', 'finance', 'admin', 'researcher', 'operator'];

// The views and who sees them. Members get the pilot table and drill-down
// (GET /v1/summary is finance/admin only); researchers and the operator get
// the anonymised aggregates; everyone gets the projection.
const VIEWS = [
  { id: 'finance', label: 'Finance', roles: ['finance', 'admin'], render: renderFinance },
  { id: 'pilots', label: 'Pilots', roles: ['member', 'finance', 'admin'], render: renderPilots },
  { id: 'research', label: 'Zero-impact rate', roles: ['researcher', 'operator'], render: renderResearch },
  { id: 'projection', label: 'Gap projection', roles: ROLES, render: renderProjection },
];

export function showWorkspace() {
  const { role } = state.claims;
  document.getElementById('signin').hidden = true;
  document.getElementById('workspace').hidden = false;
  const session = document.getElementById('session');
  session.hidden = false;
  document.getElementById('session-role').textContent = label(role) === role ? role[0].toUpperCase() + role.slice(1) : label(role);
  const orgEl = document.getElementById('session-org');
  orgEl.textContent = state.claims.org ? `Organisation ${state.claims.org.slice(0, 8)}…` : 'All organisations (anonymised)';
  orgEl.title = state.claims.org || '';
  if (state.claims.org) {
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
  // A title per view (WCAG 2.4.2), so tabs, history and screen readers tell them apart.
  document.title = `${VIEWS.find((v) => v.id === id).label} · pilotledger`;
  if (!state.rendered.has(id)) {
    const view = VIEWS.find((v) => v.id === id);
    const panel = document.getElementById(`panel-${id}`);
    state.rendered.set(id, true);
    view.render(panel);
  }
}
