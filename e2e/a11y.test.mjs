// Accessibility review of the dashboard, as a reviewer would run it (issue 29):
// axe-core over every view × every role × light/dark × 1280/320 px, with the
// data tables opened and one error state per form; keyboard walks that must
// keep focus; series that differ in more than hue; chart geometry inside the
// viewBox; labels that never overlap. One browser, one context per role,
// pages reused across colour schemes and widths. run.sh sets the environment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const BASE = must('BASE_URL');
const TOKENS = Object.fromEntries(['finance', 'member', 'admin', 'researcher', 'operator'].map((r) => [r, must(`TOKEN_${r.toUpperCase()}`)]));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SCHEMES = ['light', 'dark'];
const WIDTHS = [1280, 320];

function must(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run the tests through e2e/run.sh`);
  return v;
}

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
});
after(async () => {
  await browser?.close();
});

// ------------------------------------------------------------------ helpers

async function newPage(width = 1280) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme: 'light', acceptDownloads: true, bypassCSP: true });
  // bypassCSP: the page's CSP allows only its own scripts, and axe is injected by the test.
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return { page, errors, close: () => context.close() };
}

async function signIn(role, width) {
  const p = await newPage(width);
  await p.page.goto(`${BASE}/#token=${TOKENS[role]}`);
  await p.page.waitForSelector('#tabs [role=tab][aria-selected=true]');
  return p;
}

const tabNames = (page) => page.locator('#tabs [role=tab]').allInnerTexts();

async function openTab(page, name) {
  await page.getByRole('tab', { name }).click();
  await page.waitForSelector(`#tabs [role=tab][aria-selected=true]:has-text("${name}")`);
  await settle(page);
}

/** Waits until the shown panel has loaded (status line final, nothing busy) and charts are drawn. */
async function settle(page) {
  await page.waitForFunction(() => {
    const p = document.querySelector('#panels [role=tabpanel]:not([hidden])');
    return p && p.querySelector('.status') && !/Loading|Projecting/.test(p.querySelector('.status').textContent)
      && !p.querySelector('[aria-busy=true]') && [...p.querySelectorAll('.chart')].every((c) => c.querySelector('svg'));
  });
  await frames(page);
}

/** Two animation frames and a short pause: ResizeObserver redraws and rAF draws have run. */
async function frames(page) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 60)))));
}

async function openDetails(page) {
  await page.evaluate(() => { for (const d of document.querySelectorAll('main details')) d.open = true; });
  await frames(page);
}

async function axe(page) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.addScriptTag({ path: AXE });
  return page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  }, AXE_TAGS);
}

/** Every coordinate of every chart outside its viewBox, as text (empty when all are inside). */
function outsideViewBox(page) {
  return page.evaluate(() => {
    const bad = [];
    const nums = (s) => (String(s).match(/-?\d*\.?\d+(?:e[-+]?\d+)?/gi) || []).map(Number);
    for (const svg of document.querySelectorAll('svg.chart-svg')) {
      const [, , W, H] = svg.getAttribute('viewBox').split(/\s+/).map(Number);
      const okX = (v) => Number.isFinite(v) && v >= -0.5 && v <= W + 0.5;
      const okY = (v) => Number.isFinite(v) && v >= -0.5 && v <= H + 0.5;
      const chart = svg.closest('figure')?.dataset.chart;
      for (const el of svg.querySelectorAll('*')) {
        const a = (n) => el.getAttribute(n);
        const check = (name, v, ok) => { if (a(name) != null && !ok(v)) bad.push(`${chart} <${el.tagName} ${name}=${a(name)}>`); };
        for (const n of ['x', 'x1', 'x2', 'cx']) check(n, Number(a(n)), okX);
        for (const n of ['y', 'y1', 'y2', 'cy']) check(n, Number(a(n)), okY);
        if (a('x') != null && a('width') != null) check('width', Number(a('x')) + Number(a('width')), okX);
        if (a('y') != null && a('height') != null) check('height', Number(a('y')) + Number(a('height')), okY);
        const pts = el.tagName === 'polygon' || el.tagName === 'polyline' ? nums(a('points'))
          : el.tagName === 'path' ? nums(a('d')) : [];
        for (let i = 0; i + 1 < pts.length; i += 2) {
          if (!okX(pts[i]) || !okY(pts[i + 1])) { bad.push(`${chart} <${el.tagName}> point ${pts[i]},${pts[i + 1]}`); break; }
        }
      }
    }
    return bad.slice(0, 10);
  });
}

/** Pairs of chart labels whose boxes overlap, and labels that stick out of their chart. */
function overlappingLabels(page) {
  return page.evaluate(() => {
    const bad = [];
    for (const svg of document.querySelectorAll('#panels [role=tabpanel]:not([hidden]) svg.chart-svg')) {
      const chart = svg.closest('figure')?.dataset.chart;
      const box = svg.getBoundingClientRect();
      const texts = [...svg.querySelectorAll('text')].filter((t) => t.textContent.trim()).map((t) => ({ t: t.textContent, r: t.getBoundingClientRect() }));
      for (const { t, r } of texts) {
        if (r.left < box.left - 1 || r.right > box.right + 1) bad.push(`${chart}: "${t}" outside the chart`);
      }
      for (let i = 0; i < texts.length; i++) {
        for (let j = i + 1; j < texts.length; j++) {
          const a = texts[i].r;
          const b = texts[j].r;
          const ox = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          const oy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
          if (ox > 1 && oy > 1) bad.push(`${chart}: "${texts[i].t}" overlaps "${texts[j].t}"`);
        }
      }
    }
    return bad;
  });
}

/**
 * Runs axe (and the geometry checks) on the current page state in both colour
 * schemes and both widths; returns every finding labelled with the state.
 */
async function review(page, label) {
  const found = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      await frames(page);
      await openDetails(page);
      const where = `${label} [${scheme}, ${width}px]`;
      for (const v of await axe(page)) found.push({ where, ...v });
      const outside = await outsideViewBox(page);
      if (outside.length) found.push({ where, id: 'chart-coordinates-outside-viewbox', impact: 'serious', help: 'chart geometry is clamped to the plotting area', nodes: outside.map((t) => ({ target: t, summary: '' })) });
      const overlaps = await overlappingLabels(page);
      if (overlaps.length) found.push({ where, id: 'chart-labels-overlap', impact: 'serious', help: 'chart labels never overlap', nodes: overlaps.map((t) => ({ target: t, summary: '' })) });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 900 });
  return found;
}

function report(findings) {
  if (!findings.length) return;
  const byRule = new Map();
  for (const f of findings) byRule.set(f.id, (byRule.get(f.id) || 0) + 1);
  const lines = [`${findings.length} violations in ${new Set(findings.map((f) => f.where)).size} page states; by rule: ${[...byRule].map(([k, n]) => `${k} ×${n}`).join(', ')}`];
  for (const f of findings) {
    lines.push(`- ${f.where}: ${f.id} (${f.impact}) ${f.help}`);
    for (const n of f.nodes.slice(0, 4)) lines.push(`    ${n.target}${n.summary ? `\n      ${n.summary.replace(/\n/g, '\n      ')}` : ''}`);
    if (f.nodes.length > 4) lines.push(`    … and ${f.nodes.length - 4} more`);
  }
  return lines.join('\n');
}

/** Reviews every view a role sees; `extra` adds states (error states, other settings) per view name. */
async function reviewRole(role, extra = {}) {
  const { page, errors, close } = await signIn(role);
  const findings = [];
  try {
    for (const name of await tabNames(page)) {
      await openTab(page, name);
      if (name === 'Pilots') {
        await page.locator('#pilots-table tbody th button').first().click();
        await page.waitForSelector('#drill-figures');
        await settle(page);
      }
      findings.push(...await review(page, `${role} / ${name}`));
      for (const [label, prepare] of extra[name] || []) {
        await prepare(page);
        findings.push(...await review(page, `${role} / ${name} / ${label}`));
      }
    }
  } catch (e) {
    findings.push({ where: `${role}`, id: 'review-aborted', impact: 'critical', help: e.message.split('\n')[0], nodes: [] });
  }
  await close();
  assert.equal(report(findings), undefined, `axe and chart checks for ${role}`);
  // The error states provoke a 400 that Chromium logs itself; that one is expected.
  assert.deepEqual(errors.filter((e) => !/status of 400 \(Bad Request\)/.test(e)), [], 'no console errors or page errors');
}

// Error states, one per form.
const projectionError = ['projection error', async (page) => {
  await page.fill('#proj-horizon_years', '99');
  await page.fill('#proj-spend_usd_bn', '2026 800');
  await page.click('#proj-run');
  await page.waitForSelector('#proj-form [aria-invalid=true], #panel-projection .alert:not([hidden])');
  await frames(page);
}];
const projectionMeasured = ['measured success rate', async (page) => {
  await page.getByRole('button', { name: 'Reset to defaults' }).click();
  await settle(page);
  await page.check('#proj-sr-measured');
  await page.click('#proj-run');
  await page.waitForSelector('#proj-status:not(:has-text("Projecting"))');
  await settle(page);
}];
const financeError = ['period error', async (page) => {
  await page.fill('#fin-from', '2026-06-30');
  await page.fill('#fin-to', '2025-01-01');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForSelector('#panel-finance [aria-invalid=true], #panel-finance .alert:not([hidden])');
  await frames(page);
}];
const researchError = ['quarter error', async (page) => {
  await page.fill('#res-from', '2024Q5');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForSelector('#panel-research [aria-invalid=true], #panel-research .alert:not([hidden])', { timeout: 3000 });
  await frames(page);
}];

// -------------------------------------------------------------------- tests

test('axe: sign-in, empty and with an error', async () => {
  const { page, errors, close } = await newPage();
  await page.goto(BASE + '/');
  await page.waitForSelector('#signin:not([hidden])');
  const findings = await review(page, 'sign-in');
  await page.fill('#token-input', 'not-a-token');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#signin-alert:not([hidden])');
  findings.push(...await review(page, 'sign-in / error'));
  assert.equal(await page.getAttribute('#token-input', 'aria-invalid'), 'true', 'the refused token field is marked invalid');
  await close();
  assert.equal(report(findings), undefined);
  assert.deepEqual(errors, []);
});

test('axe: finance, every view (with the period error and the measured projection)', () => reviewRole('finance', {
  Finance: [financeError], 'Gap projection': [projectionMeasured, projectionError],
}));
test('axe: admin, every view', () => reviewRole('admin'));
test('axe: member, every view (with the projection error)', () => reviewRole('member', { 'Gap projection': [projectionError] }));
test('axe: researcher, every view (with the quarter error and the measured projection)', () => reviewRole('researcher', {
  'Zero-impact rate': [researchError], 'Gap projection': [projectionMeasured],
}));
test('axe: operator, every view', () => reviewRole('operator'));

// ------------------------------------------------------- keyboard and focus

const activeId = (page) => page.evaluate(() => document.activeElement && document.activeElement.id);

test('keyboard: paging to the last page and back keeps focus on the pager', async () => {
  const { page, errors, close } = await signIn('member');
  await settle(page);
  await page.selectOption('#pilots-limit', '10');
  await page.waitForSelector('#pilots-status:has-text("Showing pilots 1–10")');
  const pages = Math.ceil((await fetch(`${BASE}/v1/pilots?limit=500`, { headers: { Authorization: `Bearer ${TOKENS.member}` } }).then((r) => r.json())).items.length / 10);
  assert.ok(pages >= 2, 'the seeded organisation has more than one page of pilots');
  await page.focus('#pilots-next');
  for (let p = 2; p <= pages; p++) {
    await page.keyboard.press('Enter');
    await page.waitForSelector(`#pilots-table caption:has-text("page ${p}.")`);
    await settle(page);
    assert.equal(await activeId(page), 'pilots-next', `focus stays on Next after moving to page ${p}`);
  }
  assert.equal(await page.getAttribute('#pilots-next', 'aria-disabled'), 'true', 'on the last page Next is announced as unavailable');
  // Pressing it again does nothing and keeps focus.
  await page.keyboard.press('Enter');
  await frames(page);
  assert.equal(await activeId(page), 'pilots-next');
  assert.match(await page.locator('#pilots-table caption').innerText(), new RegExp(`page ${pages}\\.`));
  // Shift+Tab reaches Previous (the page counter is not focusable); page back to the first page.
  await page.keyboard.press('Shift+Tab');
  assert.equal(await activeId(page), 'pilots-prev');
  for (let p = pages - 1; p >= 1; p--) {
    await page.keyboard.press('Enter');
    await page.waitForSelector(`#pilots-table caption:has-text("page ${p}.")`);
    await settle(page);
    assert.equal(await activeId(page), 'pilots-prev', `focus stays on Previous after moving to page ${p}`);
  }
  assert.equal(await page.getAttribute('#pilots-prev', 'aria-disabled'), 'true');
  await close();
  assert.deepEqual(errors, []);
});

test('keyboard: a download keeps focus on its button and reports its progress', async () => {
  const { page, errors, close } = await signIn('finance');
  await settle(page);
  const button = page.getByRole('button', { name: 'Summary by quarter (CSV)' });
  await button.focus();
  const marked = () => page.evaluate(() => document.activeElement.textContent);
  // Slow the download down so the check happens while it runs.
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route('**/v1/summary?*format=csv*', async (route) => { await held; await route.continue(); });
  await page.keyboard.press('Enter');
  await page.waitForSelector('.download-status:has-text("Preparing")');
  assert.equal(await marked(), 'Summary by quarter (CSV)', 'focus is on the button while downloading');
  assert.equal(await button.isEnabled(), true, 'the button is not disabled under focus');
  const [download] = await Promise.all([page.waitForEvent('download'), release()]);
  assert.ok(download.suggestedFilename().endsWith('.csv'));
  await page.waitForSelector('.download-status:has-text("Downloaded")');
  assert.equal(await marked(), 'Summary by quarter (CSV)', 'focus is on the button after the download');
  await close();
  assert.deepEqual(errors, []);
});

test('errors: a projection error moves focus to the first invalid field, tied to its message', async () => {
  const { page, errors, close } = await signIn('member');
  await openTab(page, 'Gap projection');
  await page.fill('#proj-horizon_years', '99');
  await page.fill('#proj-spend_usd_bn', '2026 800');
  const requests = [];
  page.on('request', (r) => { if (r.url().includes('/v1/projections/gap')) requests.push(r.url()); });
  await page.focus('#proj-run');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#proj-horizon_years[aria-invalid=true]');
  assert.equal(await activeId(page), 'proj-horizon_years', 'focus moves to the first invalid field');
  assert.equal(await page.getAttribute('#proj-spend_usd_bn', 'aria-invalid'), 'true', 'every invalid field is marked');
  assert.deepEqual(requests, [], 'nothing is sent while a field is invalid');
  for (const id of ['proj-horizon_years', 'proj-spend_usd_bn']) {
    const described = await page.evaluate((el) => (document.getElementById(el).getAttribute('aria-describedby') || '').split(/\s+/)
      .map((x) => document.getElementById(x)?.textContent || '').join(' '), id);
    assert.match(described, /Error: /, `${id} is described by its error`);
    assert.match(described, /Format: /, `${id} is described by its format`);
  }
  const inView = await page.evaluate(() => {
    const r = document.activeElement.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= innerHeight;
  });
  assert.ok(inView, 'the focused field is scrolled into view');
  // A server-side error on a field lands on that field too: a start year the API refuses.
  await page.fill('#proj-horizon_years', '10');
  await page.fill('#proj-spend_usd_bn', (await page.inputValue('#proj-spend_usd_bn')).replace('2026 800', '2026: 800'));
  await page.getByRole('button', { name: 'Reset to defaults' }).click();
  await settle(page);
  await page.fill('#proj-start_year', '1200');
  await page.click('#proj-run');
  await page.waitForSelector('#proj-form [aria-invalid=true], #panel-projection .alert:not([hidden])');
  const where = await page.evaluate(() => ({ active: document.activeElement.id, invalid: [...document.querySelectorAll('#proj-form [aria-invalid=true]')].map((e) => e.id) }));
  assert.ok(where.invalid.length === 0 || where.active === where.invalid[0], `focus follows the invalid field (${JSON.stringify(where)})`);
  assert.ok(where.invalid.length > 0 || where.active === '' || where.active === undefined || (await page.locator('#panel-projection .alert:focus').count()) === 1, 'an error without a field focuses the alert');
  await close();
  assert.deepEqual(errors.filter((e) => !/status of 4\d\d/.test(e)), []);
});

test('errors: a wrong research quarter is explained next to the field, with the expected format', async () => {
  const { page, errors, close } = await signIn('researcher');
  await settle(page);
  assert.match(await page.locator('#res-from-help').innerText(), /YYYYQn/, 'the format is written next to the field, not only as a placeholder');
  await page.fill('#res-from', '2024Q5');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForSelector('#res-from[aria-invalid=true]');
  assert.equal(await activeId(page), 'res-from');
  assert.match(await page.locator('#res-from-error').innerText(), /YYYYQn/);
  assert.match(await page.getAttribute('#res-from', 'aria-describedby'), /res-from-error/);
  // Corrected, the error goes away and the aggregates load.
  await page.fill('#res-from', '2024Q1');
  await Promise.all([page.waitForResponse((r) => r.url().includes('from=2024Q1')), page.getByRole('button', { name: 'Apply' }).click()]);
  await settle(page);
  assert.equal(await page.locator('#res-from[aria-invalid]').count(), 0);
  assert.equal(await page.locator('#res-from-error').count(), 0);
  await close();
  assert.deepEqual(errors, []);
});

// ------------------------------------------------- colour, charts, geometry

/** Per chart: series name → how it looks apart from hue (dash, marker shape, fill kind). */
function seriesLooks(page) {
  return page.evaluate(() => {
    const out = {};
    for (const fig of document.querySelectorAll('#panels [role=tabpanel]:not([hidden]) figure[data-chart]')) {
      const looks = {};
      const add = (name, part) => { (looks[name] = looks[name] || new Set()).add(part); };
      for (const el of fig.querySelectorAll('svg.chart-svg [data-series]')) {
        const cs = getComputedStyle(el);
        if (el.matches('path.line')) add(el.dataset.series, `dash:${cs.strokeDasharray}`);
        else if (el.matches('rect.bar')) add(el.dataset.series, `fill:${cs.fill.startsWith('url(') ? 'pattern' : 'solid'}`);
        else if (el.dataset.shape) add(el.dataset.series, `marker:${el.dataset.shape}`);
      }
      const keys = [...fig.querySelectorAll('.legend li')].map((li) => {
        const svg = li.querySelector('svg.key');
        const line = svg && svg.querySelector('.key-line');
        const bar = svg && svg.querySelector('.key-bar');
        const mark = svg && svg.querySelector('[data-shape]');
        return { name: li.textContent.trim(), look: [line && `dash:${getComputedStyle(line).strokeDasharray}`, mark && `marker:${mark.dataset.shape}`, bar && `fill:${getComputedStyle(bar).fill.startsWith('url(') ? 'pattern' : 'solid'}`].filter(Boolean).join(' ') };
      });
      const labelled = [...fig.querySelectorAll('svg.chart-svg rect.bar')].length > 0 && fig.querySelectorAll('svg.chart-svg .bar-label').length > 0;
      out[fig.dataset.chart] = { series: Object.fromEntries(Object.entries(looks).map(([k, v]) => [k, [...v].sort().join(' ')])), keys, labelled };
    }
    return out;
  });
}

function assertDistinct(chart, looks) {
  const names = Object.keys(looks.series);
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      assert.notEqual(looks.series[names[i]], looks.series[names[j]], `${chart}: "${names[i]}" and "${names[j]}" differ in more than hue`);
    }
  }
  for (let i = 0; i < looks.keys.length; i++) {
    assert.ok(looks.keys[i].look, `${chart}: legend key for "${looks.keys[i].name}" has a pattern`);
    for (let j = i + 1; j < looks.keys.length; j++) {
      assert.notEqual(looks.keys[i].look, looks.keys[j].look, `${chart}: legend keys "${looks.keys[i].name}" and "${looks.keys[j].name}" differ in more than hue`);
    }
  }
}

/** In forced colours every legend key still draws something visible against the page. */
async function assertKeysSurviveForcedColours(page, chart) {
  await page.emulateMedia({ forcedColors: 'active' });
  await frames(page);
  const keys = await page.evaluate((c) => [...document.querySelectorAll(`figure[data-chart="${c}"] svg.key`)].map((svg) => {
    const r = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll('line, rect, circle, polygon')].filter((el) => !el.closest('pattern'));
    const visible = marks.some((el) => {
      const cs = getComputedStyle(el);
      const paint = [cs.stroke, cs.fill].filter((p) => p && p !== 'none' && !/rgba\(.*,\s*0\)$/.test(p));
      return paint.length > 0 && Number(cs.opacity) > 0;
    });
    return { w: r.width, h: r.height, visible };
  }), chart);
  await page.emulateMedia({ forcedColors: 'none' });
  assert.ok(keys.length > 0, `${chart}: has legend or table keys`);
  for (const k of keys) assert.ok(k.w > 0 && k.h > 0 && k.visible, `${chart}: a key vanishes in forced colours (${JSON.stringify(k)})`);
}

test('colour: every chart tells its series apart by pattern or label, in greyscale and in forced colours', async () => {
  const { page, errors, close } = await signIn('finance');
  await settle(page);
  let looks = await seriesLooks(page);
  assert.deepEqual(Object.keys(looks.quarter.series).sort(), ['Measured impact', 'Spend']);
  assertDistinct('quarter', looks.quarter);
  await assertKeysSurviveForcedColours(page, 'quarter');
  // One series; each bar carries its name and value as text.
  assert.ok(looks.function.labelled, 'function: bars labelled directly');
  await page.screenshot({ path: path.join(HERE, 'screenshots', 'greyscale-finance.png'), fullPage: true, style: 'html { filter: grayscale(1); }' });

  await openTab(page, 'Pilots');
  await page.locator('#pilots-table tbody th button').first().click();
  await page.waitForSelector('#drill-figures');
  await settle(page);
  looks = await seriesLooks(page);
  assert.equal(Object.keys(looks['pilot-roi'].series).length, 2);
  assertDistinct('pilot-roi', looks['pilot-roi']);
  await assertKeysSurviveForcedColours(page, 'pilot-roi');

  await openTab(page, 'Gap projection');
  looks = await seriesLooks(page);
  assert.equal(Object.keys(looks.gap.series).length, 3);
  assertDistinct('gap', looks.gap);
  await assertKeysSurviveForcedColours(page, 'gap');
  // The scenario table uses the chart's keys: same dash and marker per scenario.
  const tableKeys = await page.evaluate(() => [...document.querySelectorAll('#proj-scenarios tbody tr')].map((tr) => {
    const line = tr.querySelector('svg.key .key-line');
    return `${tr.dataset.scenario}:${getComputedStyle(line).strokeDasharray}:${tr.querySelector('svg.key [data-shape]').dataset.shape}`;
  }));
  assert.equal(new Set(tableKeys.map((k) => k.split(':').slice(1).join(':'))).size, tableKeys.length, `scenario table keys differ: ${tableKeys}`);
  await close();

  const r = await signIn('researcher');
  await settle(r.page);
  looks = await seriesLooks(r.page);
  assert.equal(Object.keys(looks.rates.series).length, 4, 'three rates and the trend');
  assertDistinct('rates', looks.rates);
  await assertKeysSurviveForcedColours(r.page, 'rates');
  // Interval bands have an edge, not only a faint fill.
  const edges = await r.page.evaluate(() => [...document.querySelectorAll('figure[data-chart=rates] .band')].map((b) => getComputedStyle(b)).map((cs) => cs.stroke !== 'none' && parseFloat(cs.strokeWidth) > 0));
  assert.ok(edges.length > 0 && edges.every(Boolean), 'every interval band has a visible edge');
  await r.page.screenshot({ path: path.join(HERE, 'screenshots', 'greyscale-research.png'), fullPage: true, style: 'html { filter: grayscale(1); }' });
  await r.close();
  assert.deepEqual([...errors, ...r.errors], []);
});

test('geometry: the measured-source projection renders every SVG coordinate inside its viewBox', async () => {
  const { page, errors, close } = await signIn('researcher');
  await openTab(page, 'Gap projection');
  await page.check('#proj-sr-measured');
  // Since issue 22 revenue saturates at a ceiling and its growth is capped, so
  // the defaults no longer run away; a far ceiling and a loose cap bring back
  // the deep surplus this test is about.
  await page.fill('#proj-revenue_ceiling_usd_bn', '1000000');
  await page.fill('#proj-max_revenue_growth', '10');
  await page.click('#proj-run');
  await page.waitForSelector('#proj-status:has-text("Projected")');
  await settle(page);
  const body = { success_rate: { source: 'measured' }, max_revenue_growth: 10, revenue_ceiling_usd_bn: 1000000 };
  const resp = await fetch(`${BASE}/v1/projections/gap`, { method: 'POST', headers: { Authorization: `Bearer ${TOKENS.researcher}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then((x) => x.json());
  const gaps = resp.scenarios.flatMap((s) => s.years.map((y) => y.gap_usd_bn));
  assert.ok(Math.min(...gaps) < -10 * Math.max(...gaps), 'this projection runs far below the axis (the case that crashed axe)');
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await frames(page);
    assert.deepEqual(await outsideViewBox(page), [], `every coordinate inside the viewBox at ${width} px`);
    assert.ok(await page.locator('figure[data-chart=gap] svg path.line').count() === resp.scenarios.length);
  }
  // Without the axis cut-off the chart still holds every mark inside.
  if (await page.locator('#proj-zoom').count()) {
    await page.uncheck('#proj-zoom');
    await frames(page);
    assert.deepEqual(await outsideViewBox(page), []);
  }
  await close();
  assert.deepEqual(errors, []);
});

// ------------------------------------------------------- reflow and reading

test('reflow at 320 px: nothing lost, sorting reachable, no sideways scrolling', async () => {
  const { page, errors, close } = await signIn('finance', 320);
  await settle(page);
  await openTab(page, 'Pilots');
  const first = page.locator('#pilots-table tbody tr').first();
  for (const label of ['Business function', 'Stage', 'Sourcing', 'AI kind', 'Started', 'Evaluated']) {
    const cell = first.locator(`td[data-label="${label}"]`);
    assert.ok(await cell.isVisible(), `${label} is shown at 320 px`);
    const box = await cell.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 320 + 0.5, `${label} is inside the page`);
  }
  for (const key of ['name', 'business_function', 'stage', 'sourcing', 'ai_kind', 'started_on', 'evaluated_on']) {
    assert.ok(await page.locator(`button[data-sort="${key}"]`).isVisible(), `sorting by ${key} is reachable`);
  }
  await page.locator('button[data-sort="started_on"]').click();
  assert.equal(await page.getAttribute('th:has(button[data-sort="started_on"])', 'aria-sort'), 'ascending');
  for (const name of ['Finance', 'Pilots', 'Gap projection']) {
    await openTab(page, name);
    await openDetails(page);
    const cut = await page.evaluate(() => [...document.querySelectorAll('#panels [role=tabpanel]:not([hidden]) caption')]
      .filter((c) => c.getClientRects().length).map((c) => [c.textContent.slice(0, 40), c.getBoundingClientRect().right]).filter(([, right]) => right > 320.5));
    assert.deepEqual(cut, [], `${name}: captions fit at 320 px`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 320, `${name}: no sideways scrolling`);
  }
  await close();
  assert.deepEqual(errors, []);
});

test('reading: a title per view, rem sizes from the reader\'s default, short live regions, charts described once, named radio group', async () => {
  const { page, errors, close } = await signIn('finance');
  await settle(page);
  const titles = [];
  for (const name of await tabNames(page)) {
    await openTab(page, name);
    const t = await page.title();
    assert.ok(t.startsWith(name), `title "${t}" names the view ${name}`);
    titles.push(t);
  }
  assert.equal(new Set(titles).size, titles.length, 'titles differ per view');

  // Live regions and status lines carry a short sentence, never a whole view.
  await openTab(page, 'Finance');
  await page.setViewportSize({ width: 700, height: 900 });
  await frames(page);
  const live = await page.evaluate(() => [...document.querySelectorAll('[aria-live], [role=status], [role=log]')]
    .map((el) => [el.id || el.className, el.textContent.length]).filter(([, n]) => n > 200));
  assert.deepEqual(live, [], 'live regions announce less than 200 characters');
  await page.setViewportSize({ width: 1280, height: 900 });

  // Each chart: named by its title alone; its <desc> is the description (read once).
  const charts = await page.evaluate(() => [...document.querySelectorAll('svg.chart-svg')].map((svg) => {
    const ids = (svg.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean);
    return { ids: ids.length, title: ids.every((id) => document.getElementById(id)?.tagName === 'title') };
  }));
  assert.ok(charts.length > 0);
  for (const c of charts) assert.deepEqual(c, { ids: 1, title: true });

  await openTab(page, 'Gap projection');
  assert.equal(await page.getByRole('radiogroup', { name: 'Pilot success rate' }).count(), 1, 'the success-rate radio group has a name');

  // Font sizes follow the reader's default: set Chromium's default to 24 px.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Page.setFontSizes', { fontSizes: { standard: 24 } });
  await openTab(page, 'Finance');
  await page.setViewportSize({ width: 1279, height: 900 });
  await frames(page);
  const sizes = await page.evaluate(() => ({
    root: getComputedStyle(document.documentElement).fontSize,
    tick: getComputedStyle(document.querySelector('svg.chart-svg .tick')).fontSize,
    table: getComputedStyle(document.querySelector('table.data')).fontSize,
  }));
  assert.equal(sizes.root, '24px', 'the root font size is the reader\'s default');
  assert.ok(parseFloat(sizes.tick) > 16 && parseFloat(sizes.table) > 20, `chart and table text scale with it (${JSON.stringify(sizes)})`);
  assert.deepEqual(await overlappingLabels(page), [], 'chart labels do not overlap at a 24 px default font');
  await close();
  assert.deepEqual(errors, []);
});
