import type { Agent, AgentInput, AgentResult } from '../agent.js';
import type { LogFindings, LogSignature, RankedTemplate, Severity, SignatureHit } from '../findings.js';
import type { Evidence, LogStream, Phase } from '../../evidence/schema.js';
import { errorMessage } from '../../errors.js';
import { createLineMiner } from './line-miner.js';
import { lineSeverity, lineTimestamp, SEVERITY_WEIGHT } from './line-facts.js';
import { matchSignatures } from './signatures.js';

/** Lines kept per stream in raw_logs.txt: enough to read, never a runaway artifact. */
const RAW_LOG_LINES_PER_STREAM = 2000;
const MAX_RANKED_TEMPLATES = 25;

type Tally = {
  template_id: string;
  template: string;
  stream: string;
  severity: Severity;
  counts: Record<Phase, number>;
  first_seen: string | null;
  last_seen: string | null;
  example: string;
};

/**
 * LogAgent: mines templates from every log stream, compares the incident window with the
 * baseline, and ranks what is new or suddenly frequent; also counts well-known failure signatures.
 */
export const logAgent: Agent<'LogAgent'> = {
  name: 'LogAgent',
  async run(input: AgentInput): Promise<AgentResult<LogFindings>> {
    try {
      const findings = analyzeLogs(input.evidence);
      await input.artifacts.write('raw_logs.txt', rawLogs(input.evidence.logs.incident));
      await input.trace('finding', {
        summary: `${findings.total_lines} log lines, ${findings.total_templates} templates, ${findings.templates.filter((t) => t.is_new).length} new in the incident window`,
        top_templates: findings.templates.slice(0, 5).map((t) => ({
          template_id: t.template_id,
          template: t.template,
          stream: t.stream,
          incident_count: t.incident_count,
          baseline_count: t.baseline_count,
          is_new: t.is_new,
          severity: t.severity,
        })),
        signatures: findings.signatures,
      });
      return { ok: true, findings };
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
  },
};

export function analyzeLogs(evidence: Evidence): LogFindings {
  const seconds = {
    baseline: windowSeconds(evidence.windows.baseline),
    incident: windowSeconds(evidence.windows.incident),
  };
  const tallies = new Map<string, Tally>();
  const signatureHits = new Map<LogSignature, { counts: Record<Phase, number>; streams: Map<string, number>; first: string | null; last: string | null; example: string }>();
  const miners = new Map<string, ReturnType<typeof createLineMiner>>();
  const streams = new Map<string, { baseline_lines: number; incident_lines: number }>();
  let total = 0;

  // Baseline first, then incident: templates first seen in the incident window are "new".
  for (const phase of ['baseline', 'incident'] as const) {
    for (const stream of evidence.logs[phase]) {
      const miner = miners.get(stream.name) ?? createLineMiner();
      miners.set(stream.name, miner);
      const counts = streams.get(stream.name) ?? { baseline_lines: 0, incident_lines: 0 };
      streams.set(stream.name, counts);
      for (const line of stream.lines) {
        if (line.trim() === '') continue;
        total += 1;
        counts[phase === 'baseline' ? 'baseline_lines' : 'incident_lines'] += 1;
        const { templateId, template } = miner.add(line);
        const key = `${stream.name}\u0000${templateId}`;
        const at = lineTimestamp(line);
        const tally = tallies.get(key) ?? {
          template_id: `${stream.name}:${templateId}`,
          template,
          stream: stream.name,
          severity: lineSeverity(line),
          counts: { baseline: 0, incident: 0 },
          first_seen: null,
          last_seen: null,
          example: line.slice(0, 400),
        };
        tally.template = template; // templates generalise as more lines arrive
        tally.counts[phase] += 1;
        if (phase === 'incident') {
          tally.first_seen ??= at;
          tally.last_seen = at ?? tally.last_seen;
          if (tally.counts.incident === 1) tally.example = line.slice(0, 400);
        }
        tallies.set(key, tally);

        for (const signature of matchSignatures(line)) {
          const hit = signatureHits.get(signature) ?? { counts: { baseline: 0, incident: 0 }, streams: new Map<string, number>(), first: null, last: null, example: '' };
          hit.counts[phase] += 1;
          if (phase === 'incident') {
            hit.streams.set(stream.name, (hit.streams.get(stream.name) ?? 0) + 1);
            hit.first ??= at;
            hit.last = at ?? hit.last;
            if (!hit.example) hit.example = line.slice(0, 400);
          }
          signatureHits.set(signature, hit);
        }
      }
    }
  }

  // Against the known-good reference, a template the host never printed when healthy is news
  // even when it is as frequent in both windows of this run (a fault older than the run).
  const known = evidence.reference ? new Set(evidence.reference.log_templates.map((t) => `${t.stream}\u0000${t.template}`)) : null;
  const ranked = [...tallies.values()]
    .map((t) => rankTemplate(t, seconds, known ? !known.has(`${t.stream}\u0000${t.template}`) : false))
    .filter((t): t is RankedTemplate => t !== null)
    .sort((a, b) => b.score - a.score)
    .slice(0, MAX_RANKED_TEMPLATES);

  // Every signature still present in the incident window is kept: one that was already there
  // when the run began (the alert fired minutes ago) is as real as one that rose in it.
  const signatures: SignatureHit[] = [...signatureHits.entries()]
    .filter(([, hit]) => hit.counts.incident > 0)
    .map(([signature, hit]) => ({
      signature,
      count: hit.counts.incident,
      baseline_count: hit.counts.baseline,
      rose: rose(hit.counts, seconds),
      streams: [...hit.streams.entries()].sort((a, b) => b[1] - a[1]).map(([name]) => name),
      first_seen: hit.first,
      last_seen: hit.last,
      example: hit.example,
    }))
    .sort((a, b) => b.count - a.count);

  return {
    streams: [...streams.entries()].map(([name, c]) => ({ name, ...c })),
    templates: ranked,
    total_lines: total,
    total_templates: tallies.size,
    signatures,
  };
}

/** A template matters when it is new in the incident window, or its rate jumped. */
function rankTemplate(t: Tally, seconds: Record<Phase, number>, unknownToReference: boolean): RankedTemplate | null {
  const { baseline, incident } = t.counts;
  if (incident === 0) return null;
  const baselineRate = baseline / seconds.baseline;
  const incidentRate = incident / seconds.incident;
  const isNew = baseline === 0;
  const ratio = isNew ? null : incidentRate / baselineRate;
  const rising = isNew || (ratio !== null && ratio >= 3 && incident >= 3);
  // Steady but never seen on the healthy host: only worth a line when it says something is wrong.
  const novel = !rising && unknownToReference && incident >= 3 && (t.severity === 'error' || t.severity === 'critical' || t.severity === 'warning');
  if (!rising && !novel) return null;
  const weight = SEVERITY_WEIGHT[t.severity];
  const surprise = isNew ? 3 : novel ? 2 : Math.log2(ratio ?? 1);
  const score = weight * surprise * Math.log2(1 + incident);
  return {
    template_id: t.template_id,
    template: t.template,
    stream: t.stream,
    severity: t.severity,
    baseline_count: baseline,
    incident_count: incident,
    rate_ratio: ratio === null ? null : Math.round(ratio * 100) / 100,
    is_new: isNew,
    ...(unknownToReference ? { unknown_to_reference: true } : {}),
    first_seen: t.first_seen,
    last_seen: t.last_seen,
    example: t.example,
    score: Math.round(score * 100) / 100,
  };
}

/** A signature counts when it appears in the incident window clearly more than in the baseline. */
function rose(counts: Record<Phase, number>, seconds: Record<Phase, number>): boolean {
  if (counts.incident === 0) return false;
  if (counts.baseline === 0) return true;
  return counts.incident / seconds.incident >= 3 * (counts.baseline / seconds.baseline);
}

function windowSeconds(window: { start: string; end: string }): number {
  return Math.max(1, (Date.parse(window.end) - Date.parse(window.start)) / 1000);
}

function rawLogs(streams: LogStream[]): string {
  const parts: string[] = [];
  for (const stream of streams) {
    const kept = stream.lines.slice(-RAW_LOG_LINES_PER_STREAM);
    parts.push(`==> ${stream.name} (${stream.lines.length} lines in the incident window${kept.length < stream.lines.length ? `, last ${kept.length} kept` : ''}) <==`);
    parts.push(...kept);
    parts.push('');
  }
  return parts.length ? `${parts.join('\n')}\n` : 'No log lines were captured in the incident window.\n';
}
