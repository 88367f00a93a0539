// Signing in and out: reading the token from a #token= link, the form or
// session storage (never localStorage), checking its claims, and switching
// between the sign-in form and the workspace.
import { useToken } from './api.js';
import { clearError, h, showError } from './dom.js';
import { state } from './state.js';
import { ROLES, showWorkspace } from './workspace.js';

const TOKEN_KEY = 'pilotledger.token';

/** The token a previous sign-in in this tab left in session storage, if any. */
export const storedToken = () => sessionStorage.getItem(TOKEN_KEY);

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

export function readFragmentToken() {
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
export function signIn(token, viaLink) {
  const claims = decodeClaims(token);
  const problem = tokenProblem(claims);
  if (problem) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(problem);
    return;
  }
  useToken(token);
  state.claims = claims;
  sessionStorage.setItem(TOKEN_KEY, token);
  showWorkspace();
  // After signing in with the form, focus the selected view's tab rather than losing it.
  if (!viaLink) document.querySelector('#tabs [role=tab][aria-selected=true]').focus();
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  useToken(null);
  state.claims = null;
  state.view = null;
  state.rendered = new Map();
  state.currency = '';
  history.replaceState(null, '', location.pathname + location.search);
  document.getElementById('panels').replaceChildren();
  document.getElementById('tabs').replaceChildren();
  showSignIn(null, 'You are signed out.');
}

export function showSignIn(error, info) {
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
  document.title = 'Sign in · pilotledger';
  // A refused token marks the field invalid and is read with it (the alert carries the reason).
  if (error) {
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', 'signin-alert token-help');
  } else {
    input.removeAttribute('aria-invalid');
    input.setAttribute('aria-describedby', 'token-help');
  }
  if (error || info) input.focus();
}
