import type { Findings } from '../agents/findings.js';
import type { IncidentRecord } from '../domain/index.js';
import { categoryTitle, cell, code, partialSection } from './markdown.js';

export type FallbackReportInput = {
  incident: Pick<IncidentRecord, 'id' | 'created_at' | 'agents'>;
  host: string;
  findings: Partial<Findings>;
  now: Date;
};

/**
 * report.md written by the coordinator itself when the ReporterAgent failed: short on purpose
 * (the less it does, the less can fail), it says what was found, what is missing and why, and
 * where the rest of the evidence is.
 */
export function buildFallbackReport(input: FallbackReportInput): string {
  const { incident, findings } = input;
  const diagnosis = findings.FixerAgent;
  const out: string[] = [];
  out.push(`# Incident ${incident.id}: partial report`, '');
  out.push('| | |', '|---|---|');
  out.push(`| Host | ${code(input.host)} |`);
  out.push(`| Incident opened | ${incident.created_at} |`);
  out.push(`| Report written | ${input.now.toISOString()} (by the coordinator: the ReporterAgent failed) |`);
  out.push('');
  out.push(...partialSection(incident.agents));
  out.push('## Summary', '');
  if (diagnosis) {
    const rc = diagnosis.root_cause;
    out.push(`**${cell(categoryTitle(rc.category))}** with confidence **${rc.confidence.toFixed(2)}**.`, '');
    out.push(cell(rc.summary), '');
    if (rc.culprit) out.push(`**Culprit:** ${rc.culprit.kind.replace('_', ' ')} ${code(rc.culprit.name)}`, '');
    out.push('The diagnosis and its evidence are in `fix_suggestion.json`; the fix for human review is in `fix.sh`.', '');
  } else {
    out.push('No diagnosis was produced.', '');
  }
  if (findings.TesterAgent) out.push(`Risk of the fix: **${findings.TesterAgent.risk}**.`, '');
  out.push('Every step of the run is in `trace.json`.', '');
  return out.join('\n');
}
