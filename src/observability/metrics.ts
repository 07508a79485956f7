import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PipelinePhase } from '../domain/index.js';
import type { CoordinatorObserver } from './observers.js';

/** Prometheus metrics of one coordinator, on a registry of its own (never prom-client's global one). */
export type CoordinatorMetrics = CoordinatorObserver & {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text for GET /metrics. */
  render(): Promise<string>;
};

const SECONDS = (ms: number) => ms / 1000;

/**
 * Creates the registry and its series. `defaultMetrics` adds prom-client's process and Node.js
 * metrics (CPU, memory, event loop lag, GC, handles).
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): CoordinatorMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const started = new Counter({
    name: 'chaos_incidents_started_total',
    help: 'Incidents started, by scenario and target kind (offline or ssh)',
    labelNames: ['scenario', 'target_kind'] as const,
    registers: [registry],
  });
  const finished = new Counter({
    name: 'chaos_incidents_finished_total',
    help: 'Incidents finished, by scenario, final status and diagnosed category ("none" without a diagnosis)',
    labelNames: ['scenario', 'status', 'category'] as const,
    registers: [registry],
  });
  // Phase of each running incident; the gauge is computed from it at scrape time.
  const phases = new Map<string, PipelinePhase>();
  new Gauge({
    name: 'chaos_incidents_running',
    help: 'Incidents running now, by pipeline phase',
    labelNames: ['phase'] as const,
    registers: [registry],
    collect() {
      for (const phase of PipelinePhase.options) this.set({ phase }, 0);
      for (const phase of phases.values()) this.inc({ phase });
    },
  });
  const agentDuration = new Histogram({
    name: 'chaos_agent_duration_seconds',
    help: 'How long each agent ran, by agent and final state',
    labelNames: ['agent', 'state'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const agentRetries = new Counter({
    name: 'chaos_agent_retries_total',
    help: 'Agent runs tried again after a failure, a timeout or rejected output, by agent and reason (failed, timed_out)',
    labelNames: ['agent', 'reason'] as const,
    registers: [registry],
  });
  const sshCommands = new Counter({
    name: 'chaos_ssh_commands_total',
    help: 'Remote commands run over SSH, by host and outcome (ok, failed, timeout, aborted, unknown)',
    labelNames: ['host', 'outcome'] as const,
    registers: [registry],
  });
  const sshDuration = new Histogram({
    name: 'chaos_ssh_command_duration_seconds',
    help: 'Duration of remote commands over SSH, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  // Seconds from a fault's start to its detection, and to its verified recovery (SPEC §10).
  const timingBuckets = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
  const mttd = new Histogram({
    name: 'chaos_mttd_seconds',
    help: 'Time to detect: seconds from the fault starting to its first evidence, by diagnosed category',
    labelNames: ['category'] as const,
    buckets: timingBuckets,
    registers: [registry],
  });
  const mttr = new Histogram({
    name: 'chaos_mttr_seconds',
    help: 'Time to recover: seconds from the fault starting to the verified recovery, by diagnosed category',
    labelNames: ['category'] as const,
    buckets: timingBuckets,
    registers: [registry],
  });
  const reportRender = new Histogram({
    name: 'chaos_report_render_seconds',
    help: 'Time to render a report document, by format and outcome',
    labelNames: ['format', 'outcome'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
    registers: [registry],
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    incidentStarted({ incidentId, scenario, targetKind }) {
      started.inc({ scenario, target_kind: targetKind });
      phases.set(incidentId, 'created');
    },
    phaseChanged({ incidentId, phase }) {
      // A phase change after the end (a late bookkeeping write) must not resurrect the incident.
      if (phases.has(incidentId)) phases.set(incidentId, phase);
    },
    agentFinished({ agent, state, durationMs }) {
      agentDuration.observe({ agent, state }, SECONDS(durationMs));
    },
    agentRetried({ agent, reason }) {
      agentRetries.inc({ agent, reason });
    },
    incidentFinished({ incidentId, scenario, status, category }) {
      phases.delete(incidentId);
      finished.inc({ scenario, status, category: category ?? 'none' });
    },
    timingsMeasured({ category, mttd_s, mttr_s }) {
      if (mttd_s !== null) mttd.observe({ category: category ?? 'none' }, mttd_s);
      if (mttr_s !== null) mttr.observe({ category: category ?? 'none' }, mttr_s);
    },
    recordSshCommand({ host, outcome, durationMs }) {
      sshCommands.inc({ host, outcome });
      sshDuration.observe({ outcome }, SECONDS(durationMs));
    },
    recordReportRender({ format, outcome, durationMs }) {
      reportRender.observe({ format, outcome }, SECONDS(durationMs));
    },
  };
}
