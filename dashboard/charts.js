// SVG charts drawn by hand: a figure (caption, legend, data table) that
// redraws at its container's width, and the line, grouped-bar and
// horizontal-bar charts. Every chart has a title and description for
// assistive technology.
import { h, nextId, s, SVGNS } from './dom.js';

// Charts are drawn at the width of their container and redrawn when it
// changes, so text stays legible from phone to laptop widths.
const resizer = new ResizeObserver((entries) => {
  for (const e of entries) {
    const host = e.target;
    const w = Math.round(e.contentRect.width);
    if (host.chartSpec && w > 0 && Math.abs(w - (host.drawnWidth || 0)) > 4) drawChart(host);
  }
});

function drawChart(host) {
  const width = Math.max(260, Math.floor(host.clientWidth || 640));
  host.drawnWidth = width;
  host.replaceChildren(host.chartSpec.draw(width, host.hiddenGroups || new Set()));
}

/**
 * A chart figure: caption, the SVG (role img, with <title> and <desc>), a
 * legend and a data table for anyone who cannot see the chart.
 */
export function chartFigure(spec) {
  const host = h('div', { class: 'chart' });
  host.chartSpec = spec;
  host.hiddenGroups = new Set();
  const fig = h('figure', { class: 'chart-figure', dataset: { chart: spec.key || '' } },
    h('figcaption', { class: 'chart-title' }, spec.title),
    spec.subtitle ? h('p', { class: 'chart-sub' }, spec.subtitle) : null,
    host,
    spec.legend ? legend(spec.legend, host) : null,
    spec.controls ? spec.controls(() => drawChart(host)) : null,
    spec.table ? h('details', { class: 'chart-data' }, h('summary', null, 'Show the data as a table'), spec.table) : null);
  requestAnimationFrame(() => {
    drawChart(host);
    resizer.observe(host);
  });
  return fig;
}

/** The legend; items with a `group` become checkboxes that show or hide that group's series. */
function legend(items, host) {
  return h('ul', { class: 'legend' }, items.map((it) => {
    const sw = h('span', { class: `swatch ${it.cls}${it.dashed ? ' dashed' : ''}${it.band ? ' band' : ''}`, 'aria-hidden': 'true' });
    if (!it.group) return h('li', null, sw, it.name);
    const id = nextId('show');
    const box = h('input', { type: 'checkbox', id, checked: true });
    box.addEventListener('change', () => {
      if (box.checked) host.hiddenGroups.delete(it.group);
      else host.hiddenGroups.add(it.group);
      drawChart(host);
    });
    return h('li', { class: 'toggle' }, box, h('label', { for: id }, sw, it.name));
  }));
}

function svgRoot(width, height, title, desc) {
  const tid = nextId('t');
  const did = nextId('d');
  return s('svg', {
    xmlns: SVGNS, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': `${tid} ${did}`, class: 'chart-svg', focusable: 'false',
  }, s('title', { id: tid }, title), s('desc', { id: did }, desc));
}

function niceTicks(min, max, count) {
  if (min === max) {
    const d = Math.abs(min) || 1;
    min -= d / 2;
    max += d / 2;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) || 10 * mag;
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Math.abs(v) < step / 1e6 ? 0 : v);
  return { lo, hi, ticks };
}

function yAxis(g, ticks, y, left, right, fmt) {
  for (const t of ticks) {
    g.append(s('line', { class: t === 0 ? 'axis-zero' : 'grid', x1: left, x2: right, y1: y(t), y2: y(t) }));
    g.append(s('text', { class: 'tick', x: left - 6, y: y(t), 'text-anchor': 'end', 'dominant-baseline': 'middle' }, fmt(t)));
  }
}

/** Category labels, thinned so they never overlap, kept inside the SVG's width. */
function xLabels(g, labels, x, yPos, plotWidth, width) {
  const longest = Math.max(...labels.map((l) => String(l).length), 1);
  const every = Math.max(1, Math.ceil((labels.length * (longest * 6.6 + 10)) / plotWidth));
  labels.forEach((l, i) => {
    if (i % every !== 0 && i !== labels.length - 1) return;
    if (i !== labels.length - 1 && labels.length - 1 - i < every && i % every === 0 && i !== 0) return;
    const half = (String(l).length * 6.6) / 2;
    const anchor = x(i) + half > width - 2 ? 'end' : x(i) - half < 2 ? 'start' : 'middle';
    const xPos = anchor === 'end' ? width - 2 : anchor === 'start' ? 2 : x(i);
    g.append(s('text', { class: 'tick', x: xPos, y: yPos, 'text-anchor': anchor }, l));
  });
}

/**
 * Line chart over categorical x labels. series: {name, cls, values[], band?
 * [[lo, hi] | null], dashed?}. Bands are clipped to a range around the
 * point estimates so one extreme band cannot flatten every line.
 */
export function lineChart(spec) {
  return {
    ...spec,
    draw(width, hidden) {
      const shown = spec.series.filter((se) => !hidden.has(se.group));
      const height = spec.height || (width < 480 ? 240 : 300);
      const m = { top: 16, right: 16, bottom: 34, left: spec.leftMargin || 58 };
      const pw = width - m.left - m.right;
      const ph = height - m.top - m.bottom;
      const n = spec.labels.length;
      const x = (i) => m.left + (n <= 1 ? pw / 2 : (i * pw) / (n - 1));
      const vals = shown.flatMap((se) => se.values.filter((v) => v != null && Number.isFinite(v)));
      const yMin = typeof spec.yMin === 'function' ? spec.yMin() : spec.yMin;
      let lo = yMin != null ? yMin : Math.min(0, ...vals);
      let hi = spec.yMax != null ? spec.yMax : Math.max(...vals, 0);
      let clipped = false;
      if (yMin == null || spec.yMax == null) {
        const span = Math.max(hi - lo, 1e-9);
        const bandVals = shown.flatMap((se) => (se.band || []).filter(Boolean).flat());
        for (const b of bandVals) {
          if (!Number.isFinite(b)) continue;
          const c = Math.min(Math.max(b, lo - span * 0.5), hi + span * 0.5);
          if (c !== b) clipped = true;
          if (yMin == null) lo = Math.min(lo, c);
          if (spec.yMax == null) hi = Math.max(hi, c);
        }
      }
      const nt = niceTicks(lo, hi, height < 260 ? 4 : 5);
      if (yMin == null) lo = nt.lo;
      if (spec.yMax == null) hi = nt.hi;
      const y = (v) => m.top + ph - ((v - lo) / (hi - lo || 1)) * ph;
      const desc = spec.desc + (clipped ? ' Some interval bands extend beyond the chart area and are clipped.' : '');
      const svg = svgRoot(width, height, spec.title, desc);
      const clipId = nextId('clip');
      svg.append(s('defs', null, s('clipPath', { id: clipId }, s('rect', { x: m.left, y: m.top, width: pw, height: ph }))));
      const g = s('g');
      svg.append(g);
      yAxis(g, nt.ticks.filter((t) => t >= lo - 1e-9 && t <= hi + 1e-9), y, m.left, m.left + pw, spec.yFormat);
      xLabels(g, spec.labels, x, height - 10, pw, width);
      const plot = s('g', { 'clip-path': `url(#${clipId})` });
      g.append(plot);
      for (const [k, mk] of (spec.markers || []).entries()) {
        if (mk.index == null || mk.index < 0) continue;
        plot.append(s('line', { class: `marker ${mk.cls || ''}`, x1: x(mk.index), x2: x(mk.index), y1: m.top, y2: m.top + ph }));
        // Place the label on whichever side of the line has room; shorten it if neither has.
        const xm = x(mk.index);
        const fits = (t) => t.length * 6.8 < Math.max(width - 4 - (xm + 4), xm - 4 - 2);
        const textOf = fits(mk.label) ? mk.label : mk.short || mk.label;
        const est = textOf.length * 6.8;
        const anchor = xm + 4 + est <= width - 2 ? 'start' : 'end';
        g.append(s('text', { class: 'marker-label', x: anchor === 'end' ? Math.max(xm - 4, est + 2) : xm + 4, y: m.top + 12 + k * 15, 'text-anchor': anchor }, textOf));
      }
      for (const se of shown) {
        if (!se.band) continue;
        for (const seg of segments(se.band.map((b) => (b && Number.isFinite(b[0]) && Number.isFinite(b[1]) ? b : null)))) {
          const up = seg.map((i) => `${x(i)},${y(Math.max(...se.band[i]))}`);
          const down = seg.slice().reverse().map((i) => `${x(i)},${y(Math.min(...se.band[i]))}`);
          if (seg.length === 1) {
            const i = seg[0];
            plot.append(s('rect', { class: `band ${se.cls}`, x: x(i) - 4, width: 8, y: y(Math.max(...se.band[i])), height: Math.abs(y(se.band[i][0]) - y(se.band[i][1])) }));
          } else {
            plot.append(s('polygon', { class: `band ${se.cls}`, points: up.concat(down).join(' ') }));
          }
        }
      }
      for (const se of shown) {
        for (const seg of segments(se.values)) {
          const d = seg.map((i, k) => `${k ? 'L' : 'M'}${x(i).toFixed(1)},${y(se.values[i]).toFixed(1)}`).join('');
          plot.append(s('path', { class: `line ${se.cls}${se.dashed ? ' dashed' : ''}`, d }));
        }
        if (se.points !== false) {
          se.values.forEach((v, i) => {
            if (v == null || !Number.isFinite(v)) return;
            const band = se.band && se.band[i] ? ` (${spec.yFormatExact(Math.min(...se.band[i]))} to ${spec.yFormatExact(Math.max(...se.band[i]))})` : '';
            plot.append(s('circle', { class: `point ${se.cls}`, cx: x(i), cy: y(v), r: se.dashed ? 2.5 : 3.5 },
              s('title', null, `${se.name}, ${spec.labels[i]}: ${spec.yFormatExact(v)}${band}`)));
          });
        }
      }
      return svg;
    },
  };
}

function segments(values) {
  const out = [];
  let cur = [];
  values.forEach((v, i) => {
    if (v == null || (typeof v === 'number' && !Number.isFinite(v))) {
      if (cur.length) out.push(cur);
      cur = [];
    } else cur.push(i);
  });
  if (cur.length) out.push(cur);
  return out;
}

/** Vertical grouped bars: one group per label, one bar per series. */
export function barChart(spec) {
  return {
    ...spec,
    draw(width) {
      const height = width < 480 ? 240 : 300;
      const m = { top: 16, right: 12, bottom: 34, left: 62 };
      const pw = width - m.left - m.right;
      const ph = height - m.top - m.bottom;
      const n = spec.labels.length;
      const vals = spec.series.flatMap((se) => se.values.filter(Number.isFinite));
      const nt = niceTicks(Math.min(0, ...vals), Math.max(0, ...vals), 5);
      const y = (v) => m.top + ph - ((v - nt.lo) / (nt.hi - nt.lo || 1)) * ph;
      const slot = pw / Math.max(1, n);
      const x = (i) => m.left + slot * (i + 0.5);
      const svg = svgRoot(width, height, spec.title, spec.desc);
      const g = s('g');
      svg.append(g);
      yAxis(g, nt.ticks, y, m.left, m.left + pw, spec.yFormat);
      xLabels(g, spec.labels, x, height - 10, pw, width);
      const inner = slot * 0.78;
      const bw = inner / spec.series.length;
      spec.series.forEach((se, k) => {
        se.values.forEach((v, i) => {
          if (!Number.isFinite(v)) return;
          const x0 = x(i) - inner / 2 + k * bw;
          const top = Math.min(y(v), y(0));
          const hgt = Math.max(v === 0 ? 0 : 1, Math.abs(y(v) - y(0)));
          g.append(s('rect', { class: `bar ${se.cls}`, x: x0.toFixed(1), y: top.toFixed(1), width: Math.max(1, bw - 1).toFixed(1), height: hgt.toFixed(1) },
            s('title', null, `${se.name}, ${spec.labels[i]}: ${se.exact[i]}`)));
        });
      });
      return svg;
    },
  };
}

/** Horizontal bars with the label above each bar (legible at phone widths). */
export function hbarChart(spec) {
  return {
    ...spec,
    draw(width) {
      const row = 40;
      const m = { top: 8, right: 20, bottom: 28, left: 12 };
      const n = spec.labels.length;
      const height = m.top + m.bottom + row * Math.max(1, n);
      const pw = width - m.left - m.right;
      const vals = spec.values.filter(Number.isFinite);
      const nt = niceTicks(Math.min(0, ...vals), Math.max(0, ...vals), width < 480 ? 4 : 6);
      const x = (v) => m.left + ((v - nt.lo) / (nt.hi - nt.lo || 1)) * pw;
      const svg = svgRoot(width, height, spec.title, spec.desc);
      const g = s('g');
      svg.append(g);
      for (const t of nt.ticks) {
        g.append(s('line', { class: t === 0 ? 'axis-zero' : 'grid', x1: x(t), x2: x(t), y1: m.top, y2: height - m.bottom }));
        const tl = spec.xFormat(t);
        const half = (tl.length * 6.6) / 2;
        const anchor = x(t) + half > width - 2 ? 'end' : x(t) - half < 2 ? 'start' : 'middle';
        g.append(s('text', { class: 'tick', x: anchor === 'end' ? width - 2 : anchor === 'start' ? 2 : x(t), y: height - 8, 'text-anchor': anchor }, tl));
      }
      spec.labels.forEach((l, i) => {
        const top = m.top + i * row;
        const v = spec.values[i];
        g.append(s('text', { class: 'bar-label', x: m.left, y: top + 12 }, l));
        g.append(s('text', { class: 'bar-value', x: m.left + pw, y: top + 12, 'text-anchor': 'end' }, spec.exact[i]));
        if (!Number.isFinite(v)) return;
        const x0 = Math.min(x(0), x(v));
        g.append(s('rect', { class: `bar ${v < 0 ? spec.negCls : spec.cls}`, x: x0.toFixed(1), y: top + 18, width: Math.max(1, Math.abs(x(v) - x(0))).toFixed(1), height: 14 },
          s('title', null, `${l}: ${spec.exact[i]}`)));
      });
      return svg;
    },
  };
}
