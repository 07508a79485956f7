/**
 * The record the coordinator keeps of each incident (`incident.json`). Ground floor: imported by
 * every layer, imports nothing of the project but its siblings here.
 */
import { z } from 'zod';
import { IncidentId } from './incident-id.js';
import { Remediation } from './remediation.js';
import { RootCauseCategory, ScenarioName } from './taxonomy.js';
import { IncidentTimings } from './timings.js';

export const IncidentStatus = z.enum(['running', 'completed', 'failed', 'aborted', 'interrupted']);
export type IncidentStatus = z.infer<typeof IncidentStatus>;

export const PipelinePhase = z.enum(['created', 'connecting', 'baseline', 'chaos', 'observe', 'agents', 'remediation', 'revert', 'recovery', 'report', 'done']);
export type PipelinePhase = z.infer<typeof PipelinePhase>;

export const AgentName = z.enum(['LogAgent', 'MetricsAgent', 'FixerAgent', 'TesterAgent', 'ReporterAgent']);
export type AgentName = z.infer<typeof AgentName>;

export const AgentState = z.object({
  name: AgentName,
  /** `aborted`: the incident was stopped while this agent ran; `skipped`: it never started. */
  state: z.enum(['pending', 'running', 'succeeded', 'failed', 'timed_out', 'aborted', 'skipped']),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
  error: z.string().optional(),
  /** How many times it was run: more than 1 when a failed attempt was retried. */
  attempts: z.number().int().min(1).optional(),
});
export type AgentState = z.infer<typeof AgentState>;

export const ChaosState = z.object({
  state: z.enum(['not_applicable', 'pending', 'injected', 'reverted', 'revert_failed', 'failed']),
  detail: z.string().optional(),
});
export type ChaosState = z.infer<typeof ChaosState>;

export const IncidentTarget = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('offline'), bundle: z.string() }),
  z.object({ kind: z.literal('ssh'), name: z.string(), host: z.string(), port: z.number(), user: z.string() }),
]);
export type IncidentTarget = z.infer<typeof IncidentTarget>;

/** What opened an incident: a person (API, CLI, dashboard), an alert (POST /alerts), or watch mode. */
export const IncidentTrigger = z.enum(['manual', 'alert', 'watch']);
export type IncidentTrigger = z.infer<typeof IncidentTrigger>;

/** The alert an incident was opened for (SPEC §12); `resolved_at` is set when its resolution arrives. */
export const IncidentAlert = z.object({
  source: z.enum(['alertmanager', 'generic']),
  fingerprint: z.string().min(1).max(128),
  name: z.string().max(256),
  labels: z.record(z.string(), z.string()),
  runbook_url: z.string().max(2048).nullable(),
  fired_at: z.string().nullable(),
  resolved_at: z.string().nullable(),
});
export type IncidentAlert = z.infer<typeof IncidentAlert>;

/** The experiment run whose fault an incident carried (SPEC §11): the experiment lists it too. */
export const IncidentExperiment = z.object({
  id: z.string().regex(/^exp-\d{8}-\d{6}-[0-9a-z]{10}$/),
  run: z.number().int().min(1),
});
export type IncidentExperiment = z.infer<typeof IncidentExperiment>;

export const IncidentRecord = z.object({
  id: IncidentId,
  scenario: ScenarioName,
  target: IncidentTarget,
  options: z.record(z.string(), z.unknown()),
  status: IncidentStatus,
  phase: PipelinePhase,
  created_at: z.string(),
  updated_at: z.string(),
  finished_at: z.string().nullable(),
  agents: z.array(AgentState),
  chaos: ChaosState,
  phase_ms: z.record(z.string(), z.number()),
  outcome: z
    .object({
      category: RootCauseCategory,
      culprit: z.string().nullable(),
      confidence: z.number().min(0).max(1),
    })
    .nullable(),
  error: z.string().nullable(),
  /** Fault start, detection, diagnosis, approval, mitigation, recovery; MTTD and MTTR. Absent on records written before timings existed. */
  timings: IncidentTimings.optional(),
  /** The approval-gated fix (SPEC §10); absent when none was asked for. */
  remediation: Remediation.nullable().optional(),
  /** Absent on records written before triggers existed: those were all manual. */
  trigger: IncidentTrigger.optional(),
  /** When the fault was detected (watch mode: the sample that completed the out-of-band streak). */
  detected_at: z.string().nullable().optional(),
  alert: IncidentAlert.optional(),
  experiment: IncidentExperiment.optional(),
});
export type IncidentRecord = z.infer<typeof IncidentRecord>;
