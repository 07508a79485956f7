/**
 * MTTD and MTTR per scenario on the sandbox host (npm run sandbox:up first, as root): each of the
 * six scenarios once, with short windows, started over the real HTTP API; prints the incident's
 * timings as incident.json records them (SPEC §10).
 *
 * MTTR needs the closed loop: with `--approve` each run asks for a pre-approved remediation, so
 * the fix (not the coordinator's revert) ends the fault and the verified recovery is timed.
 * Without it MTTR is n/a, and the time the host took to come back after the revert is shown.
 *
 * Run: `npm run bench -- --only timings [--approve]` or `node dist/bench/timings.js [--approve]`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config/index.js';
import { startCoordinatorServer } from '../src/http/start-coordinator-server.js';
import { createLogger } from '../src/logger.js';
import { enrolledSandbox } from './sandbox-target.js';

const run = promisify(execFile);

/** Each scenario with arguments the sandbox takes, sized like the live tests. */
const SCENARIOS: [string, Record<string, unknown>][] = [
  ['cpu_spike', { duration: 60, load: 2 }],
  ['memory_leak', { target_mb: 1500, duration: 30 }],
  ['disk_fill', { size_mb: 700 }],
  ['net_latency', { iface: 'eth0', delay_ms: 200, loss_pct: 5, duration: 60 }],
  ['service_kill', { service_name: 'victim-api' }],
  ['db_conn_exhaust', { clients: 95, duration: 60 }],
];

type Timings = { fault_start_source: string | null; mttd_s: number | null; mttr_s: number | null; approval_wait_s: number | null };

export type TimingsRow = { scenario: string; status: string; category: string | null; timings: Timings | null; recoveryAfterRevertS: number | null; note: string | null };

export async function runTimingsBench(log: (line: string) => void, options: { approve?: boolean; baselineS?: number; observeS?: number } = {}): Promise<TimingsRow[]> {
  const { sandbox, targetsFile, keysDir } = await enrolledSandbox();

  const dir = await mkdtemp(path.join(tmpdir(), 'chaos-bench-timings-'));
  const config = loadConfig({ CHAOS_INCIDENTS_DIR: dir, CHAOS_STATE_DIR: path.join(dir, '.state'), CHAOS_TARGETS_FILE: targetsFile, CHAOS_KEYS_DIR: keysDir, CHAOS_LOG_LEVEL: 'silent', CHAOS_PORT: '0', CHAOS_PDF: 'false' });
  const { server, stop } = await startCoordinatorServer(config, createLogger('silent'));
  const rows: TimingsRow[] = [];
  const windows = { baseline_s: options.baselineS ?? 4, observe_s: options.observeS ?? 8 };
  try {
    for (const [scenario, args] of SCENARIOS) {
      const body = { scenario, target_vm: { name: 'sandbox' }, options: { ...windows, ...args, ...(options.approve ? { remediation: 'auto', approver: 'bench', approve_high_risk: true, verify_s: 30 } : {}) } };
      const res = await fetch(`${server.url}/start_incident`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status !== 202) {
        const problem = (await res.json().catch(() => ({}))) as { detail?: string };
        rows.push({ scenario, status: `refused (${res.status})`, category: null, timings: null, recoveryAfterRevertS: null, note: problem.detail ?? null });
        continue;
      }
      const { incident_id: id } = (await res.json()) as { incident_id: string };
      let status: { status: string; error: string | null; outcome: { category: string } | null; timings?: Timings | null };
      for (;;) {
        status = (await (await fetch(`${server.url}/status/${id}`)).json()) as typeof status;
        if (status.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const metrics = (await (await fetch(`${server.url}/incidents/${id}/artifacts/metrics.json`)).json().catch(() => null)) as { findings?: { recovery_s: number | null } } | null;
      rows.push({ scenario, status: status.status, category: status.outcome?.category ?? null, timings: status.timings ?? null, recoveryAfterRevertS: metrics?.findings?.recovery_s ?? null, note: status.status === 'completed' ? null : status.error });
    }
  } finally {
    await stop();
    await cleanSandbox(sandbox, keysDir, dir).catch((error: unknown) => log(`  (cleanup_all on the sandbox failed: ${error instanceof Error ? error.message : String(error)})`));
    await rm(dir, { recursive: true, force: true });
  }

  const s = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${v} s`);
  log(`Each scenario once on the sandbox (baseline ${windows.baseline_s} s, observe ${windows.observe_s} s)${options.approve ? ', remediation pre-approved (--approve)' : ''}:`);
  log(`  ${'scenario'.padEnd(16)} ${'diagnosis'.padEnd(26)} ${'MTTD'.padStart(8)} ${'MTTR'.padStart(8)} ${'approval'.padStart(9)}  ${'back after revert'.padStart(17)}`);
  for (const r of rows) {
    const diagnosis = r.category ?? r.status;
    const mttr = r.timings?.mttr_s ?? null;
    log(`  ${r.scenario.padEnd(16)} ${diagnosis.padEnd(26)} ${s(r.timings?.mttd_s).padStart(8)} ${s(mttr).padStart(8)} ${s(r.timings?.approval_wait_s).padStart(9)}  ${s(r.recoveryAfterRevertS).padStart(17)}${r.note ? `   (${r.note.slice(0, 120)})` : ''}`);
  }
  if (!options.approve) log('  MTTR n/a: without --approve the coordinator reverts the fault itself, so no fix ends it (the last column is how long the host took to come back after that revert).');
  return rows;
}

/** Whatever a failed run may have left: the chaos scripts' own cleanup, over OpenSSH. */
async function cleanSandbox(sandbox: { host: string; port: number; user: string; key: string; host_keys: string[] }, keysDir: string, dir: string): Promise<void> {
  const knownHosts = path.join(dir, 'known_hosts');
  await writeFile(knownHosts, sandbox.host_keys.map((k) => `${sandbox.host} ${k}\n`).join(''));
  await run(
    'ssh',
    ['-i', path.join(keysDir, sandbox.key), '-p', String(sandbox.port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${sandbox.user}@${sandbox.host}`, 'sudo -n /opt/chaos-scripts/cleanup_all.sh'],
    { timeout: 60_000 },
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runTimingsBench(console.log, { approve: process.argv.includes('--approve') }).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
