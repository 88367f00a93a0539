// pilotledger dashboard, the entry module: plain JS as native ES modules, no
// framework, no build step, no third-party anything (the server's CSP allows
// only same-origin scripts and styles). It talks to the same JSON API as every
// other client, with the bearer token the user pastes or the identity
// provider issues (session.js). This file wires the sign-in form, button and link; each view lives in its own view-*.js module.
import {
  finishOidcSignIn, loadSignInConfig, readFragmentToken, showSignIn, signIn, signInWithProviderToken,
  signOutEverywhere, startOidcSignIn, storedIsProviderToken, storedToken,
} from './session.js';

async function boot() {
  document.getElementById('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = document.getElementById('token-input').value.trim().replace(/^Bearer\s+/i, '');
    if (!value) {
      showSignIn('Paste a token first.');
      return;
    }
    signIn(value, false);
  });
  document.getElementById('sign-out').addEventListener('click', signOutEverywhere);
  document.getElementById('oidc-signin-button').addEventListener('click', startOidcSignIn);
  // A sign-in link opened in a tab that already shows the dashboard only changes the fragment.
  window.addEventListener('hashchange', () => {
    const token = readFragmentToken();
    if (token) signIn(token, true);
  });
  const fromLink = readFragmentToken();
  const stored = storedToken();
  // The sign-in button appears once the server says an identity provider is configured.
  const config = loadSignInConfig();
  if (fromLink) signIn(fromLink, true);
  else if (await config.then(finishOidcSignIn)) return;
  else if (stored && storedIsProviderToken()) await signInWithProviderToken(stored);
  else if (stored) signIn(stored, true);
  else showSignIn(null);
}

// A module script runs once the document is parsed, so the page's elements exist.
boot();
