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
  assert.deepEqual(errors, [], 'no console errors or page errors');
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
