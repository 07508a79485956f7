import type { AgentName, AgentState } from '../domain/index.js';

/** What the postmortem lacks when an agent did not succeed, in the words a reader needs. */
export const MISSING_WHEN_FAILED: Record<AgentName, string> = {
  LogAgent: 'the Logs section; the diagnosis was made without log evidence (templates, failure signatures)',
  MetricsAgent: 'the metrics tables and charts, the time to detect and the recovery times; the diagnosis was made without metric evidence',
  FixerAgent: 'the root cause, the hypotheses and the recommended fix (no fix_suggestion.json, no fix.sh); the TesterAgent had nothing to test',
  TesterAgent: 'the risk rating and rollback plan of fix.sh: it was not dry-run, review it with extra care',
  ReporterAgent: 'the full report: metric and log tables, charts, the PDF and the Slack summary',
};

export type MissingPart = { agent: AgentName; state: AgentState['state']; error: string | null; attempts: number; missing: string };

/**
 * The agents whose work is missing from the report: every one that ended other than succeeded
 * (failed, timed out, skipped, aborted), and those still pending when the report is written
 * (the pipeline stopped before them): shown as skipped. The running one is the reporter itself.
 */
export function missingParts(agents: readonly AgentState[]): MissingPart[] {
  return agents
    .filter((a) => a.state !== 'succeeded' && a.state !== 'running')
    .map((a) => {
      const state = a.state === 'pending' ? 'skipped' : a.state;
      return { agent: a.name, state, error: a.error ?? null, attempts: a.attempts ?? (state === 'skipped' ? 0 : 1), missing: MISSING_WHEN_FAILED[a.name] };
    });
}
