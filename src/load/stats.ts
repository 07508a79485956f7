/**
 * Figures from load records: per-second throughput, error rate and latency percentiles, and the
 * same over a whole window (simple-statistics' quantiles; pure functions).
 */
import { quantileSorted } from 'simple-statistics';
import type { LatencyPercentiles, LoadRecord, LoadSecond, LoadSummary } from './schema.js';

/** p50/p95/p99/max of the values (any order); nulls for none. */
export function latencyPercentiles(values: readonly number[]): LatencyPercentiles {
  if (values.length === 0) return { p50: null, p95: null, p99: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number) => round3(quantileSorted(sorted, p));
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99), max: round3(sorted[sorted.length - 1] ?? 0) };
}

/**
 * One entry per second from `startMs` (epoch ms) to the last scheduled request: requests,
 * errors and latency by the second they were scheduled in, throughput by the second responses
 * completed in. Seconds without a request are present (zeros), so a chart shows a stall as a gap.
 */
export function perSecond(records: readonly LoadRecord[], startMs: number): LoadSecond[] {
  const buckets = new Map<number, { latencies: number[]; ok: number; errors: number; done: number }>();
  const bucket = (s: number) => {
    let b = buckets.get(s);
    if (!b) {
      b = { latencies: [], ok: 0, errors: 0, done: 0 };
      buckets.set(s, b);
    }
    return b;
  };
  let last = -1;
  for (const r of records) {
    const scheduled = Date.parse(r.timestamp) - startMs;
    const s = Math.max(0, Math.floor(scheduled / 1000));
    last = Math.max(last, s);
    const b = bucket(s);
    b.latencies.push(r.latency_ms);
    if (r.ok) {
      b.ok += 1;
      bucket(Math.max(0, Math.floor((scheduled + r.latency_ms) / 1000))).done += 1;
    } else b.errors += 1;
  }
  const out: LoadSecond[] = [];
  for (let s = 0; s <= last; s++) {
    const b = buckets.get(s) ?? { latencies: [], ok: 0, errors: 0, done: 0 };
    const requests = b.ok + b.errors;
    out.push({
      second: s,
      t: new Date(startMs + s * 1000).toISOString(),
      requests,
      ok: b.ok,
      errors: b.errors,
      error_rate: requests === 0 ? 0 : round3(b.errors / requests),
      throughput_rps: b.done,
      ...latencyPercentiles(b.latencies),
    });
  }
  return out;
}

/**
 * The whole window [fromMs, toMs) (epoch ms; default: every record): counts, error rate,
 * throughput of successful responses per second of window, latency percentiles of every request
 * (failed ones too: a timeout is the latency a user saw).
 */
export function summarize(records: readonly LoadRecord[], window?: { fromMs: number; toMs: number }): LoadSummary {
  const inside = window ? records.filter((r) => inWindow(Date.parse(r.timestamp), window)) : records;
  const ok = inside.filter((r) => r.ok).length;
  const errors = inside.length - ok;
  const times = inside.map((r) => Date.parse(r.timestamp));
  const spanS = window ? (window.toMs - window.fromMs) / 1000 : times.length > 1 ? (Math.max(...times) - Math.min(...times)) / 1000 : 0;
  return {
    requests: inside.length,
    ok,
    errors,
    error_rate: inside.length === 0 ? 0 : round3(errors / inside.length),
    throughput_rps: spanS > 0 ? round3(ok / spanS) : ok,
    latency_ms: latencyPercentiles(inside.map((r) => r.latency_ms)),
  };
}

function inWindow(t: number, w: { fromMs: number; toMs: number }): boolean {
  return t >= w.fromMs && t < w.toMs;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
