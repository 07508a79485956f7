/**
 * What an experiment run leaves behind (`summary.json`, the per-run export, the API answers):
 * zod schemas and their types side by side, so the HTTP layer and the OpenAPI description read
 * the same contract the runner writes.
 */
import { z } from 'zod';
import { IncidentId, RootCauseCategory } from '../domain/index.js';
import { ExperimentId } from './schema.js';

export const SteadyPhase = z.enum(['before', 'during', 'after']);
export type SteadyPhase = z.infer<typeof SteadyPhase>;

/** One probe checked once: its value, whether it stayed inside its tolerance, and why not. */
export const ProbeCheck = z.object({
  probe: z.string(),
  kind: z.string(),
  phase: SteadyPhase,
  ok: z.boolean(),
  /** The measured value (status code, latency in ms, exit code, query result, metric value). */
  value: z.union([z.number(), z.string(), z.null()]),
  /** The tolerance as a person reads it: `status 200`, `p95 <= 300 ms`. */
  tolerance: z.string(),
  detail: z.string(),
  weight: z.number().positive(),
  at: z.string(),
});
export type ProbeCheck = z.infer<typeof ProbeCheck>;

/** Load figures over one window of the run. Null fields: no request finished in the window. */
export const LoadFigures = z.object({
  start: z.string(),
  end: z.string(),
  requests: z.number().int(),
  ok: z.number().int(),
  /** Requests sent per second (the schedule: an open model keeps it whatever the latency). */
  sent_rps: z.number(),
  /** Successful responses per second. */
  throughput_rps: z.number(),
  error_rate: z.number().min(0).max(1),
  p50_ms: z.number().nullable(),
  p95_ms: z.number().nullable(),
  p99_ms: z.number().nullable(),
});
export type LoadFigures = z.infer<typeof LoadFigures>;

export const AnomalyWindow = z.object({
  start: z.string(),
  end: z.string(),
  severity: z.enum(['low', 'medium', 'high']),
  reason: z.string(),
});
export type AnomalyWindow = z.infer<typeof AnomalyWindow>;

export const TimingSource = z.enum(['incident_timings', 'trace', 'none']);
export type TimingSource = z.infer<typeof TimingSource>;

export const RunKind = z.enum(['baseline', 'experiment']);
export type RunKind = z.infer<typeof RunKind>;

export const RunFigures = z.object({
  run: z.number().int().min(1),
  kind: RunKind,
  /** The incident that carried this run's fault (null for a baseline run: nothing injected). */
  incident_id: IncidentId.nullable(),
  incident_status: z.string().nullable(),
  started_at: z.string(),
  finished_at: z.string(),
  fault: z.object({ injected_at: z.string().nullable(), reverted_at: z.string().nullable(), detail: z.string().nullable() }),
  steady_state: z.object({
    before: z.object({ met: z.boolean(), checks: z.array(ProbeCheck) }),
    during: z.object({ met: z.boolean(), checks: z.array(ProbeCheck) }),
    after: z.object({ met: z.boolean(), checks: z.array(ProbeCheck) }),
  }),
  load: z.object({ before: LoadFigures.nullable(), during: LoadFigures.nullable(), after: LoadFigures.nullable() }).nullable(),
  /** During against before: positive throughput_pct is more, positive shifts are slower. */
  change: z
    .object({
      throughput_pct: z.number().nullable(),
      error_rate_pp: z.number().nullable(),
      p50_shift_ms: z.number().nullable(),
      p95_shift_ms: z.number().nullable(),
      p99_shift_ms: z.number().nullable(),
    })
    .nullable(),
  anomaly_windows: z.array(AnomalyWindow),
  mttd_s: z.number().nullable(),
  mttr_s: z.number().nullable(),
  /** Where each came from: the incident's own timings, or its trace and metrics (see figures.ts). */
  mttd_source: TimingSource,
  mttr_source: TimingSource,
  /** Null when there was no fault to diagnose: a baseline run, or a fault that did not go in (see error). */
  diagnosis: z
    .object({
      expected_category: RootCauseCategory.nullable(),
      category: RootCauseCategory.nullable(),
      category_matched: z.boolean(),
      expected_culprit: z.string().nullable(),
      culprit: z.string().nullable(),
      culprit_matched: z.boolean().nullable(),
      matched: z.boolean(),
      confidence: z.number().nullable(),
    })
    .nullable(),
  safeguard: z.object({ probe: z.string(), at: z.string(), out_for_s: z.number(), detail: z.string() }).nullable(),
  /** The steady state held during the fault, or was restored after it. */
  held: z.boolean(),
  error: z.string().nullable(),
});
export type RunFigures = z.infer<typeof RunFigures>;

export const Quantiles = z.object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() });
export type Quantiles = z.infer<typeof Quantiles>;

export const Aggregate = z.object({
  runs: z.number().int(),
  mttd_s: Quantiles,
  mttr_s: Quantiles,
  /** Share of runs whose fault went in that the pipeline noticed (diagnosed as anything but healthy); null when no fault went in. */
  detection_rate: z.number().nullable(),
  /** Share of runs whose fault went in whose diagnosis named its category (and culprit, when expected). */
  diagnosis_accuracy: z.number().nullable(),
  /** Weighted share of probe checks that stayed within tolerance, over every run and phase. */
  resilience_score: z.number().nullable(),
  all_held: z.boolean(),
});
export type Aggregate = z.infer<typeof Aggregate>;

export const ExperimentStatus = z.enum(['running', 'completed', 'failed', 'aborted', 'interrupted']);
export type ExperimentStatus = z.infer<typeof ExperimentStatus>;

export const ExperimentSummary = z.object({
  experiment_id: ExperimentId,
  title: z.string(),
  status: ExperimentStatus,
  /** Which run is going on and in which step (the dashboard's progress line). */
  progress: z.object({ run: z.number().int(), of: z.number().int(), kind: RunKind.nullable(), step: z.string() }),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  target: z.string(),
  scenario: z.string().nullable(),
  runs: z.array(RunFigures),
  baseline: RunFigures.nullable(),
  aggregate: Aggregate.nullable(),
  incidents: z.array(IncidentId),
  error: z.string().nullable(),
  /** `compare_to: <experiment id>`: that experiment's figures, compared with in the report. */
  compared_to: z.object({ experiment_id: ExperimentId, title: z.string(), aggregate: Aggregate.nullable(), runs: z.array(RunFigures) }).optional(),
});
export type ExperimentSummary = z.infer<typeof ExperimentSummary>;

/** One progress event (the SSE feed and the CLI's progress lines). */
export const ExperimentEvent = z.object({
  timestamp: z.string(),
  run: z.number().int(),
  kind: RunKind.nullable(),
  step: z.string(),
  message: z.string(),
  incident_id: IncidentId.optional(),
});
export type ExperimentEvent = z.infer<typeof ExperimentEvent>;
