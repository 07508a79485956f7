import { legend, type LegendItem } from './legend.js';
import {
  AXIS,
  clampSize,
  cleanLabel,
  escapeXml,
  GRID,
  INK,
  MUTED,
  noDataNote,
  num,
  SERIES_COLOURS,
  SEVERITY_FILL,
  SEVERITY_OPACITY,
  svgOpen,
  textWidth,
} from './svg.js';
import { formatRelative, formatUtc, formatValue, linearScale, timeTicks } from './ticks.js';
import type { ChartInput, Severity, TimePoint } from './types.js';

const BAND_COLOUR = '#10b981';
const MARKER_COLOUR = '#374151';
const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high'];
/** A step this many times the median sampling interval is a gap in collection, not a slope. */
const GAP_FACTOR = 3;

type Prepared = { name: string; colour: string; points: TimePoint[] };

/** Sorted by time; points whose time is unusable are dropped, a non-finite value stays as a gap. */
function sortedPoints(points: readonly TimePoint[]): TimePoint[] {
  return points.filter((p) => Number.isFinite(p.t)).slice().sort((a, b) => a.t - b.t);
}

function medianStep(points: readonly TimePoint[]): number {
  const steps: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    if (a && b && b.t > a.t) steps.push(b.t - a.t);
  }
  if (steps.length === 0) return Infinity;
  steps.sort((a, b) => a - b);
  return steps[Math.floor(steps.length / 2)] ?? Infinity;
}

/** Runs of consecutive finite points, split at missing values and at collection gaps. */
function segments(points: readonly TimePoint[]): TimePoint[][] {
  const maxStep = points.length >= 3 ? medianStep(points) * GAP_FACTOR : Infinity;
  const runs: TimePoint[][] = [];
  let run: TimePoint[] = [];
  let previous: TimePoint | undefined;
  for (const p of points) {
    const broken = !Number.isFinite(p.v) || (previous !== undefined && p.t - previous.t > maxStep);
    if (broken && run.length > 0) {
      runs.push(run);
      run = [];
    }
    if (Number.isFinite(p.v)) run.push(p);
    previous = p;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * Keeps the first, lowest, highest and last point of each pixel column, so a series of 100 000
 * samples stays a few kilobytes without losing its spikes.
 */
function decimate(run: TimePoint[], x: (t: number) => number, limit: number): TimePoint[] {
  if (run.length <= limit) return run;
  const out: TimePoint[] = [];
  let column: TimePoint[] = [];
  let columnX = NaN;
  const flush = (): void => {
    if (column.length === 0) return;
    const first = column[0] as TimePoint;
    const last = column[column.length - 1] as TimePoint;
    let lo = first;
    let hi = first;
    for (const p of column) {
      if (p.v < lo.v) lo = p;
      if (p.v > hi.v) hi = p;
    }
    const keep = new Set([first, lo, hi, last]);
    out.push(...column.filter((p) => keep.has(p)));
    column = [];
  };
  for (const p of run) {
    const px = Math.round(x(p.t));
    if (px !== columnX) {
      flush();
      columnX = px;
    }
    column.push(p);
  }
  flush();
  return out;
}

/** Min and max without spreading: a spread of 100 000 arguments overflows the stack. */
function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** A time-series line chart as a standalone SVG document (no scripts, no external references). */
export function timeSeriesChart(input: ChartInput): string {
  const width = clampSize(input.width, 720, 240, 4000);
  const height = clampSize(input.height, 320, 160, 3000);
  const mode = input.timeAxis ?? 'relative';
  const unit = cleanLabel(input.unit, 24);
  const titleText = cleanLabel(input.title, 100);

  const shown = input.series.slice(0, SERIES_COLOURS.length);
  const hiddenCount = input.series.length - shown.length;
  const series: Prepared[] = shown.map((s, i) => ({
    name: cleanLabel(s.name, 40) || `series ${i + 1}`,
    colour: SERIES_COLOURS[i] ?? INK,
    points: sortedPoints(s.points),
  }));
  const finite = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.v)));

  const band =
    input.band && Number.isFinite(input.band.lo) && Number.isFinite(input.band.hi)
      ? {
          lo: Math.min(input.band.lo, input.band.hi),
          hi: Math.max(input.band.lo, input.band.hi),
          label: cleanLabel(input.band.label ?? 'baseline', 32),
        }
      : undefined;
  const windows = (input.windows ?? []).filter((w) => Number.isFinite(w.start) && Number.isFinite(w.end));
  const markers = (input.markers ?? []).filter((m) => Number.isFinite(m.t));

  const items: LegendItem[] = series.map((s) => ({ kind: 'line', colour: s.colour, label: s.name }));
  if (band) items.push({ kind: 'area', colour: BAND_COLOUR, opacity: 0.15, label: band.label });
  for (const severity of SEVERITIES) {
    if (windows.some((w) => w.severity === severity)) {
      items.push({ kind: 'area', colour: SEVERITY_FILL[severity], opacity: SEVERITY_OPACITY[severity] + 0.1, label: `${severity} anomaly` });
    }
  }
  if (hiddenCount > 0) items.push({ kind: 'note', label: `+${hiddenCount} more series not shown` });
  const key = legend(items, 16, 46, width - 16);

  const left = 64;
  const right = width - 20;
  // Marker labels sit in a strip above the plot, clear of the window labels inside it.
  const top = Math.max(key.bottom + 8, 56) + (markers.length > 0 ? 16 : 0);
  const bottom = height - 46;
  const plotW = Math.max(1, right - left);
  const plotH = Math.max(1, bottom - top);

  const desc: string[] = [`${unit || 'value'} over time`];
  const heading =
    `<text x="16" y="26" font-size="15" font-weight="bold" fill="${INK}">${escapeXml(titleText)}</text>` + key.svg;

  if (finite.length === 0) {
    desc.push('no data');
    return (
      svgOpen(width, height, escapeXml(titleText), escapeXml(desc.join('; '))) +
      heading +
      noDataNote(left, top, plotW, plotH) +
      '</svg>'
    );
  }

  // Time domain: the data's own span; a single instant gets a minute around it.
  let [t0, t1] = extent(finite.map((p) => p.t));
  const origin = t0;
  if (t1 <= t0) {
    if (mode === 'relative') t1 = t0 + 60_000;
    else [t0, t1] = [t0 - 30_000, t0 + 30_000];
  }
  const x = (t: number): number => left + ((t - t0) / (t1 - t0)) * plotW;

  // Value domain: data and band; zero-based for non-negative metrics unless the caller says.
  const values = finite.map((p) => p.v);
  if (band) values.push(band.lo, band.hi);
  let [lo, hi] = extent(values);
  const fixedLo = input.yMin !== undefined && Number.isFinite(input.yMin);
  const fixedHi = input.yMax !== undefined && Number.isFinite(input.yMax);
  if (fixedLo) lo = input.yMin as number;
  else if (lo >= 0) lo = 0;
  if (fixedHi) hi = input.yMax as number;
  const scale = linearScale(lo, hi, 5, fixedLo || fixedHi);
  const y = (v: number): number => {
    const clamped = Math.min(scale.hi, Math.max(scale.lo, v));
    return bottom - ((clamped - scale.lo) / (scale.hi - scale.lo)) * plotH;
  };

  const parts: string[] = [];

  // Anomaly windows behind everything; their labels go on top of the lines (drawn later), as
  // small opaque tags in the window's top-left corner.
  const windowLabels: string[] = [];
  for (const w of windows) {
    const s = Math.max(Math.min(w.start, w.end), t0);
    const e = Math.min(Math.max(w.start, w.end), t1);
    if (e < s) continue;
    const x1 = x(s);
    const px = Math.max(2, x(e) - x1);
    parts.push(
      `<rect x="${num(x1)}" y="${num(top)}" width="${num(px)}" height="${num(plotH)}" fill="${SEVERITY_FILL[w.severity]}" fill-opacity="${SEVERITY_OPACITY[w.severity]}"/>`,
    );
    const fit = Math.floor((px - 12) / (10 * 0.56));
    if (fit >= 4) {
      const label = cleanLabel(w.label ? `${w.severity}: ${w.label}` : w.severity, fit);
      windowLabels.push(
        `<rect x="${num(x1 + 3)}" y="${num(top + 3)}" width="${num(textWidth(label, 10) + 8)}" height="14" rx="2" fill="#ffffff" fill-opacity="0.9" stroke="${SEVERITY_FILL[w.severity]}"/>` +
          `<text x="${num(x1 + 7)}" y="${num(top + 13.5)}" font-size="10" fill="#7f1d1d">${escapeXml(label)}</text>`,
      );
    }
  }
  if (windows.length > 0) desc.push(`${windows.length} anomaly window(s)`);

  if (band) {
    const yHi = y(band.hi);
    const yLo = y(band.lo);
    parts.push(
      `<rect x="${num(left)}" y="${num(yHi)}" width="${num(plotW)}" height="${num(Math.max(1, yLo - yHi))}" fill="${BAND_COLOUR}" fill-opacity="0.12"/>`,
      `<line x1="${num(left)}" y1="${num(yHi)}" x2="${num(right)}" y2="${num(yHi)}" stroke="${BAND_COLOUR}" stroke-width="1" stroke-dasharray="4 3"/>`,
      `<line x1="${num(left)}" y1="${num(yLo)}" x2="${num(right)}" y2="${num(yLo)}" stroke="${BAND_COLOUR}" stroke-width="1" stroke-dasharray="4 3"/>`,
      `<text x="${num(right - 4)}" y="${num(yHi - 3)}" font-size="10" text-anchor="end" fill="#047857">${escapeXml(band.label)}</text>`,
    );
    desc.push(`${band.label} band ${formatValue(band.lo)} to ${formatValue(band.hi)}`);
  }

  // Grid and value axis.
  for (const tick of scale.ticks) {
    const ty = y(tick);
    parts.push(
      `<line x1="${num(left)}" y1="${num(ty)}" x2="${num(right)}" y2="${num(ty)}" stroke="${GRID}" stroke-width="1"/>`,
      `<text x="${num(left - 6)}" y="${num(ty + 4)}" font-size="11" text-anchor="end" fill="${MUTED}">${escapeXml(formatValue(tick, scale.step))}</text>`,
    );
  }
  const midY = top + plotH / 2;
  if (unit) {
    parts.push(
      `<text x="16" y="${num(midY)}" font-size="11" text-anchor="middle" fill="${MUTED}" transform="rotate(-90 16 ${num(midY)})">${escapeXml(unit)}</text>`,
    );
  }

  // Time axis.
  const withHours = t1 - origin >= 3_600_000;
  for (const tick of timeTicks(t0, t1, mode)) {
    const tx = x(tick);
    const label = mode === 'relative' ? formatRelative(tick, origin, withHours) : formatUtc(tick);
    parts.push(
      `<line x1="${num(tx)}" y1="${num(bottom)}" x2="${num(tx)}" y2="${num(bottom + 4)}" stroke="${AXIS}" stroke-width="1"/>`,
      `<text x="${num(tx)}" y="${num(bottom + 17)}" font-size="11" text-anchor="middle" fill="${MUTED}">${label}</text>`,
    );
  }
  parts.push(
    `<line x1="${num(left)}" y1="${num(bottom)}" x2="${num(right)}" y2="${num(bottom)}" stroke="${AXIS}" stroke-width="1"/>`,
    `<line x1="${num(left)}" y1="${num(top)}" x2="${num(left)}" y2="${num(bottom)}" stroke="${AXIS}" stroke-width="1"/>`,
    `<text x="${num(left + plotW / 2)}" y="${num(bottom + 36)}" font-size="11" text-anchor="middle" fill="${MUTED}">` +
      `${mode === 'relative' ? (withHours ? 'time since start (h:mm:ss)' : 'time since start (mm:ss)') : 'time (UTC)'}</text>`,
  );

  // Series: one path per series, broken at gaps; isolated samples drawn as dots.
  for (const s of series) {
    const runs = segments(s.points).map((run) => decimate(run, x, Math.max(200, plotW * 2)));
    const d = runs
      .filter((run) => run.length >= 2)
      .map((run) => run.map((p, i) => `${i === 0 ? 'M' : 'L'}${num(x(p.t))} ${num(y(p.v))}`).join(''))
      .join('');
    if (d) {
      parts.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>`);
    }
    for (const run of runs.filter((r) => r.length === 1)) {
      const p = run[0] as TimePoint;
      parts.push(`<circle cx="${num(x(p.t))}" cy="${num(y(p.v))}" r="2.5" fill="${s.colour}"/>`);
    }
  }
  desc.push(`series: ${series.map((s) => s.name).join(', ')}`);
  parts.push(...windowLabels);

  // Markers on top: dashed line, label staggered so neighbours do not overprint.
  let lastLabelEnd = -Infinity;
  let row = 0;
  for (const m of markers) {
    if (m.t < t0 || m.t > t1) continue;
    const mx = x(m.t);
    const label = cleanLabel(m.label, 28);
    const w = textWidth(label, 10);
    const anchorEnd = mx + 3 + w > right;
    const startX = anchorEnd ? mx - 3 - w : mx + 3;
    row = startX < lastLabelEnd + 4 ? (row + 1) % 2 : 0;
    lastLabelEnd = Math.max(lastLabelEnd, startX + w);
    const ly = top - 5 + row * 12;
    parts.push(
      `<line x1="${num(mx)}" y1="${num(ly + 3)}" x2="${num(mx)}" y2="${num(bottom)}" stroke="${MARKER_COLOUR}" stroke-width="1.2" stroke-dasharray="5 3"/>`,
      `<text x="${num(anchorEnd ? mx - 3 : mx + 3)}" y="${num(ly)}" font-size="10" fill="${MARKER_COLOUR}"` +
        `${anchorEnd ? ' text-anchor="end"' : ''} stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(label)}</text>`,
    );
  }
  if (markers.length > 0) desc.push(`markers: ${markers.map((m) => cleanLabel(m.label, 28)).join(', ')}`);

  return (
    svgOpen(width, height, escapeXml(titleText), escapeXml(cleanLabel(desc.join('; '), 400))) +
    heading +
    parts.join('') +
    '</svg>'
  );
}
