import { mean, median, medianAbsoluteDeviation, standardDeviation, zScore } from 'simple-statistics';
import type { LevelBand } from '../../evidence/reference.js';
import type { AnomalyWindow, Baseline, RecoveryBand, SeriesFinding } from '../findings.js';
import type { SeriesSpec } from './series.js';

/** A sample is anomalous when it is this many robust deviations from the baseline median. */
export const ANOMALY_Z = 4;
/** The shaded baseline band in charts, and what "recovered" means: median ± BAND_Z deviations. */
export const BAND_Z = 3;
/** Anomalous samples closer than this many samples apart belong to one window. */
const MERGE_GAP = 2;

/** MAD scaled to estimate a standard deviation under normality. */
const MAD_TO_SD = 1.4826;

export function robustBaseline(values: number[], floor: number): Baseline {
  const m = median(values);
  const mad = values.length > 1 ? medianAbsoluteDeviation(values) : 0;
  const scale = robustScale(mad, floor);
  const avg = mean(values);
  const sd = values.length > 1 ? standardDeviation(values) : 0;
  // Every metric we collect is non-negative, so the band never dips below zero.
  return { median: m, mad, mean: avg, sd, lo: Math.max(0, m - BAND_Z * scale), hi: m + BAND_Z * scale, n: values.length };
}

function robustScale(mad: number, floor: number): number {
  // The floor is the smallest change that matters for this metric; a deviation of one floor is
  // therefore worth ANOMALY_Z/2 "sigmas" at most, so a flat baseline still needs a real move.
  return Math.max(MAD_TO_SD * mad, (2 * floor) / ANOMALY_Z);
}

/**
 * What "back to normal" means for one series (SPEC §10: back inside the known-good band). The
 * band of a short baseline is too narrow to judge a fix by: six samples of CPU on a host with
 * busy neighbours can give 2..17 %, and 18 % after a good fix is no fault. So the baseline band
 * is widened to the metric's everyday noise around the baseline median, and to the host's
 * known-good reference (its lowest level to its 95th percentile) when the target has one.
 */
export function recoveryBand(baseline: Baseline, noise: number, reference?: LevelBand): RecoveryBand {
  const parts = [{ lo: baseline.lo, hi: baseline.hi, basis: 'the baseline band' }];
  // A pass/fail series (no noise allowed) keeps its baseline band alone: a reference that saw a
  // few failures must not make a failure normal.
  if (noise > 0) parts.push({ lo: Math.max(0, baseline.median - noise), hi: baseline.median + noise, basis: `the baseline median ± ${round(noise)} (everyday noise)` });
  if (reference && noise > 0) parts.push({ lo: reference.min, hi: Math.max(reference.p95, reference.median), basis: 'the known-good reference' });
  const lo = Math.min(...parts.map((p) => p.lo));
  const hi = Math.max(...parts.map((p) => p.hi));
  // Name what set each edge; the baseline band when nothing widened it.
  const setters = [...new Set(parts.filter((p) => p.lo === lo || p.hi === hi).map((p) => p.basis))];
  return { lo: round(lo), hi: round(hi), basis: setters.join(' and ') };
}

/**
 * Analyses one series: baseline, incident summary, anomaly windows, and the band it must be
 * back inside after the fault (with the host's known-good level of it, when there is one).
 */
export function analyzeSeries(spec: SeriesSpec, reference?: LevelBand): SeriesFinding {
  const base = spec.points.filter((p) => p.phase === 'baseline').map((p) => p.v);
  const incidentPoints = spec.points.filter((p) => p.phase === 'incident');
  const inc = incidentPoints.map((p) => p.v);
  const baseline = robustBaseline(base, spec.floor);
  const scale = robustScale(baseline.mad, spec.floor);
  const z = (v: number) => (v - baseline.median) / scale;

  const flagged = incidentPoints.map((p) => Math.abs(z(p.v)) >= ANOMALY_Z);
  const windows: AnomalyWindow[] = [];
  let start = -1;
  let lastHit = -1;
  const close = () => {
    if (start < 0) return;
    const slice = incidentPoints.slice(start, lastHit + 1);
    const hits = slice.filter((p) => Math.abs(z(p.v)) >= ANOMALY_Z);
    // One stray sample in a long window is noise; a short recording may only have one.
    const minimum = incidentPoints.length >= 4 ? 2 : 1;
    if (hits.length >= minimum) {
      const peak = slice.reduce((a, b) => (Math.abs(z(b.v)) > Math.abs(z(a.v)) ? b : a));
      const peakZ = z(peak.v);
      const size = Math.abs(peakZ);
      windows.push({
        start: slice[0]!.t,
        end: slice.at(-1)!.t,
        peak_at: peak.t,
        peak: round(peak.v),
        peak_z: round(peakZ),
        direction: peakZ >= 0 ? 'up' : 'down',
        severity: size >= 12 ? 'high' : size >= 7 ? 'medium' : 'low',
      });
    }
    start = -1;
  };
  flagged.forEach((hit, i) => {
    if (!hit) return;
    if (start >= 0 && i - lastHit > MERGE_GAP + 1) close();
    if (start < 0) start = i;
    lastHit = i;
  });
  close();

  // Classic z of the incident mean against the baseline mean and sd, for the report's table.
  const sd = Math.max(baseline.sd, spec.floor / 2);
  const meanZ = inc.length ? zScore(mean(inc), baseline.mean, sd) : 0;

  return {
    key: spec.key,
    label: spec.label,
    unit: spec.unit,
    baseline: roundBaseline(baseline),
    recovery_band: recoveryBand(baseline, spec.noise, reference),
    incident: inc.length
      ? { median: round(median(inc)), max: round(Math.max(...inc)), min: round(Math.min(...inc)), last: round(inc.at(-1)!), n: inc.length }
      : { median: 0, max: 0, min: 0, last: 0, n: 0 },
    mean_z: round(meanZ),
    anomalous: windows.length > 0,
    windows,
    points: spec.points.map((p) => ({ t: p.t, v: round(p.v), phase: p.phase })),
  };
}

function roundBaseline(b: Baseline): Baseline {
  return { median: round(b.median), mad: round(b.mad), mean: round(b.mean), sd: round(b.sd), lo: round(b.lo), hi: round(b.hi), n: b.n };
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
