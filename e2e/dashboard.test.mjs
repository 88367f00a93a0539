// Real-browser tests of the pilotledger dashboard: Debian's chromium driven by
// playwright-core, against a server seeded by `demo seed` (see run.sh, which
// sets BASE_URL, ORG_ID, SIGNIN_LINK and TOKEN_<ROLE>). Every figure checked
// on the page is compared with the API's own answer to the same request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHOTS = path.join(HERE, 'screenshots');
const BASE = must('BASE_URL');
const TOKENS = Object.fromEntries(['finance', 'member', 'admin', 'researcher', 'operator'].map((r) => [r, must(`TOKEN_${r.toUpperCase()}`)]));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const TIMEOUT = 15000;

function must(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run the tests through e2e/run.sh`);
  return v;
}

let context;
let profileDir;

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotledger-chromium-'));
  // launchPersistentContext passes the fresh profile as --user-data-dir.
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    timeout: 30000,
  });
  context.setDefaultTimeout(TIMEOUT);
});

after(async () => {
  await context?.close();
  if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ helpers

async function api(role, pathname, init = {}) {
  const resp = await fetch(BASE + pathname, {
    ...init,
    headers: { Authorization: `Bearer ${TOKENS[role]}`, 'Content-Type': 'application/json', ...(init.headers || {}) },
  });
  const text = await resp.text();
  assert.ok(resp.ok, `${init.method || 'GET'} ${pathname} as ${role}: ${resp.status} ${text}`);
  return JSON.parse(text);
}

/** A page that records console errors and uncaught exceptions. */
async function newPage({ width = 1280, height = 900 } = {}) {
  const page = await context.newPage();
  await page.setViewportSize({ width, height });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return { page, errors };
}

async function signInByLink(role, opts) {
  const { page, errors } = await newPage(opts);
  await page.goto(`${BASE}/#token=${TOKENS[role]}`);
  await page.waitForSelector('#tabs [role=tab][aria-selected=true]');
  return { page, errors };
}

/** Closes the page; fails on console errors, uncaught exceptions or an error alert left on screen. */
async function done(page, errors, allowed = []) {
  const unexpected = errors.filter((e) => !allowed.some((re) => re.test(e)));
  const alerts = allowed.length ? [] : await page.locator('.alert[role=alert]:visible').allInnerTexts();
  await page.close();
  assert.deepEqual(unexpected, [], 'no console errors or page errors');
  assert.deepEqual(alerts, [], 'no error alert on screen');
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

const text = async (page, selector) => (await page.locator(selector).first().innerText()).replace(/\s+/g, ' ').trim();
const noCommas = (s) => s.replace(/,/g, '');
const money = (m) => `${m.amount} ${m.currency}`;

/** "-0.9884" → "-98.8%", rounding half away from zero, computed independently of the page's code. */
function pctOf4dp(str) {
  if (str == null) return 'n/a';
  const [int, frac = ''] = str.replace('-', '').split('.');
  const units = Number(int) * 10000 + Number(frac.padEnd(4, '0').slice(0, 4));
  const tenths = Math.round(units / 10);
  const sign = str.startsWith('-') && tenths !== 0 ? '-' : '';
  return `${sign}${Math.floor(tenths / 10)}.${tenths % 10}%`;
}
const SUPPRESSION_WORDS = {
  empty: 'no evaluated pilots in this cell',
  min_organisations: 'fewer than the minimum number of organisations',
  dominance: 'one organisation holds more than the allowed share of pilots',
  one_sided: 'too few organisations on one side (with and without impact)',
  complementary: 'suppressed so that another suppressed cell cannot be recovered by subtraction',
};
const byName = (a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0);
const pct = (x) => `${(x * 100).toFixed(1)}%`;
const interval = (iv) => `${pct(iv.estimate)} (95% CI ${pct(iv.low)}–${pct(iv.high)})`;

async function tabNames(page) {
  return page.locator('#tabs [role=tab]').allInnerTexts();
}

async function openTab(page, name) {
  await page.getByRole('tab', { name }).click();
  await page.waitForSelector(`#tabs [role=tab][aria-selected=true]:has-text("${name}")`);
}

/** Clicks a download button and returns the downloaded file's first line. */
async function downloadFirstLine(page, buttonName) {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: buttonName }).click(),
  ]);
  const file = await download.path();
  const body = fs.readFileSync(file, 'utf8');
  assert.ok(body.length > 0, `${buttonName}: the download is not empty`);
  return { name: download.suggestedFilename(), first: body.split(/\r?\n/)[0], lines: body.trim().split(/\r?\n/).length };
}

async function waitIdle(page, selector) {
  await page.waitForSelector(`${selector}[aria-busy=false]`);
}

// -------------------------------------------------------------------- tests

test('sign-in: keyboard reaches the token field; pasted and linked tokens sign in; the link fragment is cleared; sign-out', async () => {
  const { page, errors } = await newPage();
  await page.goto(BASE + '/');
  await page.waitForSelector('#signin:not([hidden])');
  await shot(page, 'signin');
  // Tab reaches the token field (after the skip link) within a few presses.
  let reached = false;
  for (let i = 0; i < 4 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement && document.activeElement.id === 'token-input');
  }
  assert.ok(reached, 'Tab reaches the token field');
  assert.equal(await page.locator('label[for=token-input]').innerText(), 'Bearer token');

  // A malformed token is refused in an accessible alert.
  await page.keyboard.type('not-a-token');
  await page.keyboard.press('Enter');
  const alert = page.locator('#signin-alert[role=alert]');
  await alert.waitFor({ state: 'visible' });
  assert.match(await alert.innerText(), /not a JSON Web Token/);

  // A pasted token signs in; the views match the role.
  await page.fill('#token-input', TOKENS.researcher);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#tabs [role=tab][aria-selected=true]');
  assert.deepEqual(await tabNames(page), ['Zero-impact rate', 'Gap projection']);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('pilotledger.token')), TOKENS.researcher);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');

  // Sign out clears the token.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForSelector('#signin:not([hidden])');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('pilotledger.token')), null);

  // The link printed by `token mint --print-url` signs in and leaves no token in the address bar.
  const link = process.env.SIGNIN_LINK;
  assert.ok(link && link.includes('#token='), 'run.sh passes the printed sign-in link');
  await page.goto(link);
  await page.waitForSelector('#tabs [role=tab][aria-selected=true]');
  assert.ok(!page.url().includes('token='), `token cleared from the URL (${page.url()})`);
  assert.equal(await page.evaluate(() => history.length >= 1 && !location.hash.includes('token')), true);
  assert.deepEqual(await tabNames(page), ['Finance', 'Pilots', 'Gap projection']);
  assert.equal(await text(page, '#session-role'), 'Finance');
  await done(page, errors);
});

test('finance: headline figures, charts and CSV equal GET /v1/summary', async () => {
  const { page, errors } = await signInByLink('finance');
  assert.deepEqual(await tabNames(page), ['Finance', 'Pilots', 'Gap projection']);
  await page.waitForSelector('#fin-headline');
  await waitIdle(page, '#panel-finance .results');
  const s = await api('finance', '/v1/summary');
  const t = s.totals;
  // The organisation is shown by name, not id, to every role of it.
  const org = await api('finance', `/v1/orgs/${process.env.ORG_ID}`);
  await page.waitForFunction((name) => document.getElementById('session-org').textContent === name, org.name);
  const fig = (k) => text(page, `#fin-headline [data-figure=${k}] .figure-value`);
  assert.equal(noCommas(await fig('spend')), money(t.spend));
  assert.equal(noCommas(await fig('measured_impact')), money(t.measured_impact));
  assert.equal(await fig('roi'), pctOf4dp(t.roi));
  assert.equal(await fig('zero_impact_share'), pctOf4dp(t.zero_impact_share));
  assert.equal(noCommas(await fig('zero_impact_spend')), money(t.zero_impact_spend));
  assert.match(await text(page, '#fin-headline [data-figure=zero_impact_share] .figure-sub'), new RegExp(`^${t.zero_impact} of ${t.evaluated} evaluated`));

  // Charts: one pair of bars per quarter, one bar row per function; SVGs carry title and desc.
  const byQuarter = await api('finance', '/v1/summary?group_by=quarter');
  const byFunction = await api('finance', '/v1/summary?group_by=function');
  await page.waitForSelector('figure[data-chart=quarter] svg');
  assert.equal(await page.locator('figure[data-chart=quarter] svg rect.bar').count(), byQuarter.groups.length * 2);
  assert.equal(await page.locator('figure[data-chart=function] svg rect.bar').count(), byFunction.groups.filter((g) => g.roi != null).length);
  for (const key of ['quarter', 'function']) {
    assert.ok((await page.locator(`figure[data-chart=${key}] svg.chart-svg > title`).textContent()).length > 5);
    assert.ok((await page.locator(`figure[data-chart=${key}] svg.chart-svg > desc`).textContent()).length > 10);
    assert.equal(await page.locator(`figure[data-chart=${key}] svg.chart-svg`).getAttribute('role'), 'img');
  }
  const fnRows = page.locator('figure[data-chart=function] details table tbody tr');
  assert.equal(await fnRows.count(), byFunction.groups.length);
  // Spend by source (issue 21): one row per imported bill, and the unallocated rest in words.
  if (process.env.E2E_BILLS) {
    const bills = await api('finance', '/v1/spend-sources');
    await page.waitForSelector('#fin-bills-title');
    assert.equal(await page.locator('section.bills table tbody tr').count(), bills.sources.length);
    const u = s.unallocated_spend[0];
    assert.ok((await text(page, '#fin-unallocated')).includes(`${u.amount} ${u.currency} unallocated over ${u.rows} bill rows`));
  }
  await shot(page, 'finance');

  // Another currency and period: the page asks the API and shows its answer.
  await page.selectOption('#fin-currency', 'USD');
  await page.fill('#fin-from', '2025-01-01');
  await page.fill('#fin-to', '2025-12-31');
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/v1/summary') && r.url().includes('currency=USD')),
    page.getByRole('button', { name: 'Apply' }).click(),
  ]);
  await waitIdle(page, '#panel-finance .results');
  const usd = await api('finance', '/v1/summary?from=2025-01-01&to=2025-12-31&currency=USD');
  assert.equal(noCommas(await fig('spend')), money(usd.totals.spend));
  assert.equal(noCommas(await fig('zero_impact_spend')), money(usd.totals.zero_impact_spend));
  assert.equal(await fig('roi'), pctOf4dp(usd.totals.roi));

  // A CSV download arrives with the summary header.
  const csv = await downloadFirstLine(page, 'Summary by quarter (CSV)');
  assert.equal(csv.first, 'key,pilots,spend,measured_impact,estimated_impact,net_measured,roi,evaluated,zero_impact,zero_impact_share,zero_impact_spend,currency,definition_version');
  assert.ok(csv.name.endsWith('.csv'));

  // API errors (problem+json) show their detail; one naming a field is shown at that field (issue 29).
  await page.fill('#fin-from', '2026-06-01');
  await page.fill('#fin-to', '2026-01-01');
  await page.getByRole('button', { name: 'Apply' }).click();
  const fieldError = page.locator('#fin-to-error');
  await fieldError.waitFor({ state: 'visible' });
  assert.match(await fieldError.innerText(), /to is before from/);
  assert.equal(await page.getAttribute('#fin-to', 'aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'fin-to');
  // Chromium logs the 400 itself; that one is expected.
  await done(page, errors, [/status of 400/]);
});

test('pilots: table, paging, sorting, stage filter and drill-down equal the API', async (t) => {
  const { page, errors } = await signInByLink('finance');
  await openTab(page, 'Pilots');
  await page.waitForSelector('#pilots-table tbody tr');
  await waitIdle(page, '#pilots-table-wrap');
  const list = await api('finance', '/v1/pilots?limit=25');
  const rows = page.locator('#pilots-table tbody tr');
  assert.equal(await rows.count(), list.items.length);
  const names = await page.locator('#pilots-table tbody th button').allInnerTexts();
  assert.deepEqual(names, list.items.map((p) => p.name));

  // Sorting within the page (client side), with aria-sort.
  await page.click('button[data-sort=name]');
  const sortedNames = await page.locator('#pilots-table tbody th button').allInnerTexts();
  assert.deepEqual(sortedNames, list.items.map((p) => p.name).sort(byName));
  assert.equal(await page.locator('th:has(button[data-sort=name])').getAttribute('aria-sort'), 'ascending');
  await page.click('button[data-sort=name]');
  assert.equal(await page.locator('th:has(button[data-sort=name])').getAttribute('aria-sort'), 'descending');

  // Paging: 10 per page, the second page is the API's second page.
  await page.selectOption('#pilots-limit', '10');
  await page.waitForFunction(() => document.querySelectorAll('#pilots-table tbody tr').length === 10);
  const p1 = await api('finance', '/v1/pilots?limit=10');
  const p2 = await api('finance', `/v1/pilots?limit=10&cursor=${encodeURIComponent(p1.next_cursor)}`);
  await page.click('#pilots-next');
  await page.waitForSelector('#pilots-table caption:has-text("page 2")');
  // The chosen sort (name, descending) still applies within the new page.
  assert.deepEqual(await page.locator('#pilots-table tbody th button').allInnerTexts(), p2.items.map((p) => p.name).sort(byName).reverse());
  await page.click('#pilots-prev');
  await page.waitForSelector('#pilots-table caption:has-text("page 1")');

  // Stage filter.
  await page.selectOption('#pilots-limit', '25');
  await page.selectOption('#pilots-stage', 'production');
  await page.waitForSelector('#pilots-status:has-text("Production")');
  const prod = await api('finance', '/v1/pilots?limit=25&stage=production');
  assert.equal(await rows.count(), prod.items.length);
  assert.deepEqual(await page.locator('#pilots-table tbody th button').allInnerTexts(), prod.items.map((p) => p.name).sort(byName).reverse());
  await page.selectOption('#pilots-stage', '');
  await page.waitForFunction((n) => document.querySelectorAll('#pilots-table tbody tr').length === n, list.items.length);

  // Drill-down: prefer a pilot that paid back, so the payback marker is exercised.
  const rois = await Promise.all(list.items.map((p) => api('finance', `/v1/pilots/${p.id}/roi`)));
  const roi = rois.find((r) => r.payback_month) || rois.find((r) => r.monthly.length > 1) || rois[0];
  if (!roi.payback_month) t.diagnostic('no pilot on the first page paid back; the payback marker is not exercised');
  await page.click(`button[data-pilot="${roi.pilot_id}"]`);
  await page.waitForSelector('#drill-figures');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'drill-title', 'focus moves to the drill-down');
  const dfig = (k) => text(page, `#drill-figures [data-figure=${k}] .figure-value`);
  assert.equal(noCommas(await dfig('spend')), money(roi.spend));
  assert.equal(noCommas(await dfig('measured_impact')), money(roi.measured_impact));
  assert.equal(await dfig('roi'), pctOf4dp(roi.roi));
  assert.equal(await dfig('payback_month'), roi.payback_month || 'Not paid back');
  const curve = page.locator('figure[data-chart=pilot-roi]');
  assert.equal(await curve.locator('svg path.line').count(), roi.monthly.length > 0 ? 2 : 0);
  assert.equal(await curve.locator('details table tbody tr').count(), roi.monthly.length);
  if (roi.payback_month) assert.equal(await curve.locator('svg line.marker').count(), 1);
  const last = roi.monthly[roi.monthly.length - 1];
  if (last) {
    const cells = await curve.locator('details table tbody tr').last().locator('th, td').allTextContents();
    assert.equal(noCommas(cells[3]), money(last.cumulative_spend));
    assert.equal(noCommas(cells[4]), money(last.cumulative_measured_impact));
  }
  await shot(page, 'pilot-drilldown');
  const csv = await downloadFirstLine(page, 'Monthly ROI (CSV)');
  assert.equal(csv.first, 'pilot_id,pilot_name,month,spend,measured_impact,cumulative_spend,cumulative_measured_impact,currency');
  assert.equal(csv.lines, roi.monthly.length + 1);
  await shot(page, 'pilots');
  await done(page, errors);
});

test('member: pilot table and drill-down only, never the summary', async () => {
  const { page, errors } = await newPage();
  const summaryCalls = [];
  page.on('request', (r) => { if (r.url().includes('/v1/summary')) summaryCalls.push(r.url()); });
  await page.goto(`${BASE}/#token=${TOKENS.member}`);
  await page.waitForSelector('#pilots-table tbody tr');
  assert.deepEqual(await tabNames(page), ['Pilots', 'Gap projection']);
  assert.equal(await page.locator('#panel-finance').count(), 0);
  const list = await api('member', '/v1/pilots?limit=25');
  assert.equal(await page.locator('#pilots-table tbody tr').count(), list.items.length);
  const first = list.items[0];
  const roi = await api('member', `/v1/pilots/${first.id}/roi`);
  await page.click(`button[data-pilot="${first.id}"]`);
  await page.waitForSelector('#drill-figures');
  assert.equal(noCommas(await text(page, '#drill-figures [data-figure=spend] .figure-value')), money(roi.spend));
  await shot(page, 'member');
  assert.deepEqual(summaryCalls, []);
  await done(page, errors);
});

test('admin: finance view with the same figures and the organisation name', async () => {
  const { page, errors } = await signInByLink('admin');
  assert.deepEqual(await tabNames(page), ['Finance', 'Pilots', 'Gap projection']);
  await page.waitForSelector('#fin-headline');
  const s = await api('admin', '/v1/summary');
  assert.equal(noCommas(await text(page, '#fin-headline [data-figure=spend] .figure-value')), money(s.totals.spend));
  assert.equal(await text(page, '#fin-headline [data-figure=roi] .figure-value'), pctOf4dp(s.totals.roi));
  const org = await api('admin', `/v1/orgs/${process.env.ORG_ID}`);
  await page.waitForFunction((name) => document.getElementById('session-org').textContent === name, org.name);
  await shot(page, 'admin');
  await done(page, errors);
});

test('researcher: rates, trend, breakdown with suppressed cells and the export equal the API', async () => {
  const { page, errors } = await signInByLink('researcher');
  assert.deepEqual(await tabNames(page), ['Zero-impact rate', 'Gap projection']);
  await page.waitForSelector('#res-trend');
  await waitIdle(page, '#res-overview');
  const r = await api('researcher', '/v1/aggregates/zero-impact-rate?by=function');
  const all = r.cells.filter((c) => c.dimension === 'all');
  const published = all.filter((c) => !c.suppressed);
  assert.ok(published.length > 0, 'the seeded data publishes at least one quarter');
  const latest = published[published.length - 1];
  assert.equal(await text(page, '#res-trend [data-figure=latest_share] dt'), `Organisation zero-return share, ${latest.quarter}`);
  assert.equal(await text(page, '#res-trend [data-figure=latest_share] .figure-value'), pct(latest.org_zero_return_share.estimate));
  const org = r.trend.organisation;
  if (org.available) {
    const pp = org.pp_change_per_year.estimate;
    const want = `${pp > 0 && Number(pp.toFixed(1)) !== 0 ? '+' : ''}${pp.toFixed(1)} pp per year`;
    assert.equal(await text(page, '#res-trend [data-trend=organisation] .figure-value'), want);
  }
  if (r.trend.projection) {
    const lastP = r.trend.projection[r.trend.projection.length - 1];
    assert.equal(await text(page, '#res-trend [data-figure=projection] .figure-value'), pct(lastP.estimate));
  }
  // The chart: title/desc, one line per rate, bands, and a data table with every quarter and projection.
  const chart = page.locator('figure[data-chart=rates]');
  assert.ok((await chart.locator('svg > desc').textContent()).includes(latest.quarter));
  assert.ok(await chart.locator('svg polygon.band, svg rect.band').count() > 0, 'interval bands are drawn');
  assert.equal(await chart.locator('details table tbody tr').count(), all.length + (r.trend.projection || []).length);

  // Breakdown: the default quarter is the latest with a published cell.
  const cells = r.cells.filter((c) => c.dimension === 'function');
  const withPub = [...new Set(cells.filter((c) => !c.suppressed).map((c) => c.quarter))];
  const q = withPub.length ? withPub[withPub.length - 1] : cells[cells.length - 1].quarter;
  assert.equal(await page.inputValue('#res-quarter'), q);
  const inQ = cells.filter((c) => c.quarter === q);
  const rows = page.locator('#res-breakdown-table tbody tr');
  assert.equal(await rows.count(), inQ.length);
  for (const c of inQ) {
    const row = page.locator(`#res-breakdown-table tbody tr[data-quarter="${c.quarter}"][data-value="${c.value}"]`);
    if (c.suppressed) {
      // The reason in words, never the API's code.
      assert.equal(await text(row, 'td.suppressed-cell'), `Suppressed: ${SUPPRESSION_WORDS[c.suppression_reason]}`);
    } else {
      assert.equal(await text(row, 'td[data-rate=org_zero_return_share]'), interval(c.org_zero_return_share));
      // Bootstrap rates are null below 20 organisations (the dashboard says n/a).
      assert.equal(await text(row, 'td[data-rate=pilot_rate]'), c.pilot_rate ? interval(c.pilot_rate) : 'n/a');
    }
  }
  // All quarters: every cell, suppressed ones marked.
  await page.selectOption('#res-quarter', 'all');
  assert.equal(await rows.count(), cells.length);
  assert.equal(await page.locator('#res-breakdown-table tbody tr[data-suppressed=true]').count(), cells.filter((c) => c.suppressed).length);
  assert.equal(await page.locator('#res-breakdown-table td.suppressed-cell').count(), cells.filter((c) => c.suppressed).length);
  await shot(page, 'research');

  // Another dimension: a new request, the table follows the API.
  await Promise.all([
    page.waitForResponse((resp) => resp.url().includes('by=industry')),
    page.selectOption('#res-by', 'industry'),
  ]);
  await waitIdle(page, '#res-breakdown');
  const ri = await api('researcher', '/v1/aggregates/zero-impact-rate?by=industry');
  const ind = ri.cells.filter((c) => c.dimension === 'industry');
  const shown = await page.inputValue('#res-quarter');
  const expect = shown === 'all' ? ind : ind.filter((c) => c.quarter === shown);
  assert.equal(await rows.count(), expect.length);
  const pub = expect.find((c) => !c.suppressed);
  if (pub) {
    const row = page.locator(`#res-breakdown-table tbody tr[data-quarter="${pub.quarter}"][data-value="${pub.value}"]`);
    assert.equal(await text(row, 'td[data-rate=org_zero_return_share]'), interval(pub.org_zero_return_share));
  }

  // The export download arrives with its self-describing header.
  const csv = await downloadFirstLine(page, 'Export all breakdowns (CSV)');
  assert.ok(csv.first.startsWith('definition_version,disclosure_policy_version,from,to,min_impact_usd,window_months'), csv.first);
  assert.ok(csv.lines > 10);

  // Another published definition: the same cells' counts, its own shares, the study beside them.
  await page.selectOption('#res-definition', 'sp_global_2025');
  await Promise.all([
    page.waitForResponse((resp) => resp.url().includes('definition=sp_global_2025')),
    page.click('form.filters button[type=submit]'),
  ]);
  await waitIdle(page, '#res-overview');
  const sp = await api('researcher', '/v1/aggregates/zero-impact-rate?by=industry&definition=sp_global_2025');
  const spLatest = sp.cells.filter((c) => c.dimension === 'all' && !c.suppressed).pop();
  if (spLatest) {
    assert.equal(await text(page, '#res-trend [data-figure=latest_share] .figure-value'), pct(spLatest.org_zero_return_share.estimate));
  }
  assert.equal(await text(page, '#res-trend [data-figure=definition] .figure-value'), `${pct(sp.definition.headline_share)} published`);
  await done(page, errors);
});

test('finance: burn against each budget equals the budgets of GET /v1/summary', async () => {
  const org = await api('finance', `/v1/orgs/${process.env.ORG_ID}`);
  const pilots = await api('finance', '/v1/pilots?limit=1');
  const post = (body) => api('finance', '/v1/budgets', { method: 'POST', body: JSON.stringify(body) });
  await post({ amount: '1.00', currency: org.reporting_currency, period: 'life' });
  await post({ pilot_id: pilots.items[0].id, amount: '99999999.00', currency: 'USD', period: 'year' });
  const s = await api('finance', '/v1/summary');
  const { page, errors } = await signInByLink('finance');
  await waitIdle(page, '#panel-finance .results');
  const rows = page.locator('section[aria-labelledby=fin-budgets] table tbody tr');
  assert.equal(await rows.count(), s.budgets.length);
  for (let i = 0; i < s.budgets.length; i++) {
    const b = s.budgets[i];
    const cells = (await rows.nth(i).locator('th, td').allInnerTexts()).map((c) => c.trim());
    assert.equal(cells[0], b.scope === 'pilot' ? `Pilot ${b.pilot_id}` : 'Organisation');
    assert.deepEqual(cells.slice(2, 5).map(noCommas), [money(b.current.budget), money(b.current.spent), money(b.current.remaining)]);
    assert.equal(cells[5], pctOf4dp(b.current.burn_ratio));
    // The status is words, not a colour: over budget exactly when remaining < 0.
    assert.equal(cells[6], Number(b.current.remaining.amount) < 0 ? 'Over budget' : 'Within budget');
  }
  await done(page, errors);
});

test('operator: sees the researcher view', async () => {
  const { page, errors } = await signInByLink('operator');
  assert.deepEqual(await tabNames(page), ['Zero-impact rate', 'Gap projection']);
  await page.waitForSelector('#res-trend');
  const r = await api('operator', '/v1/aggregates/zero-impact-rate?by=function');
  const published = r.cells.filter((c) => c.dimension === 'all' && !c.suppressed);
  const latest = published[published.length - 1];
  assert.equal(await text(page, '#res-trend [data-figure=latest_share] .figure-value'), pct(latest.org_zero_return_share.estimate));
  await shot(page, 'operator');
  await done(page, errors);
});

test('projection: defaults with sources, gap_closes_in per scenario and bands equal POST /v1/projections/gap', async () => {
  const { page, errors } = await signInByLink('finance');
  await openTab(page, 'Gap projection');
  await page.waitForSelector('#proj-scenarios');
  const d = await api('finance', '/v1/projections/gap', { method: 'POST', body: '{}' });
  const closes = (s) => (s.gap_closes_in == null ? 'not within horizon' : String(s.gap_closes_in));
  const check = async (resp) => {
    for (const s of resp.scenarios) {
      assert.equal(await text(page, `#proj-scenarios tr[data-scenario=${s.name}] td.closes`), closes(s), s.name);
    }
    assert.equal(await page.locator('figure[data-chart=gap] svg path.line').count(), resp.scenarios.length);
  };
  await check(d);
  // Issue 22: a fan chart per scenario, capital intensity against benchmarks and a tornado,
  // each with its table; the warnings as text.
  for (const s of d.scenarios) {
    assert.equal(await page.locator(`figure[data-chart=fan-${s.name}] details table tbody tr`).count(), s.years.length, s.name);
  }
  assert.equal(await page.locator('figure[data-chart=intensity] details table tbody tr').count(), d.scenarios[0].years.length);
  assert.equal(await page.locator('figure[data-chart=tornado] details table tbody tr').count(), d.sensitivity.bars.length);
  assert.equal(await page.locator('figure[data-chart=tornado] svg rect.bar').count(), 2 * d.sensitivity.bars.length);
  // (textContent: the table sits in a closed <details>, which innerText does not read.)
  const firstBar = await page.locator('figure[data-chart=tornado] details table tbody tr:first-child th').first().textContent();
  assert.equal(firstBar.trim(), d.sensitivity.bars[0].parameter.replace(/_/g, ' '));
  assert.equal(await page.locator('.proj-warnings li').count(), d.warnings.length);
  // Defaults and their sources are in the form.
  assert.equal(await page.inputValue('#proj-start_year'), String(d.parameters.start_year));
  assert.equal(await page.inputValue('#proj-gross_margin'), String(d.parameters.gross_margin));
  assert.ok((await text(page, '#proj-spend_usd_bn-help')).includes(d.defaults_sources.spend_usd_bn));
  assert.ok(await page.locator('#proj-sr-fixed').isChecked());
  await shot(page, 'projection');

  // A fixed success rate of 10%.
  await page.fill('#proj-sr-value', '0.1');
  await Promise.all([page.waitForResponse((r) => r.url().includes('/v1/projections/gap')), page.click('#proj-run')]);
  await waitIdle(page, '#proj-results');
  await check(await api('finance', '/v1/projections/gap', { method: 'POST', body: JSON.stringify({ success_rate: { source: 'fixed', value: 0.1 } }) }));

  // The measured success rate: bands come back and are drawn.
  await page.check('#proj-sr-measured');
  await Promise.all([page.waitForResponse((r) => r.url().includes('/v1/projections/gap')), page.click('#proj-run')]);
  await waitIdle(page, '#proj-results');
  const m = await api('finance', '/v1/projections/gap', { method: 'POST', body: JSON.stringify({ success_rate: { source: 'measured' } }) });
  await check(m);
  if (m.scenarios.some((s) => s.years.some((y) => y.bands))) {
    assert.ok(await page.locator('figure[data-chart=gap] svg polygon.band').count() > 0, 'bands drawn');
  }
  await shot(page, 'projection-measured');

  // Monte Carlo percentile bands.
  await page.check('#proj-mc');
  await Promise.all([page.waitForResponse((r) => r.url().includes('/v1/projections/gap')), page.click('#proj-run')]);
  await waitIdle(page, '#proj-results');
  await check(await api('finance', '/v1/projections/gap', { method: 'POST', body: JSON.stringify({ success_rate: { source: 'measured' }, monte_carlo: { draws: 1000, seed: 42 } }) }));

  const csv = await downloadFirstLine(page, 'Projection (CSV)');
  assert.ok(csv.first.startsWith('scenario,year,spend_usd_bn,required_revenue_usd_bn'), csv.first);
  await done(page, errors);
});

test('keyboard: Tab reaches the tabs, arrow keys switch views, focus is visible', async () => {
  const { page, errors } = await signInByLink('finance');
  await page.waitForSelector('#fin-headline');
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  let onTab = false;
  for (let i = 0; i < 12 && !onTab; i++) {
    await page.keyboard.press('Tab');
    onTab = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('role') === 'tab');
  }
  assert.ok(onTab, 'Tab reaches the tab list');
  const focused = () => page.evaluate(() => document.activeElement.textContent);
  assert.equal(await focused(), 'Finance');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused tab shows a focus ring');
  await page.keyboard.press('ArrowRight');
  assert.equal(await focused(), 'Pilots');
  assert.equal(await page.getAttribute('#tab-pilots', 'aria-selected'), 'true');
  assert.ok(await page.isVisible('#panel-pilots'));
  assert.ok(await page.isHidden('#panel-finance'));
  await page.keyboard.press('End');
  assert.equal(await focused(), 'Gap projection');
  await page.keyboard.press('Home');
  assert.equal(await focused(), 'Finance');
  // Only the selected tab is in the Tab order; Tab moves on into the panel.
  assert.equal(await page.locator('#tabs [role=tab][tabindex="0"]').count(), 1);
  await done(page, errors);
});

test('accessibility: every control has a label, every chart a title and description', async () => {
  for (const role of ['finance', 'researcher']) {
    const { page, errors } = await signInByLink(role);
    for (const name of await tabNames(page)) {
      await openTab(page, name);
      await page.waitForFunction(() => {
        const p = document.querySelector('#panels [role=tabpanel]:not([hidden])');
        return p && p.querySelector('.status') && !/Loading|Projecting/.test(p.querySelector('.status').textContent);
      });
      const unlabelled = await page.evaluate(() => [...document.querySelectorAll('#panels [role=tabpanel]:not([hidden]) :is(input, select, textarea)')]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
        .map((el) => el.id || el.outerHTML.slice(0, 80)));
      assert.deepEqual(unlabelled, [], `${role}/${name}: unlabelled controls`);
      // Charts (legend and table keys are decorative SVGs, aria-hidden).
      const charts = await page.evaluate(() => [...document.querySelectorAll('#panels [role=tabpanel]:not([hidden]) svg.chart-svg')]
        .map((svg) => ({ role: svg.getAttribute('role'), title: !!svg.querySelector(':scope > title')?.textContent, desc: !!svg.querySelector(':scope > desc')?.textContent, labelled: !!svg.getAttribute('aria-labelledby') })));
      for (const c of charts) assert.deepEqual(c, { role: 'img', title: true, desc: true, labelled: true });
    }
    await done(page, errors);
  }
});

test('phone width 360 px: no horizontal overflow in any view', async () => {
  const seen = [];
  for (const role of ['finance', 'researcher']) {
    const { page, errors } = await signInByLink(role, { width: 360, height: 780 });
    for (const name of await tabNames(page)) {
      await openTab(page, name);
      await page.waitForFunction(() => {
        const p = document.querySelector('#panels [role=tabpanel]:not([hidden])');
        return p && p.querySelector('.status') && !/Loading|Projecting/.test(p.querySelector('.status').textContent) && !p.querySelector('[aria-busy=true]');
      });
      if (name === 'Pilots') {
        await page.locator('#pilots-table tbody th button').first().click();
        await page.waitForSelector('#drill-figures');
      }
      await page.waitForTimeout(150); // charts redraw at the new width
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 360, `${role}/${name}: scrollWidth ${width} > 360`);
      const slug = name.toLowerCase().replace(/[^a-z]+/g, '-');
      await shot(page, `phone-${role}-${slug}`);
      seen.push(`${role}/${name}`);
    }
    await done(page, errors);
  }
  assert.equal(seen.length, 5);
});
