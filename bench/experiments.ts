/**
 * Against the sandbox host (npm run sandbox:up first, as root): every example experiment in
 * examples/experiments/ run with `runs: 3` through the experiment service, each with its own
 * windows and settle_s (a 2 s settle forced on every example left the host busy with the run
 * before, and the steady state before the next run did not hold), and per scenario the MTTD and
 * MTTR p50/p95 over the runs, detection rate, diagnosis accuracy, resilience score, whether the
 * steady state held, and the wall time. Live hosts are shared: the whole bench runs under the
 * machine-wide lock (/tmp/chaos-live.lock, taken here with flock -o: do not wrap it in another).
 *
 * Run: `npm run bench -- --only experiments` or `node dist/bench/experiments.js [runs] [file...]`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from '../src/config/index.js';
import { createCoordinator } from '../src/coordinator.js';
import { parseExperiment } from '../src/experiments/parse.js';
import type { ExperimentSummary } from '../src/experiments/result-schema.js';
import { createLogger } from '../src/logger.js';
import { repoRoot } from './loghub.js';

export const LIVE_LOCK = '/tmp/chaos-live.lock';

export type ExperimentBenchRow = { file: string; scenario: string | null; summary: ExperimentSummary; wallS: number };

/** Runs the bench in a child process holding the live lock (flock), printing what it prints. */
export async function runExperimentsBench(log: (line: string) => void, runs = 3): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  await new Promise<void>((resolve, reject) => {
    // -o: the lock is not inherited by what the bench starts (a daemon outliving it would keep the lock).
    const child = spawn('flock', ['-o', '-w', '1500', LIVE_LOCK, process.execPath, script, String(runs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.setEncoding('utf8');
    let pending = '';
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (pending) log(pending);
      if (code === 0) resolve();
      else reject(new Error(`the experiments bench exited ${code} (flock waits 1500 s for ${LIVE_LOCK})`));
    });
  });
}

/** The bench itself; the caller holds the live lock. */
export async function benchExperiments(log: (line: string) => void, runs: number, files: string[]): Promise<ExperimentBenchRow[]> {
  const root = repoRoot();
  const dir = await mkdtemp(path.join(tmpdir(), 'chaos-bench-experiments-'));
  const config = loadConfig({
    CHAOS_INCIDENTS_DIR: path.join(dir, 'incidents'),
    CHAOS_EXPERIMENTS_DIR: path.join(dir, 'experiments'),
    CHAOS_STATE_DIR: path.join(dir, 'state'),
    CHAOS_TARGETS_FILE: path.join(root, 'config', 'targets.json'),
    CHAOS_KEYS_DIR: path.join(root, 'config', 'keys'),
    CHAOS_LOG_LEVEL: 'silent',
  });
  const coordinator = await createCoordinator(config, createLogger('silent'));
  const rows: ExperimentBenchRow[] = [];
  try {
    for (const file of files) {
      const experiment = parseExperiment(await readFile(file, 'utf8'), file);
      const started = performance.now();
      const { done } = await coordinator.experiments.start(experiment, { runs });
      const summary = await done;
      const row = { file: path.relative(root, file), scenario: summary.scenario, summary, wallS: (performance.now() - started) / 1000 };
      rows.push(row);
      log(line(row));
    }
  } finally {
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

function line(row: ExperimentBenchRow): string {
  const a = row.summary.aggregate;
  const s = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(1)} s`);
  const p = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${Math.round(v * 100)} %`);
  const sources = [...new Set(row.summary.runs.flatMap((r) => [`MTTD ${r.mttd_source}`, `MTTR ${r.mttr_source}`]))].join(', ');
  return [
    `${(row.scenario ?? '?').padEnd(16)} ${row.summary.status.padEnd(9)} runs ${a?.runs ?? 0}`,
    `MTTD p50 ${s(a?.mttd_s.p50)} p95 ${s(a?.mttd_s.p95)}`,
    `MTTR p50 ${s(a?.mttr_s.p50)} p95 ${s(a?.mttr_s.p95)} (${sources})`,
    `detected ${p(a?.detection_rate)}, diagnosed right ${p(a?.diagnosis_accuracy)}, resilience ${p(a?.resilience_score)}, held ${a?.all_held ? 'yes' : 'no'}`,
    `${row.wallS.toFixed(0)} s  ${row.file}`,
  ].join(' | ') + `\n${runLines(row.summary)}`;
}

/** Per run: the diagnosis, and why the steady state did not hold when it did not (first probe out, safeguard, error). */
function runLines(summary: ExperimentSummary): string {
  return summary.runs
    .map((r) => {
      const diagnosis = r.diagnosis ? `${r.diagnosis.category ?? 'none'}${r.diagnosis.culprit ? ` (${r.diagnosis.culprit})` : ''}${r.diagnosis.matched ? ' matched' : ''}` : 'no diagnosis';
      const out = (['before', 'after'] as const).flatMap((phase) => r.steady_state[phase].checks.filter((c) => !c.ok).map((c) => `${phase}: ${c.probe} ${c.detail}`));
      const why = r.held ? 'held' : [r.error, r.safeguard ? `safeguard ${r.safeguard.probe} after ${r.safeguard.out_for_s} s out` : null, ...out].filter(Boolean).join('; ');
      return `    run ${r.run}: ${diagnosis}; MTTD ${r.mttd_s ?? 'n/a'} s, MTTR ${r.mttr_s ?? 'n/a'} s; ${why}`;
    })
    .join('\n');
}

async function exampleFiles(): Promise<string[]> {
  const dir = path.join(repoRoot(), 'examples', 'experiments');
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  if (!names.length) throw new Error(`no example experiments in ${dir}`);
  return names.map((n) => path.join(dir, n));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const runs = Number(process.argv[2] ?? 3);
  const files = process.argv.length > 3 ? process.argv.slice(3).map((f) => path.resolve(f)) : await exampleFiles();
  console.log(`experiments: ${files.length} example(s), runs: ${runs} each, on the sandbox`);
  await benchExperiments(console.log, runs, files);
}
