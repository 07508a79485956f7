/**
 * The coordinator's self-test (SPEC §11): offline incidents with one kind of fault injected into
 * every agent at a time, through the real wiring (config → coordinator → pipeline); prints, per
 * fault kind, the recovery rate (incidents that still produced a complete or clearly partial
 * report) and the pipeline's MTTR (from an injected fault to the agent's success).
 *
 * Run: `npm run bench -- --only selftest [--selftest-incidents 50]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { createCoordinator } from '../src/coordinator.js';
import { StartIncidentRequest } from '../src/incidents/schema.js';
import { createLogger } from '../src/logger.js';
import { SelfTestFaultKind } from '../src/selftest/schema.js';
import { measureIncident, type FaultRecovery, type IncidentOutcome } from '../src/selftest/measure.js';
import { repoRoot } from './loghub.js';
import { median } from './stats.js';

/** The recorded bundles and the category each must still be diagnosed as. */
const BUNDLES = {
  cpu_spike: 'cpu_saturation',
  memory_leak: 'memory_pressure',
  disk_fill: 'disk_full',
  net_latency: 'network_degradation',
  service_kill: 'service_down',
  db_conn_exhaust: 'db_connection_exhaustion',
  healthy: 'healthy',
} as const;

export type SelfTestBenchOptions = { incidentsPerKind: number; probability: number; seed: number; agentTimeoutMs: number; retries: number; backoffMs: number };

export type SelfTestKindResult = {
  kind: SelfTestFaultKind | 'none';
  incidents: number;
  outcomes: Record<IncidentOutcome, number>;
  /** Complete incidents whose diagnosis is still the bundle's. */
  diagnosedRight: number;
  faults: number;
  agentsRecovered: number;
  mttrMs: { p50: number; p95: number; max: number } | null;
};

const DEFAULTS: SelfTestBenchOptions = { incidentsPerKind: 50, probability: 0.3, seed: 20261201, agentTimeoutMs: 1000, retries: 2, backoffMs: 100 };

export async function runSelfTestBench(log: (line: string) => void, options: Partial<SelfTestBenchOptions> = {}): Promise<SelfTestKindResult[]> {
  const o = { ...DEFAULTS, ...options };
  log(
    `Self-test: ${o.incidentsPerKind} offline incidents per fault kind, each agent hit with probability ${o.probability} per attempt (seed ${o.seed}); ` +
      `agent timeout ${o.agentTimeoutMs} ms, ${o.retries} retries, backoff ${o.backoffMs} ms doubling`,
  );
  const results: SelfTestKindResult[] = [];
  for (const kind of ['none', ...SelfTestFaultKind.options] as const) results.push(await runKind(kind, o));
  log('  kind      incidents  complete  partial  lost  recovery  diagnosis ok  faults  agents recovered  MTTR p50 / p95 / max (ms)');
  for (const r of results) {
    const recovery = (r.outcomes.complete + r.outcomes.partial) / r.incidents;
    const mttr = r.mttrMs ? `${r.mttrMs.p50} / ${r.mttrMs.p95} / ${r.mttrMs.max}` : '—';
    log(
      `  ${r.kind.padEnd(8)}  ${String(r.incidents).padStart(9)}  ${String(r.outcomes.complete).padStart(8)}  ${String(r.outcomes.partial).padStart(7)}  ${String(r.outcomes.lost).padStart(4)}  ${pct(recovery).padStart(8)}  ${`${r.diagnosedRight}/${r.outcomes.complete}`.padStart(12)}  ${String(r.faults).padStart(6)}  ${`${r.agentsRecovered}/${r.faults}`.padStart(16)}  ${mttr}`,
    );
  }
  return results;
}

async function runKind(kind: SelfTestFaultKind | 'none', o: SelfTestBenchOptions): Promise<SelfTestKindResult> {
  const dir = await mkdtemp(path.join(tmpdir(), `chaos-selftest-${kind}-`));
  const config = loadConfig({
    CHAOS_INCIDENTS_DIR: dir,
    CHAOS_EXAMPLES_DIR: path.join(repoRoot(), 'examples'),
    CHAOS_LOG_LEVEL: 'silent',
    CHAOS_PDF: 'false',
    CHAOS_AGENT_TIMEOUT_MS: String(o.agentTimeoutMs),
    CHAOS_AGENT_RETRIES: String(o.retries),
    CHAOS_AGENT_RETRY_BACKOFF_MS: String(o.backoffMs),
    CHAOS_SELFTEST_SEED: String(o.seed),
    ...(kind === 'none' ? {} : { CHAOS_SELFTEST_FAULTS: `*:${kind}:${o.probability}` }),
  });
  const coordinator = await createCoordinator(config, createLogger('silent'));
  const outcomes: Record<IncidentOutcome, number> = { complete: 0, partial: 0, lost: 0 };
  const faults: FaultRecovery[] = [];
  let diagnosedRight = 0;
  const bundles = Object.entries(BUNDLES);
  try {
    for (let i = 0; i < o.incidentsPerKind; i++) {
      const [bundle, expected] = bundles[i % bundles.length]!;
      const request = StartIncidentRequest.parse({ scenario: 'investigate', options: { offline: true, bundle } });
      const { done } = await coordinator.incidents.start(request);
      const record = await done;
      const trace = await coordinator.store.readTrace(record.id);
      const report = await coordinator.store.readArtifact(record.id, 'report.md').then(
        (b) => b.toString('utf8'),
        () => null,
      );
      const measured = measureIncident(record, trace, report);
      outcomes[measured.outcome] += 1;
      faults.push(...measured.faults);
      if (measured.outcome === 'complete' && record.outcome?.category === expected) diagnosedRight += 1;
    }
  } finally {
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  }
  const mttrs = faults.flatMap((f) => (f.mttrMs === null ? [] : [f.mttrMs])).sort((a, b) => a - b);
  return {
    kind,
    incidents: o.incidentsPerKind,
    outcomes,
    diagnosedRight,
    faults: faults.length,
    agentsRecovered: faults.filter((f) => f.recovered).length,
    mttrMs: mttrs.length ? { p50: Math.round(median(mttrs)), p95: mttrs[Math.min(mttrs.length - 1, Math.ceil(mttrs.length * 0.95) - 1)]!, max: mttrs.at(-1)! } : null,
  };
}

function pct(v: number): string {
  return `${(v * 100).toFixed(1)} %`;
}
