/**
 * The figures of an experiment, pure: load windows, per-second series, anomaly windows, the
 * change during the fault, and the statistics over runs. Values in, values out; no clock, no I/O.
 */
import { quantileSorted } from 'simple-statistics';
import type { Aggregate, AnomalyWindow, LoadFigures, ProbeCheck, Quantiles, RunFigures } from './result-schema.js';

/** One request of the load as the statistics need it (epoch ms of its scheduled start). */
export type LoadSample = { t: number; latency_ms: number | null; ok: boolean };

export type SecondBucket = { t: number; sent: number; ok: number; errors: number; p95_ms: number | null };

/** Quantile by linear interpolation (simple-statistics), null for no values. */
export function quantile(values: readonly number[], p: number): number | null {
  const finite = values.filter((v) => Number.isFinite(v));
  if (!finite.length) return null;
  const sorted = [...finite].sort((a, b) => a - b);
  return round(quantileSorted(sorted, p), 3);
}

export function quantiles(values: readonly number[]): Quantiles {
  return { p50: quantile(values, 0.5), p95: quantile(values, 0.95), p99: quantile(values, 0.99) };
}

/**
 * The load between two instants: requests whose scheduled start lies in [start, end). Latency
 * percentiles over every request that got an answer, failed ones included: a slow 500 is slow.
 */
export function loadFigures(samples: readonly LoadSample[], start: number, end: number): LoadFigures | null {
  if (!(end > start)) return null;
  const inside = samples.filter((s) => s.t >= start && s.t < end);
  const seconds = (end - start) / 1000;
  const ok = inside.filter((s) => s.ok).length;
  const latencies = inside.map((s) => s.latency_ms).filter((v): v is number => v !== null);
  return {
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    requests: inside.length,
    ok,
    sent_rps: round(inside.length / seconds, 2),
    throughput_rps: round(ok / seconds, 2),
    error_rate: inside.length ? round((inside.length - ok) / inside.length, 4) : 0,
    p50_ms: quantile(latencies, 0.5),
    p95_ms: quantile(latencies, 0.95),
    p99_ms: quantile(latencies, 0.99),
  };
}

/** During against before: throughput change in %, error rate in percentage points, latency shifts. */
export function loadChange(before: LoadFigures | null, during: LoadFigures | null): RunFigures['change'] {
  if (!before || !during) return null;
  const shift = (a: number | null, b: number | null) => (a === null || b === null ? null : round(b - a, 1));
  return {
    throughput_pct: before.throughput_rps > 0 ? round(((during.throughput_rps - before.throughput_rps) / before.throughput_rps) * 100, 1) : null,
    error_rate_pp: round((during.error_rate - before.error_rate) * 100, 2),
    p50_shift_ms: shift(before.p50_ms, during.p50_ms),
    p95_shift_ms: shift(before.p95_ms, during.p95_ms),
    p99_shift_ms: shift(before.p99_ms, during.p99_ms),
  };
}

/** The load per second of scheduled start, from the first sample's second to the last's. */
export function perSecond(samples: readonly LoadSample[]): SecondBucket[] {
  if (!samples.length) return [];
  const first = Math.floor(Math.min(...samples.map((s) => s.t)) / 1000);
  const last = Math.floor(Math.max(...samples.map((s) => s.t)) / 1000);
  const buckets = Array.from({ length: last - first + 1 }, (_, i) => ({ t: (first + i) * 1000, latencies: [] as number[], sent: 0, ok: 0 }));
  for (const s of samples) {
    const b = buckets[Math.floor(s.t / 1000) - first]!;
    b.sent++;
    if (s.ok) b.ok++;
    if (s.latency_ms !== null) b.latencies.push(s.latency_ms);
  }
  return buckets.map((b) => ({ t: b.t, sent: b.sent, ok: b.ok, errors: b.sent - b.ok, p95_ms: quantile(b.latencies, 0.95) }));
}

/**
 * Seconds in which the service was visibly worse than in its steady state, merged into windows:
 * errors above 5 % (and above twice the steady rate), p95 latency above three times the steady
 * p95 (and 50 ms more), or fewer than 80 % of the requests sent answered successfully.
 * Severity: high when most requests failed, medium when errors or latency passed the bar, low for
 * a throughput dip alone.
 */
export function loadAnomalyWindows(buckets: readonly SecondBucket[], steady: LoadFigures | null): AnomalyWindow[] {
  const steadyErrors = steady?.error_rate ?? 0;
  const steadyP95 = steady?.p95_ms ?? null;
  const marks = buckets.map((b) => {
    if (b.sent === 0) return null;
    const errorRate = b.errors / b.sent;
    if (errorRate > 0.5) return { severity: 'high' as const, reason: `${Math.round(errorRate * 100)} % of requests failed` };
    if (errorRate > 0.05 && errorRate > 2 * steadyErrors) return { severity: 'medium' as const, reason: `${Math.round(errorRate * 100)} % of requests failed` };
    if (steadyP95 !== null && b.p95_ms !== null && b.p95_ms > 3 * steadyP95 && b.p95_ms > steadyP95 + 50) {
      return { severity: 'medium' as const, reason: `p95 latency ${Math.round(b.p95_ms)} ms against ${Math.round(steadyP95)} ms steady` };
    }
    if (b.ok < 0.8 * b.sent) return { severity: 'low' as const, reason: `${b.ok} of ${b.sent} requests answered` };
    return null;
  });
  const windows: AnomalyWindow[] = [];
  let open: { start: number; end: number; severity: AnomalyWindow['severity']; reason: string } | null = null;
  const rank = { low: 0, medium: 1, high: 2 } as const;
  buckets.forEach((b, i) => {
    const mark = marks[i];
    if (mark && open && b.t <= open.end) {
      open.end = b.t + 1000;
      if (rank[mark.severity] > rank[open.severity]) Object.assign(open, mark);
    } else if (mark) {
      if (open) windows.push(toWindow(open));
      open = { start: b.t, end: b.t + 1000, ...mark };
    }
  });
  if (open) windows.push(toWindow(open));
  return windows;
}

function toWindow(w: { start: number; end: number; severity: AnomalyWindow['severity']; reason: string }): AnomalyWindow {
  return { start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString(), severity: w.severity, reason: w.reason };
}

/**
 * A run held when its steady state was met before the fault, and after it (restored); a probe
 * leaving its tolerance during the fault is measured, not a failure, unless a safeguard tripped.
 */
export function runHeld(run: Pick<RunFigures, 'steady_state' | 'safeguard' | 'error'>): boolean {
  return run.error === null && run.safeguard === null && run.steady_state.before.met && run.steady_state.after.met;
}

/** Weighted share of the probe checks that stayed inside their tolerance; null for none. */
export function resilienceScore(checks: readonly Pick<ProbeCheck, 'ok' | 'weight'>[]): number | null {
  const total = checks.reduce((sum, c) => sum + c.weight, 0);
  if (total <= 0) return null;
  return round(checks.filter((c) => c.ok).reduce((sum, c) => sum + c.weight, 0) / total, 4);
}

/**
 * The statistics over the runs with a fault (a baseline run is compared against, not counted).
 * Detection and diagnosis accuracy count the runs whose fault went in (those with a diagnosis to
 * judge): a fault the host refused is not a fault the pipeline missed.
 */
export function aggregate(runs: readonly RunFigures[]): Aggregate {
  const faulted = runs.filter((r) => r.kind === 'experiment');
  const numbers = (pick: (r: RunFigures) => number | null) => faulted.map(pick).filter((v): v is number => v !== null);
  const diagnosed = faulted.filter((r) => r.diagnosis !== null);
  const share = (part: number, whole: number) => (whole ? round(part / whole, 4) : null);
  return {
    runs: faulted.length,
    mttd_s: quantiles(numbers((r) => r.mttd_s)),
    mttr_s: quantiles(numbers((r) => r.mttr_s)),
    detection_rate: share(diagnosed.filter((r) => r.diagnosis!.category !== null && r.diagnosis!.category !== 'healthy').length, diagnosed.length),
    diagnosis_accuracy: share(diagnosed.filter((r) => r.diagnosis!.matched).length, diagnosed.length),
    resilience_score: resilienceScore(faulted.flatMap((r) => [...r.steady_state.before.checks, ...r.steady_state.during.checks, ...r.steady_state.after.checks])),
    all_held: runs.length > 0 && runs.every((r) => r.held),
  };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
