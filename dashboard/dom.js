// DOM helpers every view uses: element builders for HTML and SVG, form
// fields, the alert box for errors, and the guards for busy or stale requests.
// Nothing here knows about the API or a particular view.
import { label } from './format.js';

export const SVGNS = 'http://www.w3.org/2000/svg';

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function s(tag, attrs, ...children) {
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
export const nextId = (prefix) => `${prefix}-${++uid}`;

export function field(labelText, control, help) {
  const id = control.id || (control.id = nextId('f'));
  const helpId = help ? `${id}-help` : null;
  if (helpId) control.setAttribute('aria-describedby', helpId);
  return h('div', { class: 'field' },
    h('label', { for: id }, labelText),
    control,
    help ? h('p', { class: 'help', id: helpId }, help) : null);
}

export function select(attrs, options, selected) {
  const el = h('select', attrs);
  for (const o of options) {
    const [value, text] = Array.isArray(o) ? o : [o, label(o)];
    el.append(h('option', { value, selected: value === selected }, text));
  }
  if (selected != null) el.value = selected;
  return el;
}

/** Replaces an element's children, skipping null/false entries. */
export function fill(el, children) {
  el.replaceChildren();
  append(el, [children]);
  return el;
}

export function alertBox() {
  return h('div', { class: 'alert', role: 'alert', hidden: true });
}

export function showError(box, err) {
  let msg = err && err.detail ? err.detail : String(err && err.message ? err.message : err);
  if (err && err.status === 401) msg = `Your token was refused: ${msg}. Sign out and sign in with a valid token.`;
  box.replaceChildren(h('strong', null, 'Error: '), msg);
  box.hidden = false;
}

export function clearError(box) {
  box.hidden = true;
  box.replaceChildren();
}

/** Returns a function that tells whether a request is still the latest of its kind. */
export function latest() {
  let n = 0;
  return () => {
    const mine = ++n;
    return () => mine === n;
  };
}

export function setBusy(el, busy) {
  el.setAttribute('aria-busy', busy ? 'true' : 'false');
  el.classList.toggle('is-busy', busy);
}

export function downloadButton(text, run, box) {
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
