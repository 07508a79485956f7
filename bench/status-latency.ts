/**
 * `GET /status/:id` and `GET /healthz` latency with 50 incidents running, through the real HTTP
 * stack: offline replays in real time (a recording's windows take as long as they did live),
 * started one after another over a ramp so they do not move in lockstep, then kept at 50 (a
 * finished one is replaced at once): at any moment most incidents wait in their windows while a
 * few run their agents and write their traces, as on a busy coordinator. A few clients (on a
 * worker thread: their own work stays out of the server's event loop) poll the status of the
 * running incidents, as dashboards would, and one polls /healthz; prints p50 / p99 of each, and
 * of the server's event-loop delay over the same time (the floor under any request).
 *
 * Run: `npm run bench -- --only status` or `node dist/bench/status-latency.js [seconds]`.
 */
import { existsSync } from 'node:fs';
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { loadConfig } from '../src/config/index.js';
import { startCoordinatorServer } from '../src/http/start-coordinator-server.js';
import { createLogger } from '../src/logger.js';
import { repoRoot } from './loghub.js';

export type StatusBenchResult = { running: number; status: Percentiles; healthz: Percentiles; loopDelay: Percentiles; loopBusy: number };
export type Percentiles = { requests: number; p50: number; p99: number; max: number };

const RUNNING = 50;
/** Status pollers at once, each asking at most every POLL_EVERY_MS (200 requests/s in all): the same load before and after a change. */
const POLLERS = 4;
const POLL_EVERY_MS = 20;
/** The ramp: one incident started every this many ms before the measurement begins. */
const RAMP_STEP_MS = 600;

export async function runStatusLatencyBench(log: (line: string) => void, seconds = 30): Promise<StatusBenchResult> {
  const root = repoRoot();
  const examples = path.join(root, 'examples');
  const bundles = (await readdir(examples, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && existsSync(path.join(examples, d.name, 'manifest.json')))
    .map((d) => d.name)
    .sort();
  const dir = await mkdtemp(path.join(tmpdir(), 'chaos-bench-status-'));
  const config = loadConfig({
    CHAOS_INCIDENTS_DIR: dir,
    CHAOS_STATE_DIR: path.join(dir, '.state'),
    CHAOS_EXAMPLES_DIR: examples,
    CHAOS_LOG_LEVEL: 'silent',
    CHAOS_PORT: '0',
    CHAOS_MAX_CONCURRENT_INCIDENTS: String(RUNNING),
    // The PDF is Chromium's work, not the coordinator's: it would only measure the browser.
    CHAOS_PDF: 'false',
  });
  const { server, coordinator, stop } = await startCoordinatorServer(config, createLogger('silent'));
  const running = new Set<string>();
  let stopping = false;
  let started = 0;
  let replaced = 0;
  let busy = 0;

  const startOne = async (): Promise<void> => {
    const bundle = bundles[started++ % bundles.length]!;
    const res = await fetch(`${server.url}/start_incident`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ scenario: 'investigate', options: { offline: true, bundle, replay_speed: 1 } }),
    });
    const body = (await res.json()) as { incident_id?: string; detail?: string };
    if (res.status !== 202 || !body.incident_id) throw new Error(`start_incident answered ${res.status}: ${body.detail ?? ''}`);
    const id = body.incident_id;
    running.add(id);
    const unsubscribe = coordinator.incidents.subscribe(id, () => undefined, () => {
      unsubscribe();
      running.delete(id);
      if (!stopping) void startOne().catch((error: unknown) => log(`  restart failed: ${String(error)}`));
    });
  };

  const loop = monitorEventLoopDelay({ resolution: 10 });
  let times: { status: number[]; healthz: number[] };
  try {
    for (let i = 0; i < RUNNING; i++) {
      await startOne();
      await new Promise((r) => setTimeout(r, RAMP_STEP_MS));
    }
    const startedBefore = started;
    loop.enable();
    const eluBefore = perf.eventLoopUtilization();
    // The clients run on a thread of their own: their work must not sit in the server's event loop.
    const worker = new Worker(new URL(import.meta.url), { workerData: { role: POLLER_ROLE, url: server.url, seconds, pollers: POLLERS, everyMs: POLL_EVERY_MS } satisfies PollerData });
    const tell = () => worker.postMessage([...running]);
    tell();
    const ticker = setInterval(tell, 200);
    try {
      times = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    } finally {
      clearInterval(ticker);
      await worker.terminate();
    }
    loop.disable();
    busy = perf.eventLoopUtilization(eluBefore).utilization;
    replaced = started - startedBefore;
  } finally {
    stopping = true;
    await stop();
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }

  const ms = (ns: number) => ns / 1e6;
  const loopDelay: Percentiles = { requests: loop.count, p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) };
  const result: StatusBenchResult = { running: RUNNING, status: percentiles(times.status), healthz: percentiles(times.healthz), loopDelay, loopBusy: busy };
  log(`HTTP latency with ${RUNNING} incidents running (offline replays in real time, ${replaced} finished and replaced in the ${seconds} s measured), ${POLLERS} status pollers at most every ${POLL_EVERY_MS} ms each:`);
  for (const [name, p] of [['GET /status/:id', result.status], ['GET /healthz', result.healthz]] as const) {
    log(`  ${name.padEnd(16)} p50 ${p.p50.toFixed(1).padStart(7)} ms   p99 ${p.p99.toFixed(1).padStart(7)} ms   max ${p.max.toFixed(1).padStart(7)} ms   (${p.requests} requests)`);
  }
  log(`  event loop delay p50 ${loopDelay.p50.toFixed(1).padStart(7)} ms   p99 ${loopDelay.p99.toFixed(1).padStart(7)} ms   max ${loopDelay.max.toFixed(1).padStart(7)} ms   (loop busy ${(busy * 100).toFixed(0)} % of the time)`);
  return result;
}

type PollerData = { role: typeof POLLER_ROLE; url: string; seconds: number; pollers: number; everyMs: number };
const POLLER_ROLE = 'status-poller';

/** The clients (in the worker): `pollers` loops over the running incidents' status, one on /healthz. */
async function pollFromWorker(data: PollerData): Promise<void> {
  let ids: string[] = [];
  parentPort!.on('message', (running: string[]) => (ids = running));
  const status: number[] = [];
  const healthz: number[] = [];
  const timed = async (url: string, into: number[]): Promise<void> => {
    const t = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    into.push(performance.now() - t);
  };
  const until = performance.now() + data.seconds * 1000;
  const poller = async (n: number): Promise<void> => {
    for (let k = n; performance.now() < until; k += data.pollers) {
      const next = performance.now() + data.everyMs;
      const id = ids[k % Math.max(1, ids.length)];
      if (id) await timed(`${data.url}/status/${id}`, status);
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  const health = async (): Promise<void> => {
    while (performance.now() < until) {
      await timed(`${data.url}/healthz`, healthz);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await Promise.all([...Array.from({ length: data.pollers }, (_, n) => poller(n)), health()]);
  parentPort!.postMessage({ status, healthz });
}

function percentiles(values: readonly number[]): Percentiles {
  if (!values.length) throw new Error('no requests were timed');
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { requests: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1)! };
}

if (!isMainThread && (workerData as Partial<PollerData> | null)?.role === POLLER_ROLE) {
  await pollFromWorker(workerData as PollerData);
} else if (isMainThread && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runStatusLatencyBench(console.log, Number(process.argv[2] ?? 30)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
