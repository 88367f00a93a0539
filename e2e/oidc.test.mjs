// Sign-in through a real OpenID provider in Chromium: the dashboard's
// authorization code flow with PKCE, as a public client. This file starts
// its own provider (tests/oidc/provider.mjs, the `oidc-provider` package)
// and its own pilotledger server with OIDC on, over a fresh demo database;
// run.sh passes PILOTLEDGER_BIN and CHROMIUM_PATH.
//
// Ana's account carries the groups claim `pl-finance` and the tenant claim
// `tid: tenant-e2e`; the operator binds that tenant to the second seeded
// organisation. Signing in must end on that organisation's finance view,
// with the figures the API gives Ana's own token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.PILOTLEDGER_BIN || path.join(HERE, '../target/debug/pilotledger');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const TIMEOUT = 15000;

let provider;
let server;
let work;
let context;
let profileDir;
let base;
let issuer;
let orgId;
let operator;
const children = [];

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

async function waitReady(url, child) {
  const deadline = Date.now() + 30000;
  for (;;) {
    try { if ((await fetch(url)).ok) return; } catch {}
    if (child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode})`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotledger-e2e-oidc-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;

  provider = spawn('node', [path.join(HERE, '../tests/oidc/provider.mjs'), JSON.stringify({
    public_clients: [{ client_id: 'pilotledger-dashboard', redirect_uris: [`${base}/`] }],
    accounts: { ana: { email: 'ana@example.com', claims: { groups: ['staff', 'pl-finance'], tid: 'tenant-e2e', email: 'ana@example.com' } } },
  })], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(provider);
  const first = await new Promise((resolve) => readline.createInterface({ input: provider.stdout }).once('line', resolve));
  issuer = JSON.parse(first).issuer;

  const env = {
    ...process.env,
    PILOTLEDGER_DATA_DIR: path.join(work, 'data'),
    DATABASE_URL: `sqlite://${path.join(work, 'data', 'pilotledger.db')}`,
    PILOTLEDGER_JWT_SECRET: 'e2e-oidc-only-secret-never-use-it-in-prod',
    PILOTLEDGER_ADDR: `127.0.0.1:${port}`,
    PILOTLEDGER_OIDC_ISSUER: issuer,
    PILOTLEDGER_OIDC_CLIENT_ID: 'pilotledger-dashboard',
    PILOTLEDGER_OIDC_SCOPES: 'openid profile email api',
    PILOTLEDGER_OIDC_ROLE_MAP: 'pl-admins=admin,pl-finance=finance,pl-members=member',
    PILOTLEDGER_OIDC_LOCAL_TOKENS: 'operator',
    RUST_LOG: 'warn',
  };
  fs.mkdirSync(env.PILOTLEDGER_DATA_DIR, { recursive: true });
  execFileSync(BIN, ['demo', 'seed', '--orgs', '6', '--pilots-per-org', '10', '--seed', '3'], { env, stdio: 'ignore' });
  server = spawn(BIN, ['serve'], { env, stdio: 'ignore' });
  children.push(server);
  await waitReady(`${base}/readyz`, server);
  operator = execFileSync(BIN, ['token', 'mint', '--ttl', '1', '--label', 'e2e-oidc', '--role', 'operator'], { env }).toString().trim();

  const orgs = await (await fetch(`${base}/v1/orgs?limit=10`, { headers: { Authorization: `Bearer ${operator}` } })).json();
  orgId = orgs.items[1].id;
  const bound = await fetch(`${base}/v1/orgs/${orgId}/idp-bindings`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${operator}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ bindings: [{ claim: 'tid', value: 'tenant-e2e' }] }),
  });
  assert.equal(bound.status, 200, await bound.text());

  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotledger-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timeout: 30000,
  });
  context.setDefaultTimeout(TIMEOUT);
});

after(async () => {
  await context?.close();
  for (const c of children) if (c.exitCode === null) c.kill();
  for (const dir of [profileDir, work]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const text = async (page, selector) => (await page.locator(selector).first().innerText()).replace(/\s+/g, ' ').trim();

test('PKCE sign-in at the identity provider ends on the finance view of the mapped organisation; sign-out', async () => {
  const page = await context.newPage();
  const errors = [];
  // The dashboard's errors only: the provider's own login page loads web fonts it cannot reach here.
  const ours = () => page.url().startsWith(base);
  page.on('pageerror', (e) => { if (ours()) errors.push(`pageerror: ${e.message}`); });
  page.on('console', (m) => { if (m.type() === 'error' && ours()) errors.push(`console: ${m.text()} (${m.location().url})`); });

  await page.goto(`${base}/`);
  const button = page.getByRole('button', { name: 'Sign in with your company account' });
  await button.waitFor({ state: 'visible' });
  // The token field stays for local use.
  assert.ok(await page.locator('#token-input').isVisible());

  // Keyboard: the button is reachable and starts the flow.
  await button.focus();
  const [authRequest] = await Promise.all([
    page.waitForRequest((r) => r.url().startsWith(`${issuer}/auth`)),
    page.keyboard.press('Enter'),
  ]);
  // A public client: PKCE with S256, the dashboard's own address to come back to, no secret.
  const auth = new URL(authRequest.url()).searchParams;
  assert.equal(auth.get('response_type'), 'code');
  assert.equal(auth.get('client_id'), 'pilotledger-dashboard');
  assert.equal(auth.get('code_challenge_method'), 'S256');
  assert.match(auth.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(auth.get('redirect_uri'), `${base}/`);
  assert.equal(auth.get('client_secret'), null);
  await page.waitForSelector('input[name=login]');
  // oidc-provider's own login page (any password).
  await page.fill('input[name=login]', 'ana');
  await page.fill('input[name=password]', 'any');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(base)), page.locator('button[type=submit]').click()]);
  await page.waitForSelector('#tabs [role=tab][aria-selected=true]');

  // The code and state are gone from the address bar; the token is the provider's.
  assert.equal(new URL(page.url()).search, '', page.url());
  const token = await page.evaluate(() => sessionStorage.getItem('pilotledger.token'));
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  assert.equal(claims.iss, issuer);
  assert.equal(claims.sub, 'ana');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('pilotledger.pkce')), null, 'the verifier is dropped');
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');

  // The finance view of the bound organisation, with the API's own figures for Ana's token.
  assert.equal(await text(page, '#tabs [role=tab][aria-selected=true]'), 'Finance');
  assert.equal(await text(page, '#session-role'), 'Finance');
  const call = async (p) => (await fetch(base + p, { headers: { Authorization: `Bearer ${token}` } })).json();
  const me = await call('/v1/auth/whoami');
  assert.deepEqual([me.role, me.org, me.email], ['finance', orgId, 'ana@example.com']);
  const org = await call(`/v1/orgs/${orgId}`);
  await page.waitForFunction((name) => document.getElementById('session-org').textContent === name, org.name);
  await page.waitForSelector('#panel-finance .results[aria-busy=false]');
  const s = await call('/v1/summary');
  const spend = (await text(page, '#fin-headline [data-figure=spend] .figure-value')).replace(/,/g, '');
  assert.equal(spend, `${s.totals.spend.amount} ${s.totals.spend.currency}`);

  // A reload keeps the session (the provider token is mapped again).
  await page.reload();
  await page.waitForSelector('#tabs [role=tab][aria-selected=true]');
  await page.waitForFunction((name) => document.getElementById('session-org').textContent === name, org.name);

  // Sign-out ends the session here and at the provider, which sends the browser back.
  await Promise.all([page.waitForURL((u) => u.href.startsWith(issuer)), page.getByRole('button', { name: 'Sign out' }).click()]);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('pilotledger.token')), null);
  const confirm = page.locator('button[autofocus], form button[type=submit], button').first();
  await Promise.all([page.waitForURL((u) => u.href.startsWith(base)), confirm.click()]);
  await page.waitForSelector('#signin:not([hidden])');
  await page.close();
  assert.deepEqual(errors, []);
});

test('axe: the sign-in page with the company sign-in button, and a refused sign-in', async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    // bypassCSP: axe is injected by the test (the CSP itself is exercised by the sign-in above).
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Sign in with your company account' }).waitFor({ state: 'visible' });
    const axe = async () => {
      await page.addScriptTag({ path: createRequire(import.meta.url).resolve('axe-core/axe.min.js') });
      return page.evaluate(async () => (await window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] }, resultTypes: ['violations'],
      })).violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`));
    };
    assert.deepEqual(await axe(), []);
    // The provider refusing (or the person cancelling) comes back as ?error=: said in the alert.
    await page.goto(`${base}/?error=access_denied&error_description=${encodeURIComponent('End-User aborted interaction')}&state=x`);
    const alert = page.locator('#signin-alert[role=alert]');
    await alert.waitFor({ state: 'visible' });
    assert.match(await alert.innerText(), /End-User aborted interaction/);
    assert.equal(new URL(page.url()).search, '', 'the answer is cleared from the address bar');
    assert.deepEqual(await axe(), []);
  } finally {
    await browser.close();
  }
});
