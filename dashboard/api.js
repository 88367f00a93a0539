// The JSON API client: the bearer token (held here and nowhere else in the
// page), requests with their problem+json errors turned into ApiError, CSV
// downloads through a Blob, and query strings.
import { h } from './dom.js';

let token = null;

/** Sets the bearer token every request carries (null once signed out). */
export function useToken(value) {
  token = value;
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.detail = problem.detail || problem.title || `The server answered ${status}.`;
    this.code = problem.code;
    this.field = problem.field;
  }
}

export async function request(path, { method = 'GET', body, accept = 'application/json' } = {}) {
  const headers = { Accept: accept, Authorization: `Bearer ${token}` };
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

export async function api(path, opts) {
  return (await request(path, opts)).json();
}

/** Fetches a CSV (or JSON export) with the Authorization header and saves it through a Blob; returns the file name. */
export async function download(path, fallbackName, opts = {}) {
  const resp = await request(path, { accept: opts.accept || 'text/csv', ...opts });
  const blob = await resp.blob();
  const cd = resp.headers.get('Content-Disposition') || '';
  const m = /filename="?([^";]+)"?/.exec(cd);
  const a = h('a', { href: URL.createObjectURL(blob), download: m ? m[1] : fallbackName, class: 'visually-hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 30000);
  return a.download;
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') u.set(k, v);
  const t = u.toString();
  return t ? `?${t}` : '';
}
