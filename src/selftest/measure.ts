import { AgentName, type IncidentRecord, type TraceEntry } from '../domain/index.js';
import type { SelfTestFaultKind } from './schema.js';

/**
 * What became of one incident under the self-test: `complete` (every agent succeeded),
 * `partial` (a report that names each agent that failed and what is missing), or `lost` (no
 * report, or one that hides a failure).
 */
export type IncidentOutcome = 'complete' | 'partial' | 'lost';

/** One injected fault and how the agent it hit came out of it. */
export type FaultRecovery = {
  agent: AgentName;
  fault: SelfTestFaultKind;
  /** The agent succeeded in the end (after its retries). */
  recovered: boolean;
  /** From the first fault injected into the agent to the agent's success; null when it never succeeded. */
  mttrMs: number | null;
};

export type SelfTestMeasure = { outcome: IncidentOutcome; faults: FaultRecovery[] };

type SelfTestContent = { selftest?: { fault?: SelfTestFaultKind; agent?: AgentName } };

/** Reads one finished incident: its record, its trace and its report.md (null when none was written). */
export function measureIncident(record: IncidentRecord, trace: TraceEntry[], reportMarkdown: string | null): SelfTestMeasure {
  const failed = record.agents.filter((a) => a.state !== 'succeeded');
  let outcome: IncidentOutcome;
  if (reportMarkdown === null) outcome = 'lost';
  else if (!failed.length) outcome = 'complete';
  else {
    // Clearly partial: the report says so, and names every agent that did not succeed.
    const section = reportMarkdown.split('## Partial report')[1]?.split('\n## ')[0] ?? '';
    outcome = section && failed.every((a) => section.includes(`| ${a.name} |`)) ? 'partial' : 'lost';
  }

  const faults: FaultRecovery[] = [];
  for (const name of AgentName.options) {
    const injected = trace.filter((e) => e.agent === name && (e.content as SelfTestContent | null)?.selftest?.fault);
    const first = injected[0];
    if (!first) continue;
    const state = record.agents.find((a) => a.name === name);
    const recovered = state?.state === 'succeeded';
    const finished = trace.find((e) => e.agent === name && e.type === 'info' && typeof (e.content as { summary?: unknown }).summary === 'string' && (e.content as { summary: string }).summary.startsWith(`${name} finished in`));
    const kinds = injected.map((e) => (e.content as Required<SelfTestContent>).selftest.fault!);
    faults.push({
      agent: name,
      fault: kinds[0]!,
      recovered,
      mttrMs: recovered && finished ? Date.parse(finished.timestamp) - Date.parse(first.timestamp) : null,
    });
  }
  return { outcome, faults };
}
