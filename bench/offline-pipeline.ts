/**
 * Wall time of the offline pipeline, per phase, with a warm browser: every bundle in examples/
 * runs once to warm Chromium up, then `rounds` more times; prints the median per phase.
 *
 * Run: `npm run bench` (all benchmarks) or `node dist/bench/offline-pipeline.js [rounds]`.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../src/config/index.js';
import { createCoordinator } from '../src/coordinator.js';
import { StartIncidentRequest } from '../src/incidents/schema.js';
import { createLogger } from '../src/logger.js';
import { repoRoot } from './loghub.js';
import { median } from './stats.js';

export type OfflineBenchResult = { rounds: number; phases: Record<string, number>; agents: Record<string, number>; totalMs: number };

export async function runOfflinePipelineBench(log: (line: string) => void, rounds = 5): Promise<OfflineBenchResult> {
  const root = repoRoot();
  const examples = path.join(root, 'examples');
  const entries = await readdir(examples, { withFileTypes: true });
  // A bundle is a folder with a manifest (examples/ also holds the Postman collection).
  const bundles = entries.filter((d) => d.isDirectory() && existsSync(path.join(examples, d.name, 'manifest.json'))).map((d) => d.name).sort();
  const dir = await mkdtemp(path.join(tmpdir(), 'chaos-bench-'));
  const config = loadConfig({ CHAOS_INCIDENTS_DIR: dir, CHAOS_EXAMPLES_DIR: examples, CHAOS_LOG_LEVEL: 'silent' });
  const coordinator = await createCoordinator(config, createLogger('silent'));
  const phases: Record<string, number[]> = {};
  const agents: Record<string, number[]> = {};
  const totals: number[] = [];
  try {
    for (let round = 0; round <= rounds; round++) {
      for (const bundle of bundles) {
        const request = StartIncidentRequest.parse({ scenario: 'investigate', options: { offline: true, bundle } });
        const started = performance.now();
        const { done } = await coordinator.incidents.start(request);
        const record = await done;
        const total = performance.now() - started;
        if (record.status !== 'completed') throw new Error(`bundle ${bundle}: incident ${record.status}: ${record.error ?? ''}`);
        if (round === 0) continue; // warm-up: Chromium starts on the first PDF
        totals.push(total);
        for (const [phase, ms] of Object.entries(record.phase_ms)) (phases[phase] ??= []).push(ms);
        for (const a of record.agents) if (a.duration_ms !== null) (agents[a.name] ??= []).push(a.duration_ms);
      }
    }
  } finally {
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  }
  const result: OfflineBenchResult = {
    rounds,
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v)])),
    agents: Object.fromEntries(Object.entries(agents).map(([k, v]) => [k, median(v)])),
    totalMs: median(totals),
  };
  log(`Offline pipeline, ${bundles.length} bundles x ${rounds} rounds, warm browser (median ms per incident):`);
  for (const [phase, ms] of Object.entries(result.phases)) log(`  phase ${phase.padEnd(10)} ${ms.toFixed(1).padStart(8)} ms`);
  for (const [agent, ms] of Object.entries(result.agents)) log(`  agent ${agent.padEnd(14)} ${ms.toFixed(1).padStart(8)} ms`);
  log(`  total (start → report.pdf) ${result.totalMs.toFixed(1).padStart(8)} ms`);
  return result;
}


if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runOfflinePipelineBench(console.log, Number(process.argv[2] ?? 5)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
