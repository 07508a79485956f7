/**
 * What the coordinator reports to its metrics, as plain callbacks: the incident service, the
 * pipeline and the SSH layer call these and never import prom-client themselves. Observers must
 * not throw and must return at once (they run inside the pipeline).
 */
import type { AgentName, AgentState, IncidentStatus, IncidentTarget, PipelinePhase, RootCauseCategory, ScenarioName } from '../domain/index.js';

export type IncidentObserver = {
  incidentStarted?(event: { incidentId: string; scenario: ScenarioName; targetKind: IncidentTarget['kind'] }): void;
  phaseChanged?(event: { incidentId: string; phase: PipelinePhase }): void;
  agentFinished?(event: { incidentId: string; agent: AgentName; state: AgentState['state']; durationMs: number }): void;
  /** An agent run that failed, timed out or was rejected, about to be tried again. */
  agentRetried?(event: { incidentId: string; agent: AgentName; reason: 'failed' | 'timed_out' }): void;
  incidentFinished?(event: { incidentId: string; scenario: ScenarioName; status: IncidentStatus; category: RootCauseCategory | null }): void;
  /**
   * MTTD and MTTR of an incident, each once: the pipeline reports what is known when it ends;
   * whoever marks a later recovery (the remediation engine) reports that one with `mttd_s: null`.
   */
  timingsMeasured?(event: { incidentId: string; category: RootCauseCategory | null; mttd_s: number | null; mttr_s: number | null }): void;
};

/** How one remote command ended: `unknown` is a channel that closed without an exit status. */
export type SshCommandOutcome = 'ok' | 'failed' | 'timeout' | 'aborted' | 'unknown';

/** For the SSH layer: call once per remote command, whatever its outcome. */
export type SshCommandObserver = {
  recordSshCommand(event: { host: string; outcome: SshCommandOutcome; durationMs: number }): void;
};

/**
 * The outcome of an ssh/ ExecResult (`exited` with 0 is the only success; a signal or another
 * exit code is a failure), so the SSH layer can report with one call:
 * `observer.recordSshCommand({ host, outcome: sshCommandOutcome(result), durationMs: result.durationMs })`.
 */
export function sshCommandOutcome(result: { outcome: 'exited' | 'signalled' | 'timeout' | 'aborted' | 'unknown'; exitCode: number | null }): SshCommandOutcome {
  switch (result.outcome) {
    case 'exited':
      return result.exitCode === 0 ? 'ok' : 'failed';
    case 'signalled':
      return 'failed';
    default:
      return result.outcome;
  }
}

/** For the report services: one call per rendered (or failed) document. */
export type ReportObserver = {
  recordReportRender(event: { format: 'pdf'; outcome: 'ok' | 'failed'; durationMs: number }): void;
};

/** Everything the coordinator wiring hands to its parts. */
export type CoordinatorObserver = IncidentObserver & SshCommandObserver & ReportObserver;

/** Observes nothing: for the CLI and for tests that do not look at metrics. */
export const noopObserver: CoordinatorObserver = {
  recordSshCommand: () => undefined,
  recordReportRender: () => undefined,
};
