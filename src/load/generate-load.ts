/**
 * Open-model HTTP load: requests go out on a fixed schedule (t0 + i / rps) whatever the latency,
 * so a degraded service cannot slow the generator down and hide its own slowness (coordinated
 * omission). Latency is measured from the *scheduled* send time: a request that waited for a free
 * connection or behind a late timer carries that wait. Built on undici's Pool (one per origin,
 * enough connections for every request of the rate to be in flight until its timeout, and then
 * some); one `request` per tick.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { quantileSorted } from 'simple-statistics';
import { Pool, type Dispatcher } from 'undici';
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
  /** Pool size; default: the rate times (the timeout + 1 s), capped at 1024. */
  connections?: number;
};

export type LoadDeps = {
  /** Hosts load may be sent to besides loopback: the enrolled targets' addresses (exact match). */
  allowedHosts: readonly string[];
  logger?: Logger;
  /** Called once per finished request, in completion order (progress, live charts). */
  onRecord?: (record: LoadRecord) => void;
};

/** A rate counted per whole second of the run (seconds since t0), against the target. */
export type RateBySecond = {
  /** Whole seconds counted. */
  seconds: number;
  min: number;
  max: number;
  /** Share of those seconds whose count was within 5 % of the target. */
  within_5pct: number;
};

/**
 * How well the schedule was kept, at two points: when each request was issued (handed to the
 * pool), and when it went on the wire (written to a connection: a pool with every connection
 * busy holds requests back, which a closed loop would hide).
 */
export type DispatchFigures = {
  /** Requests handed to the pool. */
  dispatched: number;
  /** Dispatched requests per second between the first and the last dispatch. */
  achieved_rps: number;
  /** |achieved - target| / target. */
  deviation: number;
  /** Requests issued in each second of the run: bursts after a stall show here, not in the average. */
  per_second: RateBySecond;
  /** Delay between a request's scheduled time and its dispatch (a late timer, a busy event loop). */
  lag_ms: { p50: number; p99: number; max: number };
  /** Requests written to a connection; those missing never got one before their timeout. */
  wire: {
    sent: number;
    achieved_rps: number;
    per_second: RateBySecond;
    /** From the scheduled time to the write: issue lag, the wait for a free connection, the connect. */
    lag_ms: { p50: number; p99: number; max: number };
  };
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

/**
 * A request holds its connection until it ends or times out, and then the connection takes a
 * moment to close: exactly rate × timeout connections leave none free when a degraded victim
 * lets every request time out, and requests queue in the pool, go out late or never (seen on the
 * sandbox at 200/s with a 2 s timeout: 400 connections, 6-11 % of requests never sent). One
 * second of the rate more absorbs that and the burst after an event-loop stall. Node raises the
 * soft open-files limit to the hard one at start, so 1024 sockets fit.
 */
const SLACK_MS = 1000;
const MAX_DEFAULT_CONNECTIONS = 1024;

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
  const connections = options.connections ?? Math.min(MAX_DEFAULT_CONNECTIONS, Math.max(1, Math.ceil((options.rps * (options.timeoutMs + SLACK_MS)) / 1000)));
  const pool = new Pool(url.origin, {
    connections,
    pipelining: 1,
    connect: { timeout: options.timeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  // Each request marks the moment undici writes it to a connection (see OnWire).
  let marking: (() => void) | null = null;
  const client = pool.compose((dispatch) => (opts, handler) => dispatch(opts, marking ? new OnWire(handler, marking) : handler));
  const path = `${url.pathname}${url.search}`;
  const method = options.method ?? 'GET';
  const log = deps.logger?.child({ component: 'load', origin: url.origin });

  const t0 = performance.now();
  const startMs = Date.now();
  const bySchedule: LoadRecord[] = [];
  const finished: LoadRecord[] = [];
  const lags: number[] = [];
  const dispatchTimes: number[] = [];
  /** By schedule index: when the request was written to a connection. */
  const wireTimes: (number | undefined)[] = [];
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
    // undici dispatches synchronously inside request(): the marker reaches this request only.
    marking = () => (wireTimes[i] ??= performance.now());
    const request = client.request({ path, method, signal: AbortSignal.timeout(options.timeoutMs), headers: { 'user-agent': 'chaos-handler-load' } });
    marking = null;
    const done = request
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
      dispatch: dispatchFigures(t0, interval, dispatchTimes, lags, wireTimes, options.rps),
    };
  })();

  log?.info({ rps: options.rps, connections, durationS: options.durationS ?? null }, 'load started');
  tick();
  return { startMs, done, stop, finished: () => finished };
}

function dispatchFigures(t0: number, interval: number, times: readonly number[], lags: readonly number[], wireTimes: readonly (number | undefined)[], target: number): DispatchFigures {
  const achieved = rate(times);
  const wire: number[] = [];
  const wireLags: number[] = [];
  wireTimes.forEach((t, i) => {
    if (t === undefined) return;
    wire.push(t);
    wireLags.push(t - (t0 + i * interval));
  });
  wire.sort((a, b) => a - b);
  // Whole seconds of the schedule: from t0 to the second the last request was due in.
  const seconds = Math.floor(((times.length - 1) * interval) / 1000);
  const wireRate = rate(wire);
  return {
    dispatched: times.length,
    achieved_rps: round3(achieved),
    deviation: round3(Math.abs(achieved - target) / target),
    per_second: rateBySecond(times, t0, seconds, target),
    lag_ms: percentilesOf(lags),
    wire: { sent: wire.length, achieved_rps: round3(wireRate), per_second: rateBySecond(wire, t0, seconds, target), lag_ms: percentilesOf(wireLags) },
  };
}

/** Events per second between the first and the last (sorted times, ms). */
function rate(times: readonly number[]): number {
  const first = times[0];
  const last = times[times.length - 1];
  return first !== undefined && last !== undefined && last > first ? (times.length - 1) / ((last - first) / 1000) : 0;
}

function rateBySecond(times: readonly number[], t0: number, seconds: number, target: number): RateBySecond {
  const counts = new Array<number>(Math.max(0, seconds)).fill(0);
  for (const t of times) {
    const s = Math.floor((t - t0) / 1000);
    if (s >= 0 && s < counts.length) counts[s]! += 1;
  }
  const within = counts.filter((c) => Math.abs(c - target) <= 0.05 * target).length;
  return { seconds: counts.length, min: counts.length ? Math.min(...counts) : 0, max: counts.length ? Math.max(...counts) : 0, within_5pct: counts.length ? round3(within / counts.length) : 0 };
}

function percentilesOf(values: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number) => (sorted.length === 0 ? 0 : round3(quantileSorted(sorted, p)));
  return { p50: q(0.5), p99: q(0.99), max: round3(sorted[sorted.length - 1] ?? 0) };
}

/**
 * Passes every callback through, noting `onRequestStart` when the request goes on: undici calls
 * it right before writing the request to a connection (lib/dispatcher/client-h1.js, writeH1 →
 * request.onConnect), and also for a request whose signal fired while it waited for one, which
 * the handler aborts there instead of sending.
 */
class OnWire implements Dispatcher.DispatchHandler {
  constructor(
    private readonly inner: Dispatcher.DispatchHandler,
    private readonly mark: () => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.inner.onRequestStart?.(controller, context);
    if (!controller.aborted) this.mark();
  }

  onRequestUpgrade(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.inner.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.inner.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.inner.onResponseError?.(controller, error);
  }
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
