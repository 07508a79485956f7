/**
 * Watch mode's time to detect (MTTD) for each of the six sandbox faults: the sandbox is watched
 * over the real HTTP API (1 s samples, 2 in a row out of band), the fault is injected behind the
 * watch's back, and MTTD is the time from the injection to the watch opening its investigation
 * (incident.json `detected_at`); the investigation's diagnosis is printed beside it.
 *
 * net_latency: this kernel has no netem, so the network fault is the token-bucket throttle of
 * tests/integration/live/network.test.ts (32 kbit/s on eth0 for all but SSH), with three clients
 * using the victim as its users would: a throttled link shows in their requests, not on the host.
 *
 * Touches the shared sandbox: run it under the live lock, e.g.
 *   flock -o -w 1500 /tmp/chaos-live.lock npm run bench -- --only watch
 * or some faults only: node dist/bench/watch-mttd.js net_latency service_kill
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config/index.js';
import { startCoordinatorServer } from '../src/http/start-coordinator-server.js';
import { createLogger } from '../src/logger.js';
import { repoRoot } from './loghub.js';
import { enrolledSandbox } from './sandbox-target.js';

const run = promisify(execFile);

const SANDBOX = { address: '10.213.7.2', netns: 'chsbx', iface: 'eth0' };
const VICTIM_URL = `http://${SANDBOX.address}:8080/items?limit=200`;
const DETECT_TIMEOUT_MS = 60_000;

type Fault = { name: string; inject: () => Promise<void>; revert: () => Promise<void> };
export type WatchMttdRow = { fault: string; mttdS: number | null; breaches: string[]; diagnosis: string | null; incidentId: string | null };

export async function runWatchMttdBench(log: (line: string) => void, only: string[] = []): Promise<WatchMttdRow[]> {
  const { sandbox, targetsFile, keysDir } = await enrolledSandbox();

  const dir = await mkdtemp(path.join(tmpdir(), 'chaos-bench-watch-'));
  const knownHosts = path.join(dir, 'known_hosts');
  await writeFile(knownHosts, sandbox.host_keys.map((k) => `${sandbox.host} ${k}\n`).join(''));
  const onSandbox = async (command: string) => {
    await run('ssh', ['-i', path.join(keysDir, sandbox.key), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=error', `${sandbox.user}@${sandbox.host}`, command], { timeout: 60_000 });
  };
  const script = (name: string, args: string) => onSandbox(`sudo -n /opt/chaos-scripts/${name}.sh start --max-runtime 120 --lease 120 ${args}`);
  const stopScript = (name: string) => onSandbox(`sudo -n /opt/chaos-scripts/${name}.sh stop`).catch(() => undefined);
  const tc = (...args: string[]) => run('ip', ['netns', 'exec', SANDBOX.netns, 'tc', ...args], { timeout: 10_000 });
  // Declared wide: TypeScript cannot see the assignments inside the fault callbacks.
  let users = null as { stop: () => Promise<void> } | null;
  // Only a throttle this bench added is removed: a root qdisc already there is someone else's.
  let throttled = false;
  const unthrottle = async () => {
    if (throttled) await tc('qdisc', 'del', 'dev', SANDBOX.iface, 'root').catch(() => undefined);
    throttled = false;
  };

  const faults: Fault[] = [
    { name: 'cpu_spike', inject: () => script('cpu_spike', '60 4'), revert: () => stopScript('cpu_spike') },
    { name: 'memory_leak', inject: () => script('memory_leak', '1024 30'), revert: () => stopScript('memory_leak') },
    { name: 'disk_fill', inject: () => script('disk_fill', '600 /tmp/chaos_fill'), revert: () => stopScript('disk_fill') },
    {
      name: 'net_latency',
      inject: async () => {
        await tc('qdisc', 'add', 'dev', SANDBOX.iface, 'root', 'handle', '1:', 'htb', 'default', '2');
        throttled = true;
        for (const id of ['1:1', '1:2']) await tc('class', 'add', 'dev', SANDBOX.iface, 'parent', '1:', 'classid', id, 'htb', 'rate', '1gbit', 'quantum', '1514');
        for (const d of ['sport', 'dport']) await tc('filter', 'add', 'dev', SANDBOX.iface, 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'protocol', '6', '0xff', 'match', 'ip', d, '22', '0xffff', 'flowid', '1:1');
        await tc('qdisc', 'add', 'dev', SANDBOX.iface, 'parent', '1:2', 'handle', '20:', 'tbf', 'rate', '32kbit', 'burst', '1600', 'latency', '100ms');
        users = startUsers(3);
      },
      revert: async () => {
        await unthrottle();
        await users?.stop();
        users = null;
      },
    },
    { name: 'service_kill', inject: () => script('service_kill', 'victim-api'), revert: () => stopScript('service_kill') },
    { name: 'db_conn_exhaust', inject: () => script('db_conn_exhaust', `postgresql://victim@${SANDBOX.address}:5432/victim 100`), revert: () => stopScript('db_conn_exhaust') },
  ];

  const unknown = only.filter((name) => !faults.some((f) => f.name === name));
  if (unknown.length) throw new Error(`unknown fault ${unknown.join(', ')}: one of ${faults.map((f) => f.name).join(', ')}`);
  const chosen = only.length ? faults.filter((f) => only.includes(f.name)) : faults;

  // The sandbox's known-good reference, when one was recorded: what a watch of an enrolled host compares with.
  const stateDir = path.join(dir, 'state');
  await mkdir(path.join(stateDir, 'references'), { recursive: true });
  const reference = path.join(repoRoot(), 'config', 'state', 'references', 'sandbox.json');
  const withReference = await copyFile(reference, path.join(stateDir, 'references', 'sandbox.json')).then(() => true, () => false);

  const config = loadConfig({ CHAOS_INCIDENTS_DIR: path.join(dir, 'incidents'), CHAOS_STATE_DIR: stateDir, CHAOS_TARGETS_FILE: targetsFile, CHAOS_KEYS_DIR: keysDir, CHAOS_LOG_LEVEL: 'silent', CHAOS_PORT: '0', CHAOS_PDF: 'false' });
  const { server, stop } = await startCoordinatorServer(config, createLogger('silent'));
  const api = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${server.url}${route}`, { method, ...(body ? { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) } : {}) });
    return (await res.json()) as Record<string, unknown>;
  };
  type View = { samples: number; detections: { detected_at: string; breaches: string[]; incident_id: string | null; error: string | null }[] };

  const rows: WatchMttdRow[] = [];
  try {
    for (const fault of chosen) {
      await api('POST', '/targets/sandbox/watch', { interval_s: 1, consecutive: 2, cooldown_s: 600 });
      let row: WatchMttdRow = { fault: fault.name, mttdS: null, breaches: [], diagnosis: null, incidentId: null };
      try {
        await until(30_000, async () => ((await api('GET', '/targets/sandbox/watch')) as unknown as View).samples >= 3);
        const before = ((await api('GET', '/targets/sandbox/watch')) as unknown as View).detections;
        // Out of band before any fault: said, since its cooldown would hide the fault's detection.
        for (const d of before) log(`  ${fault.name.padEnd(16)} before the fault: ${d.breaches.join('; ')}`);
        const noise = before.length;
        const injectedAt = Date.now();
        const injected = await fault.inject().then(
          () => null,
          (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n').slice(0, 2).join(' '),
        );
        if (injected !== null) {
          row.diagnosis = `fault not injected: ${injected}`;
          continue;
        }
        let detection: View['detections'][number] | undefined;
        await until(DETECT_TIMEOUT_MS, async () => {
          detection = ((await api('GET', '/targets/sandbox/watch')) as unknown as View).detections.slice(noise).find((d) => d.incident_id !== null);
          return detection !== undefined;
        }).catch(() => undefined);
        if (detection) {
          row = { fault: fault.name, mttdS: (Date.parse(detection.detected_at) - injectedAt) / 1000, breaches: detection.breaches, diagnosis: null, incidentId: detection.incident_id };
          const id = detection.incident_id!;
          await until(120_000, async () => (await api('GET', `/status/${id}`)).status !== 'running');
          const final = (await api('GET', `/status/${id}`)) as { status: string; outcome: { category: string; culprit: string | null } | null };
          row.diagnosis = final.outcome ? `${final.outcome.category}${final.outcome.culprit ? ` (${final.outcome.culprit})` : ''}` : final.status;
        }
      } finally {
        await fault.revert();
        await api('DELETE', '/targets/sandbox/watch');
        rows.push(row);
        report(row);
      }
      // The host settles (service back, page cache freed) before the next fault is judged against its band.
      await waitHealthy();
    }
  } finally {
    await users?.stop();
    await unthrottle();
    await stop();
    await rm(dir, { recursive: true, force: true });
  }
  function report(row: WatchMttdRow): void {
    log(`  ${row.fault.padEnd(16)} MTTD ${row.mttdS === null ? `not detected in ${DETECT_TIMEOUT_MS / 1000} s` : `${row.mttdS.toFixed(1).padStart(5)} s`}   diagnosis ${row.diagnosis ?? 'n/a'}   first breach: ${row.breaches[0] ?? 'none'}`);
  }
  const detected = rows.filter((r) => r.mttdS !== null);
  log(`Watch mode on the sandbox (1 s samples, 2 in a row out of band; ${withReference ? 'compared with its known-good reference' : 'no reference: its first samples are the band'}): ${detected.length} of ${rows.length} faults detected by itself`);
  return rows;
}

/** Three clients using the victim as its users do, until stopped. */
function startUsers(clients: number): { stop: () => Promise<void> } {
  let stopped = false;
  const loops = Array.from({ length: clients }, async () => {
    while (!stopped) {
      try {
        await (await fetch(VICTIM_URL, { signal: AbortSignal.timeout(4000) })).arrayBuffer();
      } catch {
        // a throttled request that timed out: what the fault does to users
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** Until the victim answers three times in a row within a second (60 s at most). */
async function waitHealthy(): Promise<void> {
  let inARow = 0;
  await until(60_000, async () => {
    const t = performance.now();
    const ok = await fetch(VICTIM_URL, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    inARow = ok && performance.now() - t < 1000 ? inARow + 1 : 0;
    return inARow >= 3;
  }).catch(() => undefined);
}

async function until(timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runWatchMttdBench(console.log, process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
