import type { RecoveryFindings, SeriesFinding, SeriesRecovery } from '../findings.js';
import { round } from './anomalies.js';

/**
 * Series that lag by construction: the 1-minute load average decays over minutes after the load
 * is gone, and swapped-out pages stay in swap until something touches them. They are reported,
 * but neither the recovery time nor the end of the watch waits for them.
 */
const LAGGING = [/^load1$/, /^mem\.swap_used_mb$/];

/** A series has settled when this many samples in a row are back inside its band. */
export const SETTLED_SAMPLES = 3;

type Watched = Pick<SeriesFinding, 'key' | 'label' | 'recovery_band' | 'points'>;

const inBand = (s: Watched, v: number) => v >= s.recovery_band.lo && v <= s.recovery_band.hi;

/**
 * How the anomalous series came back after the revert: for each, when it re-entered its
 * recovery band for good (the baseline band, widened to the metric's everyday noise and the
 * known-good reference: see recoveryBand). Null when nothing was reverted or nothing was anomalous.
 */
export function assessRecovery(anomalous: Watched[], revertedAt: string | null): RecoveryFindings | null {
  if (!revertedAt || !anomalous.length) return null;
  const revert = Date.parse(revertedAt);
  let samples = 0;
  let lastT = revert;
  const series = anomalous.map((s): SeriesRecovery => {
    const after = s.points.filter((p) => Date.parse(p.t) > revert);
    samples = Math.max(samples, after.length);
    if (after.length) lastT = Math.max(lastT, Date.parse(after.at(-1)!.t));
    const lagging = LAGGING.some((re) => re.test(s.key));
    const base = { key: s.key, label: s.label, lagging, band: s.recovery_band };
    if (!after.length) return { ...base, state: 'no_data', back_after_s: null, last: null };
    const lastOut = after.findLastIndex((p) => !inBand(s, p.v));
    const last = after.at(-1)!.v;
    if (lastOut === after.length - 1) return { ...base, state: 'still_out', back_after_s: null, last };
    const back = after[lastOut + 1]!;
    return { ...base, state: 'recovered', back_after_s: round((Date.parse(back.t) - revert) / 1000, 1), last };
  });
  const awaited = series.filter((s) => !s.lagging);
  const judged = awaited.length ? awaited : series;
  const recovered = judged.every((s) => s.state === 'recovered');
  return {
    reverted_at: revertedAt,
    watched_s: round((lastT - revert) / 1000, 1),
    samples,
    recovered,
    recovery_s: recovered ? Math.max(...judged.map((s) => s.back_after_s ?? 0)) : null,
    series,
  };
}

/**
 * True once the watch can stop: every awaited series has been back in its band for
 * SETTLED_SAMPLES samples in a row (so a dip on the way down is not taken for recovery).
 */
export function recoverySettled(anomalous: Watched[], revertedAt: string | null): boolean {
  if (!revertedAt) return true;
  const awaited = anomalous.filter((s) => !LAGGING.some((re) => re.test(s.key)));
  if (!awaited.length) return true;
  const revert = Date.parse(revertedAt);
  return awaited.every((s) => {
    const tail = s.points.filter((p) => Date.parse(p.t) > revert).slice(-SETTLED_SAMPLES);
    return tail.length === SETTLED_SAMPLES && tail.every((p) => inBand(s, p.v));
  });
}

/** Labels of the series not back in their band: the awaited ones, or with `lagging` the lagging ones. */
export function stillOut(r: RecoveryFindings, options: { lagging?: boolean } = {}): string[] {
  const lagging = options.lagging ?? false;
  return r.series.filter((s) => s.state !== 'recovered' && s.lagging === lagging).map((s) => s.label);
}
