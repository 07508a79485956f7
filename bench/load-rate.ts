/**
 * Open-model load at 200 requests/s: first against a loopback server whose handler turns slow
 * (50 ms, then 400 ms, then 1.5 s per answer: no live host needed), then against the sandbox
 * victim (npm run sandbox:up first, as root; run it under the live lock) on GET /items, healthy
 * and while cpu_spike pins its CPUs. Prints, for each: the rate the generator issued requests at
 * (over the run and per whole second, against the target; goal: within 5 %) and its lag behind
 * the schedule; the rate they went on the wire at (written to a connection: a pool with every
 * connection busy would hold them back) and how many never did; what users got (successful
 * responses per second, error rate, latency percentiles from the scheduled send time); and this
 * process's CPU and event-loop stalls, which is what a late schedule comes from.
 *
 * Run: `flock -o -w 1500 /tmp/chaos-live.lock npm run bench -- --only load-rate`.
 */
import { readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ALLOWED_HOST_SCRIPTS, HOST_SCRIPTS } from '../src/chaos/host-scripts.js';
import { createLogger } from '../src/logger.js';
import { startLoad, summarize, type LoadOptions, type LoadResult, type RateBySecond } from '../src/load/index.js';
import { buildCommand, connectTarget, loadTargets, type SshConnection } from '../src/ssh/index.js';
import { repoRoot } from './loghub.js';

export type LoadRateFigures = {
  phase: string;
  target_rps: number;
  achieved_rps: number;
  deviation: number;
  /** Issued per whole second: the worst second, and the share of seconds within 5 %. */
  per_second: RateBySecond;
  lag_p99_ms: number;
  /** Written to a connection: the rate the victim was offered. */
  wire_rps: number;
  wire_per_second: RateBySecond;
  wire_lag_p99_ms: number;
  never_sent: number;
  ok_rps: number;
  error_rate: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** This process during the phase: CPU used (share of one core) and its event loop's worst stall. */
  cpu_pct: number;
  loop_delay_p99_ms: number;
  loop_delay_max_ms: number;
};

const RPS = 200;
const SECONDS = 20;

export async function runLoadRateBench(log: (line: string) => void, options: { rps?: number; seconds?: number; sandbox?: boolean; loopback?: boolean } = {}): Promise<LoadRateFigures[]> {
  const rps = options.rps ?? RPS;
  const seconds = options.seconds ?? SECONDS;
  const figures = options.loopback === false ? [] : await loopbackBench(log, rps, seconds);
  if (options.sandbox === false) return figures;
  return [...figures, ...(await sandboxBench(log, rps, seconds))];
}

/** A handler that answers after `delayMs`: the victim slowing down, without a live host. */
async function loopbackBench(log: (line: string) => void, rps: number, seconds: number): Promise<LoadRateFigures[]> {
  let delayMs = 0;
  const server = createServer((_req, res) => {
    setTimeout(() => res.end('{"items":[]}'), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/items`;
  const figures: LoadRateFigures[] = [];
  try {
    log(`loopback: ${rps} requests/s for ${seconds} s on GET ${url}, the handler answering after a fixed delay`);
    for (const delay of [50, 400, 1500]) {
      delayMs = delay;
      figures.push(report(log, await measured(`loopback, ${delay} ms handler`, { url, rps, durationS: seconds, timeoutMs: 2000 }, [])));
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return figures;
}

async function sandboxBench(log: (line: string) => void, rps: number, seconds: number): Promise<LoadRateFigures[]> {
  const root = repoRoot();
  const targetsFile = path.join(root, 'config', 'targets.json');
  const { targets } = await loadTargets(targetsFile).catch((error: unknown) => {
    throw new Error(`${targetsFile} is not readable: bring the sandbox up first (npm run sandbox:up, as root)`, { cause: error });
  });
  const sandbox = targets.find((t) => t.name === 'sandbox');
  if (!sandbox) throw new Error(`no target named sandbox in ${targetsFile}: run npm run sandbox:up`);
  const url = `http://${sandbox.host}:8080/items`;
  const logger = createLogger('silent');
  const { connection } = await connectTarget({ name: 'sandbox' }, { targets, keysDir: path.join(root, 'config', 'keys'), logger });

  const figures: LoadRateFigures[] = [];
  const measure = async (phase: string) => {
    figures.push(report(log, await measured(phase, { url, rps, durationS: seconds, timeoutMs: 2000 }, [sandbox.host])));
  };

  // The sandbox shares this machine's two CPUs; a real target does not take the coordinator's.
  // This process's threads (the event loop, GC, libuv's pool: nice is per thread on Linux) go
  // ahead of the sandbox's busy workers, as on a machine of their own; said in the output, and
  // skipped when not allowed (raising a priority needs root).
  const reniced = renice(-10);
  try {
    log(`sandbox: ${rps} requests/s for ${seconds} s on GET ${url}, open model (latency from the scheduled send time); generator ${reniced.length ? `at nice -10 (${reniced.length} threads) over the co-located sandbox` : 'at its usual priority (raising it needs root)'}`);
    await measure('healthy');
    // Four busy workers on the sandbox's two CPUs for the whole measurement (the host's own
    // watchdog reverts them after 120 s should this process die).
    const start = buildCommand(HOST_SCRIPTS.cpu_spike, ['start', '--max-runtime', '120', String(seconds + 30), '4'], { allowedScripts: ALLOWED_HOST_SCRIPTS, sudo: true });
    const started = await connection.exec(start, { timeoutMs: 30_000 });
    if (started.exitCode !== 0) throw new Error(`cpu_spike did not start: ${started.stderr.trim().slice(-300)}`);
    await sleep(2000);
    await measure('degraded (cpu_spike x4)');
  } finally {
    for (const { tid, nice } of reniced) setPriority(tid, nice);
    await stopCpuSpike(connection);
    await connection.close();
  }
  return figures;
}

/** Sets every thread of this process to `nice`; returns the threads changed and their old values. */
function renice(nice: number): { tid: number; nice: number }[] {
  const changed: { tid: number; nice: number }[] = [];
  for (const tid of readdirSync('/proc/self/task').map(Number)) {
    try {
      const before = os.getPriority(tid);
      os.setPriority(tid, nice);
      changed.push({ tid, nice: before });
    } catch {
      // not allowed, or the thread has ended
    }
  }
  return changed;
}

function setPriority(tid: number, nice: number): void {
  try {
    os.setPriority(tid, nice);
  } catch {
    // the thread has ended
  }
}

async function stopCpuSpike(connection: SshConnection): Promise<void> {
  const stop = buildCommand(HOST_SCRIPTS.cpu_spike, ['stop'], { allowedScripts: ALLOWED_HOST_SCRIPTS, sudo: true });
  await connection.exec(stop, { timeoutMs: 30_000 }).catch(() => undefined);
}

/** One load run, with this process's CPU and event-loop stalls over it. */
async function measured(phase: string, options: LoadOptions, allowedHosts: string[]): Promise<LoadRateFigures> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await startLoad(options, { allowedHosts }).done;
  const used = process.cpuUsage(cpu);
  loop.disable();
  return figuresOf(phase, result, {
    cpu_pct: ((used.user + used.system) / 1000 / (performance.now() - started)) * 100,
    loop_delay_p99_ms: loop.percentile(99) / 1e6,
    loop_delay_max_ms: loop.max / 1e6,
  });
}

function figuresOf(phase: string, result: LoadResult, process: Pick<LoadRateFigures, 'cpu_pct' | 'loop_delay_p99_ms' | 'loop_delay_max_ms'>): LoadRateFigures {
  const s = summarize(result.records);
  const d = result.dispatch;
  return {
    phase,
    target_rps: result.target_rps,
    achieved_rps: d.achieved_rps,
    deviation: d.deviation,
    per_second: d.per_second,
    lag_p99_ms: d.lag_ms.p99,
    wire_rps: d.wire.achieved_rps,
    wire_per_second: d.wire.per_second,
    wire_lag_p99_ms: d.wire.lag_ms.p99,
    never_sent: d.dispatched - d.wire.sent,
    ok_rps: s.throughput_rps,
    error_rate: s.error_rate,
    p50: s.latency_ms.p50,
    p95: s.latency_ms.p95,
    p99: s.latency_ms.p99,
    ...process,
  };
}

function report(log: (line: string) => void, f: LoadRateFigures): LoadRateFigures {
  const seconds = (r: RateBySecond) => `per second ${r.min}-${r.max}, ${Math.round(r.within_5pct * 100)} % of ${r.seconds} s within 5 %`;
  log(
    [
      `${f.phase}: target ${f.target_rps}/s`,
      `  issued       ${f.achieved_rps.toFixed(1)}/s (deviation ${(f.deviation * 100).toFixed(2)} %, goal ≤ 5 %), ${seconds(f.per_second)}, lag from schedule p99 ${f.lag_p99_ms.toFixed(1)} ms`,
      `  on the wire  ${f.wire_rps.toFixed(1)}/s (deviation ${((Math.abs(f.wire_rps - f.target_rps) / f.target_rps) * 100).toFixed(2)} %), ${seconds(f.wire_per_second)}, schedule → wire p99 ${f.wire_lag_p99_ms.toFixed(1)} ms, never sent ${f.never_sent}`,
      `  users got    ok ${f.ok_rps.toFixed(1)}/s, errors ${(f.error_rate * 100).toFixed(1)} %, latency from schedule p50 ${ms(f.p50)} p95 ${ms(f.p95)} p99 ${ms(f.p99)}`,
      `  generator    CPU ${f.cpu_pct.toFixed(0)} % of a core, event-loop delay p99 ${f.loop_delay_p99_ms.toFixed(1)} ms, max ${f.loop_delay_max_ms.toFixed(1)} ms`,
    ].join('\n'),
  );
  return f;
}

function ms(v: number | null): string {
  return v === null ? '-' : `${v.toFixed(1)} ms`;
}
