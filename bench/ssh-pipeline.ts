/**
 * Against the sandbox host (npm run sandbox:up first, as root): for live incidents started over
 * the real HTTP API, the SSH connections and exec channels each one used, and the pipeline's
 * overhead (POST → report.pdf, minus the baseline, chaos, observe and recovery windows) and the
 * recovery watch after the revert (how long it ran, and the recovery time it measured), beside a plain
 * `ssh host true` round trip (OpenSSH client, new connection each time) measured in the same run.
 *
 * Run: `npm run bench -- --only ssh` or `node dist/bench/ssh-pipeline.js [rounds]`.
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
import { median } from './stats.js';
import { enrolledSandbox } from './sandbox-target.js';

const run = promisify(execFile);

export type SshBenchResult = { sshTrueMs: number; overheadMs: number; recoveryWatchMs: number; recoveryS: number | null; channels: number; connections: number; maxConcurrent: number };

export async function runSshPipelineBench(log: (line: string) => void, rounds = 3): Promise<SshBenchResult> {
  const { sandbox, targetsFile, keysDir } = await enrolledSandbox();

  const dir = await mkdtemp(path.join(tmpdir(), 'chaos-bench-ssh-'));
  const knownHosts = path.join(dir, 'known_hosts');
  await writeFile(knownHosts, sandbox.host_keys.map((k) => `${sandbox.host} ${k}\n`).join(''));
  const sshTrue = async () => {
    const t = performance.now();
    await run('ssh', ['-i', path.join(keysDir, sandbox.key), '-p', String(sandbox.port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${sandbox.user}@${sandbox.host}`, 'true']);
    return performance.now() - t;
  };

  const config = loadConfig({ CHAOS_INCIDENTS_DIR: dir, CHAOS_TARGETS_FILE: targetsFile, CHAOS_KEYS_DIR: keysDir, CHAOS_LOG_LEVEL: 'silent', CHAOS_PORT: '0' });
  const { server, stop } = await startCoordinatorServer(config, createLogger('silent'));
  const sshTimes: number[] = [];
  const overheads: number[] = [];
  const recoveryWatches: number[] = [];
  const recoveries: number[] = [];
  let transport = { connections: 0, exec_channels: 0, max_concurrent_channels: 0 };
  try {
    await sshTrue(); // warm the client's caches
    for (let i = 0; i < rounds; i++) {
      sshTimes.push(await sshTrue());
      const started = performance.now();
      const res = await fetch(`${server.url}/start_incident`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ scenario: 'cpu_spike', target_vm: { name: 'sandbox' }, options: { baseline_s: 3, observe_s: 4, duration: 30, load: 1 } }),
      });
      if (res.status !== 202) throw new Error(`start_incident answered ${res.status}: ${await res.text()}`);
      const { incident_id } = (await res.json()) as { incident_id: string };
      let status: { status: string; phase_ms: Record<string, number>; trace: { content: { transport?: typeof transport } }[] };
      for (;;) {
        status = (await (await fetch(`${server.url}/status/${incident_id}`)).json()) as typeof status;
        if (status.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const total = performance.now() - started;
      if (status.status !== 'completed') throw new Error(`incident ${incident_id} ended ${status.status}`);
      const watch = status.phase_ms.recovery ?? 0;
      const windows = (status.phase_ms.baseline ?? 0) + (status.phase_ms.chaos ?? 0) + (status.phase_ms.observe ?? 0) + watch;
      overheads.push(total - windows);
      recoveryWatches.push(watch);
      const metrics = (await (await fetch(`${server.url}/incidents/${incident_id}/artifacts/metrics.json`)).json()) as { findings: { recovery_s: number | null } };
      if (metrics.findings.recovery_s !== null) recoveries.push(metrics.findings.recovery_s);
      transport = status.trace.find((e) => e.content?.transport)?.content.transport ?? transport;
    }
  } finally {
    await stop();
    await rm(dir, { recursive: true, force: true });
  }
  const result: SshBenchResult = {
    sshTrueMs: median(sshTimes),
    overheadMs: median(overheads),
    recoveryWatchMs: median(recoveryWatches),
    recoveryS: recoveries.length ? median(recoveries) : null,
    channels: transport.exec_channels,
    connections: transport.connections,
    maxConcurrent: transport.max_concurrent_channels,
  };
  log(`Live cpu_spike on the sandbox, ${rounds} rounds (medians):`);
  log(`  plain \`ssh host true\` (new OpenSSH connection)   ${result.sshTrueMs.toFixed(1).padStart(8)} ms`);
  log(`  pipeline overhead (POST → report.pdf − windows)   ${result.overheadMs.toFixed(1).padStart(8)} ms`);
  log(`  recovery watch after the revert                    ${result.recoveryWatchMs.toFixed(1).padStart(8)} ms   (measured recovery ${result.recoveryS ?? 'n/a'} s, in ${recoveries.length} of ${rounds})`);
  log(`  SSH connections per incident                      ${String(result.connections).padStart(8)}`);
  log(`  exec channels per incident                        ${String(result.channels).padStart(8)}   (at most ${result.maxConcurrent} at once; cap 8)`);
  return result;
}


if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runSshPipelineBench(console.log, Number(process.argv[2] ?? 3)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
