/**
 * One run's figures from what the runner observed, the incident it opened and the load records:
 * steady state per phase, load before / during / after the fault and the change, anomaly windows,
 * MTTD and MTTR, and whether the diagnosis named the injected fault.
 */
import type { IncidentRecord, RootCauseCategory, TraceEntry } from '../domain/index.js';
import type { LoadRecord } from '../load/schema.js';
import type { IncidentStore } from '../store/incident-store.js';
import type { ProbeCheck, RunFigures, RunKind, TimingSource } from './result-schema.js';
import type { Experiment } from './schema.js';
import { loadAnomalyWindows, loadChange, loadFigures, perSecond, round, runHeld, type LoadSample } from './statistics.js';

/** What an incident of a run left that the figures need, read once it has finished. */
export type IncidentFacts = {
  record: IncidentRecord;
  injected_at: string | null;
  reverted_at: string | null;
  /** Seconds from injection to the first anomalous sample (MetricsAgent), when it saw one. */
  time_to_detect_s: number | null;
  /** Seconds from the revert until every anomalous series was back in its band, when they all came back. */
  recovery_s: number | null;
  recovered: boolean | null;
};

export type RunObservation = {
  run: number;
  kind: RunKind;
  started_at: string;
  finished_at: string;
  method_started_at: string | null;
  method_finished_at: string | null;
  checks: { before: ProbeCheck[]; during: ProbeCheck[]; after: ProbeCheck[] };
  incidents: { id: string; scenario: string; args: Record<string, unknown>; done: Promise<IncidentRecord>; facts?: IncidentFacts }[];
  safeguard: RunFigures['safeguard'];
  error: string | null;
};

/** Reads what the figures need of a finished incident: its record, trace moments and metrics findings. */
export async function incidentFacts(store: IncidentStore, id: string): Promise<IncidentFacts> {
  const record = await store.loadRecord(id);
  const trace = await store.readTrace(id).catch(() => [] as TraceEntry[]);
  const phaseEnd = (phase: string) => trace.find((e) => e.type === 'phase' && (e.content as { phase?: string; state?: string }).phase === phase && (e.content as { state?: string }).state === 'finished')?.timestamp ?? null;
  const metrics = await store
    .readArtifact(id, 'metrics.json')
    .then((b) => JSON.parse(b.toString('utf8')) as { findings?: { time_to_detect_s?: number | null; recovery?: { recovered?: boolean; recovery_s?: number | null } | null } })
    .catch(() => null);
  return {
    record,
    injected_at: phaseEnd('chaos'),
    reverted_at: record.chaos.state === 'reverted' ? phaseEnd('revert') : null,
    time_to_detect_s: metrics?.findings?.time_to_detect_s ?? null,
    recovery_s: metrics?.findings?.recovery?.recovery_s ?? null,
    recovered: metrics?.findings?.recovery ? metrics.findings.recovery.recovered === true : null,
  };
}

export function runFigures(obs: RunObservation, records: readonly LoadRecord[], experiment: Experiment): RunFigures {
  const first = obs.incidents[0];
  const facts = first?.facts ?? null;
  const start = Date.parse(obs.started_at);
  const end = Date.parse(obs.finished_at);
  // The fault's window: injected to reverted; for a baseline run, the method's own window.
  const faultStart = facts?.injected_at ? Date.parse(facts.injected_at) : obs.kind === 'baseline' && obs.method_started_at ? Date.parse(obs.method_started_at) : null;
  const faultEnd = facts?.reverted_at ? Date.parse(facts.reverted_at) : obs.method_finished_at && faultStart !== null ? Math.max(Date.parse(obs.method_finished_at), faultStart) : null;

  const samples: LoadSample[] = records.map((r) => ({ t: Date.parse(r.timestamp), latency_ms: r.status === null && !r.ok ? null : r.latency_ms, ok: r.ok }));
  const inRun = samples.filter((s) => s.t >= start && s.t < end);
  const hasLoad = experiment.load !== undefined && inRun.length > 0;
  const before = hasLoad && faultStart !== null ? loadFigures(inRun, start, faultStart) : hasLoad ? loadFigures(inRun, start, end) : null;
  const during = hasLoad && faultStart !== null ? loadFigures(inRun, faultStart, faultEnd ?? end) : null;
  const after = hasLoad && faultEnd !== null ? loadFigures(inRun, faultEnd, end) : null;

  const timings = fromTimings(facts);
  const steady = (phase: 'before' | 'during' | 'after') => ({ met: obs.checks[phase].every((c) => c.ok), checks: obs.checks[phase] });
  const figures: Omit<RunFigures, 'held'> = {
    run: obs.run,
    kind: obs.kind,
    incident_id: (first?.id ?? null) as RunFigures['incident_id'],
    incident_status: facts?.record.status ?? null,
    started_at: obs.started_at,
    finished_at: obs.finished_at,
    fault: {
      injected_at: facts?.injected_at ?? null,
      reverted_at: facts?.reverted_at ?? null,
      detail: first ? `${first.scenario} ${JSON.stringify(first.args)}` : null,
    },
    steady_state: { before: steady('before'), during: steady('during'), after: steady('after') },
    load: hasLoad ? { before, during, after } : null,
    change: loadChange(before, during),
    anomaly_windows: hasLoad ? loadAnomalyWindows(perSecond(inRun), before) : [],
    mttd_s: timings.mttd_s,
    mttr_s: timings.mttr_s,
    mttd_source: timings.mttd_source,
    mttr_source: timings.mttr_source,
    // A fault that never went in leaves nothing to diagnose: no diagnosis, rather than a miss.
    diagnosis: first && facts?.injected_at ? diagnosisMatch(first.scenario, first.args, facts.record) : null,
    safeguard: obs.safeguard,
    error: obs.error ?? incidentError(facts),
  };
  return { ...figures, held: runHeld(figures) };
}

/**
 * MTTD and MTTR, each from the incident's own timings when it has it; else from its trace and
 * metrics (injection → first anomalous sample; injection → revert plus the time the host took
 * to be back in its band: a reverted fault's recovery is not a remediation the timings record).
 * MTTD is null when the fault went undetected, MTTR when the host did not recover.
 */
function fromTimings(facts: IncidentFacts | null): { mttd_s: number | null; mttr_s: number | null; mttd_source: TimingSource; mttr_source: TimingSource } {
  if (!facts) return { mttd_s: null, mttr_s: null, mttd_source: 'none', mttr_source: 'none' };
  const timings = facts.record.timings;
  const detected = facts.record.outcome !== null && facts.record.outcome.category !== 'healthy';
  const traceMttd = detected && facts.time_to_detect_s !== null ? round(facts.time_to_detect_s, 1) : null;
  const traceMttr = mttrFromTrace(facts);
  const pick = (own: number | null | undefined, fallback: number | null) =>
    own != null ? { value: round(own, 1), source: 'incident_timings' as const } : { value: fallback, source: fallback === null ? ('none' as const) : ('trace' as const) };
  const mttd = pick(timings?.mttd_s, traceMttd);
  const mttr = pick(timings?.mttr_s, traceMttr);
  return { mttd_s: mttd.value, mttr_s: mttr.value, mttd_source: mttd.source, mttr_source: mttr.source };
}

/** Why the run's incident failed, saying first when its fault never went in (a script that refused, say). */
function incidentError(facts: IncidentFacts | null): string | null {
  if (!facts || facts.record.status !== 'failed') return null;
  const why = `incident ${facts.record.id} failed: ${facts.record.error ?? 'unknown error'}`;
  return facts.injected_at ? why : `fault not injected: ${why}`;
}

function mttrFromTrace(facts: IncidentFacts): number | null {
  let mttr: number | null = null;
  if (facts.injected_at && facts.reverted_at) {
    const toRevert = (Date.parse(facts.reverted_at) - Date.parse(facts.injected_at)) / 1000;
    if (facts.recovered === true) mttr = round(toRevert + (facts.recovery_s ?? 0), 1);
    else if (facts.recovered === null) mttr = round(toRevert, 1);
  }
  return mttr;
}

/** What each scenario is, as the diagnosis should name it: category, and the culprit where the args say it. */
const EXPECTED_CATEGORY: Record<string, RootCauseCategory> = {
  cpu_spike: 'cpu_saturation',
  memory_leak: 'memory_pressure',
  disk_fill: 'disk_full',
  net_latency: 'network_degradation',
  service_kill: 'service_down',
  db_conn_exhaust: 'db_connection_exhaustion',
};

/**
 * The culprit the injected fault has: the service stopped, the filesystem filled (a mount that
 * holds the path), the interface throttled, the processes the chaos scripts run (stress-ng or
 * awk busy loops, the python3 allocator, psql clients named report-batch).
 */
export function expectedCulprit(scenario: string, args: Record<string, unknown>): { label: string; matches: (culprit: string) => boolean } | null {
  switch (scenario) {
    case 'service_kill': {
      const name = String(args.service_name ?? 'victim-api');
      return { label: name, matches: (c) => c === name || c === `${name}.service` };
    }
    case 'disk_fill': {
      const p = String(args.path ?? '/tmp/chaos_fill');
      return { label: `a mount holding ${p}`, matches: (c) => c === '/' || p === c || p.startsWith(`${c.replace(/\/$/, '')}/`) };
    }
    case 'net_latency': {
      const iface = String(args.iface ?? 'eth0');
      return { label: iface, matches: (c) => c === iface };
    }
    case 'cpu_spike':
      return { label: 'stress-ng or awk', matches: (c) => /^(?:stress-ng|awk|mawk|gawk)/.test(c) };
    case 'memory_leak':
      return { label: 'python3', matches: (c) => /^python3?/.test(c) };
    case 'db_conn_exhaust':
      return { label: 'report-batch', matches: (c) => c.includes('report-batch') || c === 'psql' };
    default:
      return null;
  }
}

function diagnosisMatch(scenario: string, args: Record<string, unknown>, record: IncidentRecord): RunFigures['diagnosis'] {
  const expectedCategory = EXPECTED_CATEGORY[scenario] ?? null;
  const category = record.outcome?.category ?? null;
  const culprit = record.outcome?.culprit ?? null;
  const expected = expectedCulprit(scenario, args);
  const categoryMatched = expectedCategory !== null && category === expectedCategory;
  const culpritMatched = expected ? culprit !== null && expected.matches(culprit) : null;
  return {
    expected_category: expectedCategory,
    category,
    category_matched: categoryMatched,
    expected_culprit: expected?.label ?? null,
    culprit,
    culprit_matched: culpritMatched,
    matched: categoryMatched && culpritMatched !== false,
    confidence: record.outcome?.confidence ?? null,
  };
}
