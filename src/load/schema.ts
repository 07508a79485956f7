/**
 * What the load generator records and reports. One `LoadRecord` per scheduled request (the rows
 * of `load.csv`); the figures are computed from them by stats.ts.
 */
import { z } from 'zod';

export const LoadRecord = z.object({
  /** When the request was *scheduled* to go out (ISO, ms): the open model's clock, not the send time. */
  timestamp: z.string(),
  /** From the scheduled time to the end of the response body (or the error): queueing included. */
  latency_ms: z.number().nonnegative(),
  /** A 2xx or 3xx answer, read to its end. */
  ok: z.boolean(),
  /** The HTTP status; null when no answer came (refused, reset, timed out). */
  status: z.number().int().nullable(),
  /** A short error code (`timeout`, `ECONNREFUSED`, `http_503`...); null when ok. */
  error: z.string().nullable(),
});
export type LoadRecord = z.infer<typeof LoadRecord>;

/** Percentiles of latency in ms; null when there was nothing to measure. */
export type LatencyPercentiles = { p50: number | null; p95: number | null; p99: number | null; max: number | null };

/** One second of the run, by the second in which requests were scheduled. */
export type LoadSecond = {
  /** Seconds since the start of the run (0-based). */
  second: number;
  /** ISO time of the start of that second. */
  t: string;
  requests: number;
  ok: number;
  errors: number;
  /** errors / requests; 0 when no request was scheduled. */
  error_rate: number;
  /** Successful responses that *completed* within this second: what users got. */
  throughput_rps: number;
} & LatencyPercentiles;

export type LoadSummary = {
  requests: number;
  ok: number;
  errors: number;
  error_rate: number;
  /** Successful responses per second over the run. */
  throughput_rps: number;
  latency_ms: LatencyPercentiles;
};
