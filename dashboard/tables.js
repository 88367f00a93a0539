// Numbers as text: data tables (also the accessible twin of every chart) and
// the headline figure cards.
import { h, nextId } from './dom.js';
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

/**
 * The box a table scrolls in when it is wider than the page: a named region
 * in the Tab order, so keyboard users can scroll it too (WCAG 2.1.1; axe
 * scrollable-region-focusable). Named by the table's caption.
 */
export function tableWrap(table, attrs = {}) {
  const wrap = h('div', { class: 'table-wrap', role: 'region', tabindex: '0', ...attrs }, table);
  const caption = table && table.querySelector('caption');
  if (caption) {
    caption.id = caption.id || nextId('cap');
    wrap.setAttribute('aria-labelledby', caption.id);
  }
  return wrap;
}

/**
 * A table of figures. Below 600 px it becomes one card per row (.stack), each
 * value with its column's name, so nothing is cut off or scrolled sideways.
 */
export function dataTable(caption, head, rows) {
  return tableWrap(keepTableRoles(h('table', { class: 'data stack' },
    h('caption', null, caption),
    h('thead', null, h('tr', null, head.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : null }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c, i) => (i ? h('td', { class: 'num', 'data-label': head[i] }, c) : h('th', { scope: 'row' }, c)))))))));
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
