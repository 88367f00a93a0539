// Numbers as text: data tables (also the accessible twin of every chart) and
// the headline figure cards.
import { h } from './dom.js';
import { groupDigits } from './format.js';

/**
 * Explicit table roles, so a table that small screens restyle as cards
 * (.stack, display: block) keeps its semantics for assistive technology.
 */
export function keepTableRoles(table) {
  table.setAttribute('role', 'table');
  for (const g of table.querySelectorAll('thead, tbody')) g.setAttribute('role', 'rowgroup');
  for (const tr of table.querySelectorAll('tr')) tr.setAttribute('role', 'row');
  for (const th of table.querySelectorAll('th')) th.setAttribute('role', th.getAttribute('scope') === 'row' ? 'rowheader' : 'columnheader');
  for (const td of table.querySelectorAll('td')) td.setAttribute('role', 'cell');
  return table;
}

export function dataTable(caption, head, rows) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
    h('caption', null, caption),
    h('thead', null, h('tr', null, head.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : null }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c, i) => (i ? h('td', { class: 'num' }, c) : h('th', { scope: 'row' }, c))))))));
}

/** Money for a headline figure: the exact amount, then the currency in smaller type. */
export function moneyFigure(m) {
  if (!m) return '—';
  return [groupDigits(m.amount), ' ', h('span', { class: 'cur' }, m.currency)];
}

export function figure(key, name, value, sub) {
  return h('div', { class: 'card', dataset: { figure: key } },
    h('dt', null, name), h('dd', { class: 'figure-value' }, value), sub ? h('dd', { class: 'figure-sub' }, sub) : null);
}
