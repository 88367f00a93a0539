// What the views share once signed in: the token's claims, the view shown,
// which views have been rendered, and the currency the Finance view chose
// (the pilot drill-down reports in it too). The token itself stays in api.js.
export const state = { claims: null, view: null, rendered: new Map(), currency: '' };
