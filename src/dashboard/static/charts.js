import { h, s } from './dom.js';

/**
 * Line charts drawn from metrics.json (the MetricsAgent's series), themed by the stylesheet so
 * they follow light and dark. The incident window is tinted, anomaly windows shaded.
 */
const W = 480;
const H = 200;
const M = { top: 12, right: 12, bottom: 26, left: 42 };

const TICKS = 4;

/** A round tick step and the axis maximum it gives: 4 ticks of 1, 2 or 5 × 10^n. */
function niceScale(value, percent) {
  const target = Math.max(value * 1.1, percent ? 4 : 1e-9) / TICKS;
  const magnitude = 10 ** Math.floor(Math.log10(target));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((c) => c >= target) ?? 10 * magnitude;
  if (percent && step * TICKS > 100) return { step: 25, max: 100 };
  return { step, max: step * TICKS };
}

function formatValue(v) {
  if (Math.abs(v) >= 1000) return `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k`;
  if (Number.isInteger(v) || Math.abs(v) >= 10) return String(Math.round(v));
  return String(Math.round(v * 10) / 10);
}

/**
 * series: [{ label, points: [{ t, v, phase }] }]; windows: [{ start, end }] (anomalies).
 * Returns a <figure>.
 */
export function lineChart({ title, unit, series, windows = [] }) {
  const all = series.flatMap((line) => line.points.filter((p) => Number.isFinite(p.v)));
  const figure = h('figure', { class: 'chart' });
  const head = h(
    'figcaption',
    { class: 'chart-head' },
    h('span', { class: 'chart-title' }, title),
    h('span', { class: 'chart-unit' }, unit),
    h(
      'span',
      { class: 'legend' },
      series.map((line, i) => h('span', { class: 'legend-item' }, h('span', { class: `swatch c${i % 6}` }), line.label)),
    ),
  );
  figure.append(head);
  if (!all.length) {
    figure.append(h('p', { class: 'muted small chart-empty' }, 'No samples.'));
    return figure;
  }
  const times = all.map((p) => Date.parse(p.t));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, t0 + 1000);
  const percent = unit === '%';
  const { step: yStep, max: yMax } = niceScale(Math.max(...all.map((p) => p.v)), percent);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (t) => M.left + ((Date.parse(t) - t0) / (t1 - t0)) * plotW;
  const y = (v) => M.top + plotH - (Math.max(0, v) / yMax) * plotH;

  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': `${title} (${unit}) over time` });

  // Incident window: from the first incident-phase sample to the last one.
  const incident = all.filter((p) => p.phase === 'incident').map((p) => Date.parse(p.t));
  if (incident.length) {
    const x0 = M.left + ((Math.min(...incident) - t0) / (t1 - t0)) * plotW;
    const x1 = M.left + ((Math.max(...incident) - t0) / (t1 - t0)) * plotW;
    svg.append(s('rect', { class: 'incident-band', x: x0, y: M.top, width: Math.max(1, x1 - x0), height: plotH }));
    svg.append(s('line', { class: 'incident-start', x1: x0, x2: x0, y1: M.top, y2: M.top + plotH }));
    svg.append(s('text', { class: 'band-label', x: x0 + 4, y: M.top + 11 }, 'incident'));
  }
  for (const w of windows) {
    const x0 = x(w.start);
    const x1 = x(w.end);
    svg.append(s('rect', { class: 'anomaly-band', x: x0, y: M.top, width: Math.max(2, x1 - x0), height: plotH }));
  }

  for (let i = 0; i <= TICKS; i++) {
    const v = yStep * i;
    const yy = y(v);
    svg.append(s('line', { class: 'grid', x1: M.left, x2: W - M.right, y1: yy, y2: yy }));
    svg.append(s('text', { class: 'tick', x: M.left - 6, y: yy + 3.5, 'text-anchor': 'end' }, formatValue(v)));
  }
  const spanS = (t1 - t0) / 1000;
  const stepS = [5, 10, 15, 30, 60, 120, 300, 600].find((st) => spanS / st <= 6) ?? 1200;
  for (let sec = 0; sec <= spanS; sec += stepS) {
    const xx = M.left + ((sec * 1000) / (t1 - t0)) * plotW;
    svg.append(s('text', { class: 'tick', x: xx, y: H - 8, 'text-anchor': 'middle' }, sec >= 60 && sec % 60 === 0 ? `${sec / 60}m` : `${sec}s`));
  }

  series.forEach((line, i) => {
    const pts = line.points.filter((p) => Number.isFinite(p.v));
    if (!pts.length) return;
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
    svg.append(s('path', { class: `line c${i % 6}`, d }));
  });
  svg.append(s('line', { class: 'axis', x1: M.left, x2: W - M.right, y1: M.top + plotH, y2: M.top + plotH }));
  figure.append(svg);
  return figure;
}

/** The four charts of SPEC §6 from metrics.json's findings.series. */
export function metricCharts(metrics) {
  const series = metrics?.findings?.series ?? [];
  const byKey = new Map(series.map((sr) => [sr.key, sr]));
  const pick = (keys) => keys.map((k) => byKey.get(k)).filter(Boolean);
  const groups = [
    { title: 'CPU', unit: '%', lines: pick(['cpu.busy_pct', 'cpu.iowait_pct']) },
    { title: 'Memory', unit: '%', lines: pick(['mem.used_pct']) },
    { title: 'Disk', unit: '%', lines: series.filter((sr) => sr.key.startsWith('disk:') && sr.key.endsWith('.used_pct')) },
    { title: 'Network', unit: 'kbit/s', lines: series.filter((sr) => sr.key.startsWith('net:') && (sr.key.endsWith('.rx_kbps') || sr.key.endsWith('.tx_kbps'))) },
  ];
  return groups.map((g) =>
    lineChart({
      title: g.title,
      unit: g.unit,
      series: g.lines.map((sr) => ({ label: shortLabel(sr), points: sr.points ?? [] })),
      windows: g.lines.flatMap((sr) => sr.windows ?? []),
    }),
  );
}

function shortLabel(series) {
  return String(series.label ?? series.key)
    .replace(/^CPU /, '')
    .replace(/^Memory /, '')
    .replace(/^Disk used /, '')
    .replace(/^Network /, '');
}
