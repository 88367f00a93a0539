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

/**
 * A control that cannot act now: announced as unavailable (aria-disabled) but
 * still focusable, so focus is never dropped to the page when it turns off
 * under the user's finger. Its click handler must check isOff().
 */
export function setOff(btn, off) {
  btn.setAttribute('aria-disabled', off ? 'true' : 'false');
}
export const isOff = (btn) => btn.getAttribute('aria-disabled') === 'true';

/**
 * A download button. It stays enabled and focused while the file is fetched
 * (a second press waits for the first); progress and the result are written
 * to a short status line after the group of downloads.
 */
export function downloadButton(text, run, box) {
  const btn = h('button', { type: 'button', class: 'btn btn-download' }, h('span', { class: 'icon-dl', 'aria-hidden': 'true' }), text);
  let running = false;
  btn.addEventListener('click', async () => {
    if (running) return;
    running = true;
    const group = btn.closest('.downloads') || btn.parentElement;
    let status = group && group.nextElementSibling && group.nextElementSibling.matches('.download-status') ? group.nextElementSibling : null;
    if (!status && group) {
      status = h('p', { class: 'status download-status', role: 'status' });
      group.after(status);
    }
    const say = (msg) => { if (status) status.textContent = msg; };
    btn.setAttribute('aria-busy', 'true');
    clearError(box);
    say(`Preparing ${text}…`);
    try {
      const name = await run();
      say(`Downloaded ${name || text}.`);
    } catch (e) {
      say(`${text} could not be downloaded.`);
      showError(box, e);
    } finally {
      btn.setAttribute('aria-busy', 'false');
      running = false;
    }
  });
  return btn;
}

// Errors tied to their fields (WCAG 3.3.1, 3.3.3): the field is marked
// aria-invalid and described by its message, written next to it.

/** Marks `input` invalid with `message` shown under it and read with it. */
export function fieldError(input, message) {
  const id = `${input.id}-error`;
  let note = document.getElementById(id);
  if (!note) {
    note = h('p', { class: 'field-error', id });
    input.after(note);
  }
  note.replaceChildren(h('span', { class: 'visually-hidden' }, 'Error: '), message);
  input.setAttribute('aria-invalid', 'true');
  const ids = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter((x) => x && x !== id);
  input.setAttribute('aria-describedby', [id, ...ids].join(' '));
}

/** Clears every field error inside `root`. */
export function clearFieldErrors(root) {
  for (const input of root.querySelectorAll('[aria-invalid=true]')) {
    input.removeAttribute('aria-invalid');
    const id = `${input.id}-error`;
    const rest = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter((x) => x && x !== id);
    if (rest.length) input.setAttribute('aria-describedby', rest.join(' '));
    else input.removeAttribute('aria-describedby');
  }
  for (const note of root.querySelectorAll('.field-error')) note.remove();
}

/** Scrolls the first invalid field inside `root` into view and focuses it; false when there is none. */
export function focusFirstInvalid(root) {
  const first = root.querySelector('[aria-invalid=true]');
  if (!first) return false;
  first.scrollIntoView({ block: 'center' });
  first.focus({ preventScroll: true });
  return true;
}

/** Shows an error that belongs to no field in the alert box, scrolled into view and focused. */
export function showErrorFocused(box, err) {
  showError(box, err);
  box.tabIndex = -1;
  box.scrollIntoView({ block: 'center' });
  box.focus({ preventScroll: true });
}
