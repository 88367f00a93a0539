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
    const key = seriesKey(it);
    if (!it.group) return h('li', { dataset: { series: it.name } }, key, it.name);
    const id = nextId('show');
    const box = h('input', { type: 'checkbox', id, checked: true });
    box.addEventListener('change', () => {
      if (box.checked) host.hiddenGroups.delete(it.group);
      else host.hiddenGroups.add(it.group);
      drawChart(host);
    });
    return h('li', { class: 'toggle', dataset: { series: it.name } }, box, h('label', { for: id }, key, it.name));
  }));
}

/**
 * How a series looks apart from its hue (WCAG 1.4.1): a dash pattern and a
 * marker shape per series, the same in the chart, its legend and any table
 * that names the series. `look` indexes this table.
 */
export const LOOKS = [
  { dash: null, shape: 'circle' },
  { dash: '9 4', shape: 'square' },
  { dash: '2 3', shape: 'triangle' },
  { dash: '10 3 2 3', shape: 'diamond' },
];

/** A marker of the given shape centred on (cx, cy), about 2r across. */
function shapeEl(shape, cx, cy, r, cls, title) {
  const f = (v) => v.toFixed(1);
  const poly = (pts) => s('polygon', { class: cls, points: pts.map(([px, py]) => `${f(px)},${f(py)}`).join(' '), dataset: { shape } }, title);
  if (shape === 'square') return s('rect', { class: cls, x: f(cx - r * 0.9), y: f(cy - r * 0.9), width: f(r * 1.8), height: f(r * 1.8), dataset: { shape } }, title);
  if (shape === 'triangle') return poly([[cx, cy - r * 1.15], [cx + r * 1.1, cy + r * 0.85], [cx - r * 1.1, cy + r * 0.85]]);
  if (shape === 'diamond') return poly([[cx, cy - r * 1.3], [cx + r * 1.3, cy], [cx, cy + r * 1.3], [cx - r * 1.3, cy]]);
  return s('circle', { class: cls, cx: f(cx), cy: f(cy), r, dataset: { shape: 'circle' } }, title);
}

/**
 * The key for a series (legend, table rows): a short line with the series'
 * dash and marker, or a bar with its fill. An SVG, so it keeps its marks in
 * forced-colours mode, where CSS backgrounds are dropped.
 */
export function seriesKey(it) {
  const look = LOOKS[it.look || 0];
  const svg = s('svg', { class: `key ${it.cls}`, width: 30, height: 14, viewBox: '0 0 30 14', 'aria-hidden': 'true', focusable: 'false' });
  if (it.bar) {
    const hatched = it.bar === 'hatched';
    if (hatched) svg.append(hatchPattern(`${it.cls}`, (svg.dataset.pattern = nextId('hatch'))));
    svg.append(s('rect', { class: `key-bar${hatched ? ' hatched' : ''}`, x: 4, y: 1, width: 22, height: 12, fill: hatched ? `url(#${svg.dataset.pattern})` : null }));
    return svg;
  }
  if (it.band) svg.append(s('rect', { class: 'key-band', x: 1, y: 2, width: 28, height: 10 }));
  svg.append(s('line', { class: 'key-line', x1: 1, x2: 29, y1: 7, y2: 7, 'stroke-dasharray': look.dash }));
  if (it.points !== false) svg.append(shapeEl(look.shape, 15, 7, 3.5, 'key-point'));
  return svg;
}

function hatchPattern(cls, id) {
  return s('defs', null, s('pattern', { id, class: `hatch ${cls}`, patternUnits: 'userSpaceOnUse', width: 6, height: 6, patternTransform: 'rotate(45)' },
    s('rect', { class: 'hatch-bg', width: 6, height: 6 }),
    s('line', { class: 'hatch-line', x1: 1.5, y1: 0, x2: 1.5, y2: 6 })));
}

// Text is sized in rem (the reader's default font size), so layout measures it.
let measureCtx = null;
const rootPx = () => parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
/** Width in px of `text` at `rem` (times the root font size) and the given weight. */
function tw(text, rem, weight = 400) {
  measureCtx = measureCtx || document.createElement('canvas').getContext('2d');
  measureCtx.font = `${weight} ${rem * rootPx()}px ${getComputedStyle(document.body).fontFamily}`;
  return measureCtx.measureText(String(text)).width;
}
const TICK = 0.72;
const BAR_TEXT = 0.78;
const MARKER_TEXT = 0.75;

function svgRoot(width, height, title, desc) {
  const tid = nextId('t');
  const did = nextId('d');
  // Named by its title only: the <desc> is its description, so it is read once.
  return s('svg', {
    xmlns: SVGNS, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': tid, class: 'chart-svg', focusable: 'false',
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

/**
 * Labels along a horizontal axis, kept inside [2, width - 2] and thinned to
 * every k-th (the last one always kept) until no two boxes come within 6 px.
 */
function axisLabels(g, labels, xs, yPos, width, cls = 'tick') {
  const boxes = labels.map((l, i) => {
    const w = tw(l, TICK);
    let left = xs[i] - w / 2;
    let anchor = 'middle';
    if (left < 2) { left = 2; anchor = 'start'; }
    if (left + w > width - 2) { left = width - 2 - w; anchor = 'end'; }
    return { l, w, left, anchor, x: anchor === 'start' ? left : anchor === 'end' ? left + w : xs[i] };
  });
  const apart = (a, b) => a.left + a.w + 6 <= b.left;
  let chosen = [];
  for (let every = 1; every <= Math.max(1, boxes.length); every++) {
    chosen = boxes.filter((_, i) => i % every === 0);
    const last = boxes[boxes.length - 1];
    if (last && chosen[chosen.length - 1] !== last) {
      if (chosen.length > 1 && !apart(chosen[chosen.length - 1], last)) chosen[chosen.length - 1] = last;
      else if (chosen.length === 1 || apart(chosen[chosen.length - 1], last)) chosen.push(last);
    }
    if (chosen.every((b, k) => k === 0 || apart(chosen[k - 1], b))) break;
  }
  for (const b of chosen) g.append(s('text', { class: cls, x: b.x.toFixed(1), y: yPos, 'text-anchor': b.anchor }, b.l));
}

// Geometry is clipped to the plotting area here, in JS, rather than by an SVG
// clipPath: a value far off the axis (a runaway projection) must not put marks
// billions of pixels away, which browsers and assistive tools choke on.

/** Liang–Barsky: the part of segment (x0,y0)-(x1,y1) inside rect r, or null. */
function clipSegment(x0, y0, x1, y1, r) {
  let t0 = 0;
  let t1 = 1;
  const dx = x1 - x0;
  const dy = y1 - y0;
  const p = [-dx, dx, -dy, dy];
  const q = [x0 - r.left, r.right - x0, y0 - r.top, r.bottom - y0];
  for (let i = 0; i < 4; i++) {
    if (p[i] === 0) {
      if (q[i] < 0) return null;
    } else {
      const t = q[i] / p[i];
      if (p[i] < 0) {
        if (t > t1) return null;
        if (t > t0) t0 = t;
      } else {
        if (t < t0) return null;
        if (t < t1) t1 = t;
      }
    }
  }
  return [x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy];
}

/** A polyline's path data, clipped to rect r (pieces outside are left out). */
function clippedPath(pts, r) {
  const f = (v) => v.toFixed(1);
  let d = '';
  let end = null;
  for (let i = 0; i + 1 < pts.length; i++) {
    const c = clipSegment(pts[i][0], pts[i][1], pts[i + 1][0], pts[i + 1][1], r);
    if (!c) {
      end = null;
      continue;
    }
    if (!end || Math.abs(end[0] - c[0]) > 0.01 || Math.abs(end[1] - c[1]) > 0.01) d += `M${f(c[0])},${f(c[1])}`;
    d += `L${f(c[2])},${f(c[3])}`;
    end = [c[2], c[3]];
  }
  return d;
}

/** Sutherland–Hodgman: a polygon clipped to rect r. */
function clippedPolygon(pts, r) {
  const edges = [
    [(p) => p[0] >= r.left, (a, b) => { const t = (r.left - a[0]) / (b[0] - a[0]); return [r.left, a[1] + t * (b[1] - a[1])]; }],
    [(p) => p[0] <= r.right, (a, b) => { const t = (r.right - a[0]) / (b[0] - a[0]); return [r.right, a[1] + t * (b[1] - a[1])]; }],
    [(p) => p[1] >= r.top, (a, b) => { const t = (r.top - a[1]) / (b[1] - a[1]); return [a[0] + t * (b[0] - a[0]), r.top]; }],
    [(p) => p[1] <= r.bottom, (a, b) => { const t = (r.bottom - a[1]) / (b[1] - a[1]); return [a[0] + t * (b[0] - a[0]), r.bottom]; }],
  ];
  let out = pts;
  for (const [inside, cross] of edges) {
    const src = out;
    out = [];
    src.forEach((cur, i) => {
      const prev = src[(i + src.length - 1) % src.length];
      if (inside(cur)) {
        if (!inside(prev)) out.push(cross(prev, cur));
        out.push(cur);
      } else if (inside(prev)) out.push(cross(prev, cur));
    });
    if (!out.length) break;
  }
  return out;
}

/**
 * Line chart over categorical x labels. series: {name, cls, look?, values[],
 * band? [[lo, hi] | null], points?}. `look` (LOOKS) gives the dash and the
 * marker; by default the series' position. Bands are clipped to a range
 * around the point estimates so one extreme band cannot flatten every line.
 */
export function lineChart(spec) {
  return {
    ...spec,
    draw(width, hidden) {
      const k = rootPx() / 16;
      const shown = spec.series.map((se, i) => ({ look: i, ...se })).filter((se) => !hidden.has(se.group));
      const height = Math.round((spec.height || (width < 480 ? 240 : 300)) * Math.max(1, k));
      const n = spec.labels.length;
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
      const ticks = nt.ticks.filter((t) => t >= lo - 1e-9 && t <= hi + 1e-9);
      const left = Math.ceil(Math.max(spec.leftMargin || 0, ...ticks.map((t) => tw(spec.yFormat(t), TICK) + 12)));
      const m = { top: Math.round(16 * k), right: 16, bottom: Math.round(34 * k), left };
      const pw = width - m.left - m.right;
      const ph = height - m.top - m.bottom;
      const area = { left: m.left, right: m.left + pw, top: m.top, bottom: m.top + ph };
      const x = (i) => m.left + (n <= 1 ? pw / 2 : (i * pw) / (n - 1));
      const y = (v) => m.top + ph - ((v - lo) / (hi - lo || 1)) * ph;
      const inside = (px, py) => px >= area.left - 0.5 && px <= area.right + 0.5 && py >= area.top - 0.5 && py <= area.bottom + 0.5;
      const cut = vals.some((v) => !inside(m.left, y(v)));
      const desc = spec.desc + (clipped || cut ? ' Some values or interval bands extend beyond the chart area and are cut off at its edge; the table has every value.' : '');
      const svg = svgRoot(width, height, spec.title, desc);
      const g = s('g');
      svg.append(g);
      yAxis(g, ticks, y, m.left, m.left + pw, spec.yFormat);
      axisLabels(g, spec.labels, spec.labels.map((_, i) => x(i)), height - Math.round(10 * k), width);
      const plot = s('g');
      g.append(plot);
      for (const [j, mk] of (spec.markers || []).entries()) {
        if (mk.index == null || mk.index < 0) continue;
        const xm = x(mk.index);
        plot.append(s('line', { class: `marker ${mk.cls || ''}`, x1: xm, x2: xm, y1: m.top, y2: m.top + ph }));
        // Place the label on whichever side of the line has room inside the plot; shorten it if neither has.
        const room = Math.max(area.right - (xm + 4), xm - 4 - area.left);
        const textOf = tw(mk.label, MARKER_TEXT, 600) < room ? mk.label : mk.short || mk.label;
        const est = tw(textOf, MARKER_TEXT, 600);
        const anchor = xm + 4 + est <= area.right ? 'start' : 'end';
        g.append(s('text', { class: 'marker-label', x: (anchor === 'end' ? Math.max(xm - 4, area.left + est) : xm + 4).toFixed(1), y: m.top + Math.round(12 * k) + j * Math.round(15 * k), 'text-anchor': anchor }, textOf));
      }
      for (const se of shown) {
        if (!se.band) continue;
        for (const seg of segments(se.band.map((b) => (b && Number.isFinite(b[0]) && Number.isFinite(b[1]) ? b : null)))) {
          if (seg.length === 1) {
            const i = seg[0];
            const top = Math.max(area.top, Math.min(area.bottom, y(Math.max(...se.band[i]))));
            const bottom = Math.max(area.top, Math.min(area.bottom, y(Math.min(...se.band[i]))));
            plot.append(s('rect', { class: `band ${se.cls}`, x: (x(i) - 4).toFixed(1), width: 8, y: top.toFixed(1), height: (bottom - top).toFixed(1) }));
          } else {
            const up = seg.map((i) => [x(i), y(Math.max(...se.band[i]))]);
            const down = seg.slice().reverse().map((i) => [x(i), y(Math.min(...se.band[i]))]);
            const poly = clippedPolygon(up.concat(down), area);
            if (poly.length >= 3) plot.append(s('polygon', { class: `band ${se.cls}`, points: poly.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ') }));
          }
        }
      }
      for (const se of shown) {
        const look = LOOKS[se.look] || LOOKS[0];
        for (const seg of segments(se.values)) {
          const d = clippedPath(seg.map((i) => [x(i), y(se.values[i])]), area);
          plot.append(s('path', { class: `line ${se.cls}`, d, 'stroke-dasharray': look.dash, dataset: { series: se.legendName || se.name } }));
        }
        if (se.points !== false) {
          se.values.forEach((v, i) => {
            if (v == null || !Number.isFinite(v) || !inside(x(i), y(v))) return;
            const band = se.band && se.band[i] ? ` (${spec.yFormatExact(Math.min(...se.band[i]))} to ${spec.yFormatExact(Math.max(...se.band[i]))})` : '';
            const mark = shapeEl(look.shape, x(i), y(v), 3.5, `point ${se.cls}`, s('title', null, `${se.name}, ${spec.labels[i]}: ${spec.yFormatExact(v)}${band}`));
            mark.dataset.series = se.legendName || se.name;
            plot.append(mark);
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

/** Vertical grouped bars: one group per label, one bar per series; every series after the first is hatched. */
export function barChart(spec) {
  return {
    ...spec,
    draw(width) {
      const k = rootPx() / 16;
      const height = Math.round((width < 480 ? 240 : 300) * Math.max(1, k));
      const vals = spec.series.flatMap((se) => se.values.filter(Number.isFinite));
      const nt = niceTicks(Math.min(0, ...vals), Math.max(0, ...vals), 5);
      const left = Math.ceil(Math.max(...nt.ticks.map((t) => tw(spec.yFormat(t), TICK) + 12)));
      const m = { top: Math.round(16 * k), right: 12, bottom: Math.round(34 * k), left };
      const pw = width - m.left - m.right;
      const ph = height - m.top - m.bottom;
      const n = spec.labels.length;
      const y = (v) => m.top + ph - ((v - nt.lo) / (nt.hi - nt.lo || 1)) * ph;
      const slot = pw / Math.max(1, n);
      const x = (i) => m.left + slot * (i + 0.5);
      const svg = svgRoot(width, height, spec.title, spec.desc);
      const patterns = spec.series.map((se, i) => (i > 0 ? nextId('hatch') : null));
      spec.series.forEach((se, i) => { if (patterns[i]) svg.append(hatchPattern(se.cls, patterns[i])); });
      const g = s('g');
      svg.append(g);
      yAxis(g, nt.ticks, y, m.left, m.left + pw, spec.yFormat);
      axisLabels(g, spec.labels, spec.labels.map((_, i) => x(i)), height - Math.round(10 * k), width);
      const inner = slot * 0.78;
      const bw = inner / spec.series.length;
      spec.series.forEach((se, j) => {
        se.values.forEach((v, i) => {
          if (!Number.isFinite(v)) return;
          const x0 = x(i) - inner / 2 + j * bw;
          const top = Math.min(y(v), y(0));
          const hgt = Math.max(v === 0 ? 0 : 1, Math.abs(y(v) - y(0)));
          g.append(s('rect', {
            class: `bar ${se.cls}${patterns[j] ? ' hatched' : ''}`, fill: patterns[j] ? `url(#${patterns[j]})` : null,
            x: x0.toFixed(1), y: top.toFixed(1), width: Math.max(1, bw - 1).toFixed(1), height: hgt.toFixed(1), dataset: { series: se.name },
          }, s('title', null, `${se.name}, ${spec.labels[i]}: ${se.exact[i]}`)));
        });
      });
      return svg;
    },
  };
}

/**
 * Horizontal bars, each labelled directly: the name above the bar and the
 * value at its right, or on a line of its own when both do not fit.
 */
export function hbarChart(spec) {
  return {
    ...spec,
    draw(width) {
      const k = rootPx() / 16;
      const line = Math.round(16 * k);
      const m = { top: 8, right: 20, bottom: Math.round(28 * k), left: 12 };
      const pw = width - m.left - m.right;
      const vals = spec.values.filter(Number.isFinite);
      const nt = niceTicks(Math.min(0, ...vals), Math.max(0, ...vals), width < 480 ? 4 : 6);
      const x = (v) => m.left + ((v - nt.lo) / (nt.hi - nt.lo || 1)) * pw;
      const rows = spec.labels.map((l, i) => {
        const wraps = tw(l, BAR_TEXT) + tw(spec.exact[i], BAR_TEXT, 600) + 12 > pw;
        return { wraps, height: Math.round(40 * k) + (wraps ? line : 0) };
      });
      const height = m.top + m.bottom + Math.max(Math.round(40 * k), rows.reduce((a, r) => a + r.height, 0));
      const svg = svgRoot(width, height, spec.title, spec.desc);
      const g = s('g');
      svg.append(g);
      for (const t of nt.ticks) g.append(s('line', { class: t === 0 ? 'axis-zero' : 'grid', x1: x(t), x2: x(t), y1: m.top, y2: height - m.bottom }));
      axisLabels(g, nt.ticks.map(spec.xFormat), nt.ticks.map(x), height - 8, width);
      let top = m.top;
      spec.labels.forEach((l, i) => {
        const v = spec.values[i];
        const { wraps } = rows[i];
        const base = top + Math.round(12 * k);
        g.append(s('text', { class: 'bar-label', x: m.left, y: base }, l));
        g.append(s('text', { class: 'bar-value', x: m.left + pw, y: wraps ? base + line : base, 'text-anchor': 'end' }, spec.exact[i]));
        const barTop = top + Math.round(18 * k) + (wraps ? line : 0);
        top += rows[i].height;
        if (!Number.isFinite(v)) return;
        const x0 = Math.min(x(0), x(v));
        g.append(s('rect', { class: `bar ${v < 0 ? spec.negCls : spec.cls}`, x: x0.toFixed(1), y: barTop, width: Math.max(1, Math.abs(x(v) - x(0))).toFixed(1), height: 14 },
          s('title', null, `${l}: ${spec.exact[i]}`)));
      });
      return svg;
    },
  };
}

/**
 * A tornado: one row per parameter, each with two bars from the base value —
 * the gap at the parameter's low value (solid) and at its high value
 * (hatched) — so the two ends differ in more than hue. A vertical line marks
 * the base; the name sits above each row and both values at its right (on a
 * line of their own when they do not fit).
 * spec: {title, desc, labels, low[], high[], base, exact[] (text per row),
 * xFormat, lowCls, highCls}.
 */
export function tornadoChart(spec) {
  return {
    ...spec,
    draw(width) {
      const k = rootPx() / 16;
      const line = Math.round(16 * k);
      const m = { top: 8, right: 20, bottom: Math.round(28 * k), left: 12 };
      const pw = width - m.left - m.right;
      const vals = [spec.base, ...spec.low, ...spec.high].filter(Number.isFinite);
      const nt = niceTicks(Math.min(...vals), Math.max(...vals), width < 480 ? 3 : 5);
      const x = (v) => m.left + ((v - nt.lo) / (nt.hi - nt.lo || 1)) * pw;
      const rows = spec.labels.map((l, i) => {
        const wraps = tw(l, BAR_TEXT) + tw(spec.exact[i], BAR_TEXT, 600) + 12 > pw;
        return { wraps, height: Math.round(40 * k) + (wraps ? line : 0) };
      });
      const height = m.top + m.bottom + Math.max(Math.round(40 * k), rows.reduce((a, r) => a + r.height, 0));
      const svg = svgRoot(width, height, spec.title, spec.desc);
      const hatch = nextId('hatch');
      svg.append(hatchPattern(spec.highCls, hatch));
      const g = s('g');
      svg.append(g);
      for (const t of nt.ticks) g.append(s('line', { class: 'grid', x1: x(t), x2: x(t), y1: m.top, y2: height - m.bottom }));
      axisLabels(g, nt.ticks.map(spec.xFormat), nt.ticks.map(x), height - 8, width);
      let top = m.top;
      spec.labels.forEach((l, i) => {
        const { wraps } = rows[i];
        const baseline = top + Math.round(12 * k);
        g.append(s('text', { class: 'bar-label', x: m.left, y: baseline }, l));
        g.append(s('text', { class: 'bar-value', x: m.left + pw, y: wraps ? baseline + line : baseline, 'text-anchor': 'end' }, spec.exact[i]));
        const barTop = top + Math.round(18 * k) + (wraps ? line : 0);
        top += rows[i].height;
        const bar = (v, cls, hatched, name) => {
          if (!Number.isFinite(v)) return;
          const x0 = Math.min(x(spec.base), x(v));
          g.append(s('rect', {
            class: `bar ${cls}${hatched ? ' hatched' : ''}`, fill: hatched ? `url(#${hatch})` : null,
            x: x0.toFixed(1), y: hatched ? barTop + 7 : barTop, width: Math.max(1, Math.abs(x(v) - x(spec.base))).toFixed(1), height: 7,
            dataset: { end: name },
          }, s('title', null, `${l}, ${name}: ${spec.xFormat(v)}`)));
        };
        bar(spec.low[i], spec.lowCls, false, 'at the low value');
        bar(spec.high[i], spec.highCls, true, 'at the high value');
      });
      g.append(s('line', { class: 'axis-zero', x1: x(spec.base), x2: x(spec.base), y1: m.top, y2: height - m.bottom }));
      return svg;
    },
  };
}
