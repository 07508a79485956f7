/**
 * Open-model HTTP load: requests go out on a fixed schedule (t0 + i / rps) whatever the latency,
 * so a degraded service cannot slow the generator down and hide its own slowness (coordinated
 * omission). Latency is measured from the *scheduled* send time: a request that waited for a free
 * connection or behind a late timer carries that wait. Built on undici's Pool (one per origin,
 * enough connections for the rate at the timeout); one `request` per tick.
 */
import { performance } from 'node:perf_hooks';
import { quantileSorted } from 'simple-statistics';
import { Pool } from 'undici';
import { InputError, NotAllowedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LoadRecord } from './schema.js';

export type LoadOptions = {
  url: string;
  method?: 'GET' | 'HEAD';
  /** Requests per second, on schedule. */
  rps: number;
  /** Stop scheduling after this long; without it the load runs until `stop()`. */
  durationS?: number;
  /** Per request, from its dispatch: connect, queue, headers and body. */
  timeoutMs: number;
  /** Pool size; default: enough for the rate at the timeout (capped at 512). */
  connections?: number;
};

export type LoadDeps = {
  /** Hosts load may be sent to besides loopback: the enrolled targets' addresses (exact match). */
  allowedHosts: readonly string[];
  logger?: Logger;
  /** Called once per finished request, in completion order (progress, live charts). */
  onRecord?: (record: LoadRecord) => void;
};

/** How well the schedule was kept: when requests were actually handed to the pool. */
export type DispatchFigures = {
  /** Requests handed to the pool. */
  dispatched: number;
  /** Dispatched requests per second between the first and the last dispatch. */
  achieved_rps: number;
  /** |achieved - target| / target. */
  deviation: number;
  /** Delay between a request's scheduled time and its dispatch (a late timer, a busy event loop). */
  lag_ms: { p50: number; p99: number; max: number };
};

export type LoadResult = {
  url: string;
  target_rps: number;
  /** Epoch ms and ISO time of the schedule's t0; record timestamps are t0 + i / rps. */
  start_ms: number;
  started_at: string;
  ended_at: string;
  /** In scheduled order. */
  records: LoadRecord[];
  dispatch: DispatchFigures;
};

export type LoadRun = {
  readonly startMs: number;
  /** Resolves once scheduling stopped and every request dispatched has finished (or timed out). */
  readonly done: Promise<LoadResult>;
  /** Stop scheduling now (idempotent); requests in flight finish within their timeout. */
  stop(): void;
  /** Records finished so far, in completion order. */
  finished(): readonly LoadRecord[];
};

const MAX_DEFAULT_CONNECTIONS = 512;

/**
 * Load only goes to this machine's loopback or to a host enrolled as a target: never to an
 * arbitrary address someone typed into an experiment file.
 */
export function assertLoadUrl(url: string, allowedHosts: readonly string[]): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new InputError(`load url ${JSON.stringify(url)} is not a URL`, 'load.url', { cause: error });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InputError('load url must be http:// or https://', 'load.url');
  if (parsed.username !== '' || parsed.password !== '') throw new InputError('load url must not carry credentials', 'load.url');
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const allowed = new Set(allowedHosts.map((h) => h.toLowerCase()));
  if (!isLoopback(host) && !allowed.has(host)) {
    throw new NotAllowedError(`load may only go to loopback or an enrolled target's host; ${JSON.stringify(host)} is neither`);
  }
  return parsed;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Starts the load at once; see `LoadRun`. */
export function startLoad(options: LoadOptions, deps: LoadDeps): LoadRun {
  const url = assertLoadUrl(options.url, deps.allowedHosts);
  if (!(options.rps > 0) || !Number.isFinite(options.rps)) throw new InputError('load rps must be a positive number', 'load.rps');
  if (!(options.timeoutMs > 0)) throw new InputError('load timeout_ms must be positive', 'load.timeout_ms');
  const interval = 1000 / options.rps;
  const total = options.durationS === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(options.durationS * options.rps));
  const connections = options.connections ?? Math.min(MAX_DEFAULT_CONNECTIONS, Math.max(1, Math.ceil((options.rps * options.timeoutMs) / 1000)));
  const pool = new Pool(url.origin, {
    connections,
    pipelining: 1,
    connect: { timeout: options.timeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  const path = `${url.pathname}${url.search}`;
  const method = options.method ?? 'GET';
  const log = deps.logger?.child({ component: 'load', origin: url.origin });

  const t0 = performance.now();
  const startMs = Date.now();
  const bySchedule: LoadRecord[] = [];
  const finished: LoadRecord[] = [];
  const lags: number[] = [];
  const dispatchTimes: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let next = 0;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let resolveStopped!: () => void;
  const stoppedPromise = new Promise<void>((resolve) => (resolveStopped = resolve));

  const fire = (i: number) => {
    const scheduledAt = t0 + i * interval;
    const dispatchedAt = performance.now();
    lags.push(dispatchedAt - scheduledAt);
    dispatchTimes.push(dispatchedAt);
    const timestamp = new Date(startMs + i * interval).toISOString();
    const finish = (status: number | null, error: string | null) => {
      const record: LoadRecord = {
        timestamp,
        latency_ms: Math.max(0, performance.now() - scheduledAt),
        ok: error === null,
        status,
        error,
      };
      bySchedule[i] = record;
      finished.push(record);
      deps.onRecord?.(record);
    };
    const done = pool
      .request({ path, method, signal: AbortSignal.timeout(options.timeoutMs), headers: { 'user-agent': 'chaos-handler-load' } })
      .then(
        async (res) => {
          // The latency a user sees ends with the body; a body that cannot be read is a failure.
          await res.body.dump({ limit: 1 << 20 });
          finish(res.statusCode, res.statusCode >= 200 && res.statusCode < 400 ? null : `http_${res.statusCode}`);
        },
      )
      .catch((error: unknown) => finish(null, errorCode(error)))
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  const tick = () => {
    timer = null;
    if (stopped) return;
    const now = performance.now();
    // Everything due is sent now, late or not: a late timer must not thin out the schedule.
    while (next < total && t0 + next * interval <= now) fire(next++);
    if (next >= total) {
      stop();
      return;
    }
    timer = setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
  };

  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    timer = null;
    resolveStopped();
  };

  const done = (async (): Promise<LoadResult> => {
    await stoppedPromise;
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    await pool.close().catch((error: unknown) => log?.warn({ err: error }, 'load pool did not close cleanly'));
    const records = bySchedule.filter((r): r is LoadRecord => r !== undefined);
    log?.info({ requests: records.length, rps: options.rps }, 'load finished');
    return {
      url: url.toString(),
      target_rps: options.rps,
      start_ms: startMs,
      started_at: new Date(startMs).toISOString(),
      ended_at: new Date().toISOString(),
      records,
      dispatch: dispatchFigures(dispatchTimes, lags, options.rps),
    };
  })();

  log?.info({ rps: options.rps, connections, durationS: options.durationS ?? null }, 'load started');
  tick();
  return { startMs, done, stop, finished: () => finished };
}

function dispatchFigures(times: readonly number[], lags: readonly number[], target: number): DispatchFigures {
  const first = times[0];
  const last = times[times.length - 1];
  const achieved = first !== undefined && last !== undefined && last > first ? (times.length - 1) / ((last - first) / 1000) : 0;
  const sorted = [...lags].sort((a, b) => a - b);
  const q = (p: number) => (sorted.length === 0 ? 0 : round3(quantileSorted(sorted, p)));
  return {
    dispatched: times.length,
    achieved_rps: round3(achieved),
    deviation: round3(Math.abs(achieved - target) / target),
    lag_ms: { p50: q(0.5), p99: q(0.99), max: round3(sorted[sorted.length - 1] ?? 0) },
  };
}

/**
 * A short, stable code for why a request failed (never the server's text). Duck-typed: the
 * abort reason of `AbortSignal.timeout` is a DOMException, not always an `Error` of this realm.
 */
function errorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'error';
  const { name, code } = error as { name?: unknown; code?: unknown };
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  if (typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code)) return code.includes('TIMEOUT') ? 'timeout' : code;
  return typeof name === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(name) ? name : 'error';
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
