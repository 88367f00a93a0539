// Signing in and out: reading the token from a #token= link, the form or
// session storage (never localStorage), checking its claims, and switching
// between the sign-in form and the workspace.
import { api, useToken } from './api.js';
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

// ------------------------------------------------ sign-in through the identity provider
// Authorization code with PKCE (RFC 7636) as a public client: no secret in
// the page. The verifier and state wait in session storage while the browser
// is at the provider; the access token it returns is the bearer token, and
// the server (GET /v1/auth/whoami) says which role and organisation its
// claims map to.

const PKCE_KEY = 'pilotledger.pkce';
const MODE_KEY = 'pilotledger.mode';
const ID_TOKEN_KEY = 'pilotledger.id_token';
let oidcConfig = null;

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const randomString = () => b64url(crypto.getRandomValues(new Uint8Array(32)));
const redirectUri = () => location.origin + location.pathname;

/** Reads the server's sign-in settings and shows the button when the provider is configured. */
export async function loadSignInConfig() {
  try {
    const resp = await fetch('/v1/auth/config', { headers: { Accept: 'application/json' }, cache: 'no-store' });
    oidcConfig = resp.ok ? (await resp.json()).oidc : null;
  } catch (_) {
    oidcConfig = null;
  }
  document.getElementById('oidc-signin').hidden = !oidcConfig;
  return oidcConfig;
}

/** Sends the browser to the provider's sign-in page. */
export async function startOidcSignIn() {
  if (!oidcConfig) return;
  const verifier = randomString();
  const stateValue = randomString();
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state: stateValue, redirect: redirectUri() }));
  const url = new URL(oidcConfig.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: oidcConfig.client_id, redirect_uri: redirectUri(), scope: oidcConfig.scopes,
    state: stateValue, code_challenge: challenge, code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/** On the way back from the provider (?code=&state= or ?error=): exchanges the code; true if this was such a return. */
export async function finishOidcSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return false;
  history.replaceState(null, '', location.pathname);
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null');
  sessionStorage.removeItem(PKCE_KEY);
  if (params.has('error')) {
    showSignIn(`The identity provider did not sign you in: ${params.get('error_description') || params.get('error')}.`);
    return true;
  }
  if (!pending || pending.state !== params.get('state')) {
    showSignIn('That sign-in answer does not belong to a sign-in started in this tab; sign in again.');
    return true;
  }
  const config = oidcConfig || (await loadSignInConfig());
  if (!config) {
    showSignIn('This server no longer signs in through an identity provider.');
    return true;
  }
  let tokens;
  try {
    const resp = await fetch(config.token_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: params.get('code'), redirect_uri: pending.redirect,
        client_id: config.client_id, code_verifier: pending.verifier,
      }),
    });
    tokens = await resp.json();
    if (!resp.ok || !tokens.access_token) throw new Error(tokens.error_description || tokens.error || `HTTP ${resp.status}`);
  } catch (e) {
    showSignIn(`The identity provider did not give this tab a token (${e.message}).`);
    return true;
  }
  if (tokens.id_token) sessionStorage.setItem(ID_TOKEN_KEY, tokens.id_token);
  await signInWithProviderToken(tokens.access_token);
  return true;
}

/** Uses an identity provider's access token: the server maps its claims to a role and organisation. */
export async function signInWithProviderToken(token) {
  useToken(token);
  let me;
  try {
    me = await api('/v1/auth/whoami');
  } catch (e) {
    useToken(null);
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(MODE_KEY);
    showSignIn(e.detail || e.message);
    return;
  }
  const claims = decodeClaims(token) || {};
  state.claims = { ...me, exp: claims.exp };
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(MODE_KEY, 'oidc');
  showWorkspace();
  document.querySelector('#tabs [role=tab][aria-selected=true]')?.focus();
}

/** Whether the stored token came from the identity provider. */
export const storedIsProviderToken = () => sessionStorage.getItem(MODE_KEY) === 'oidc';

/** Signs out here, then at the provider when it offers that (it sends the browser back). */
export function signOutEverywhere() {
  const provider = storedIsProviderToken() && oidcConfig && oidcConfig.end_session_endpoint;
  const idToken = sessionStorage.getItem(ID_TOKEN_KEY);
  sessionStorage.removeItem(MODE_KEY);
  sessionStorage.removeItem(ID_TOKEN_KEY);
  signOut();
  if (provider) {
    const url = new URL(oidcConfig.end_session_endpoint);
    const q = { client_id: oidcConfig.client_id, post_logout_redirect_uri: redirectUri() };
    if (idToken) q.id_token_hint = idToken;
    url.search = new URLSearchParams(q).toString();
    location.assign(url.toString());
  }
}
