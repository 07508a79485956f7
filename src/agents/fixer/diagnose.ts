import type { Evidence } from '../../evidence/schema.js';
import type { Diagnosis, EvidenceRef, Hypothesis, LogFindings, MetricFindings } from '../findings.js';
import { planActions } from './actions.js';
import { clamp, Facts, round, type Candidate, type Signal } from './facts.js';
import { checkHealth } from './health.js';
import { cpu } from './rules/cpu.js';
import { database } from './rules/database.js';
import { disk } from './rules/disk.js';
import { memory } from './rules/memory.js';
import { network } from './rules/network.js';
import { resourceLimit } from './rules/resource-limit.js';
import { service } from './rules/service.js';

/** Below this, the best hypothesis is not trusted: the answer is `unknown` (or `healthy`). */
export const CONFIDENCE_THRESHOLD = 0.5;

/** One rule per category, each a pure function of the facts (rules/). */
const RULES = [cpu, memory, disk, network, service, database, resourceLimit];

/**
 * FixerAgent's reasoning, as a pure function of the evidence and the earlier agents' findings.
 * It never sees the scenario's name: the only way to a category is through the signals of the
 * rules. Each rule judges the host three ways: against absolute limits that hold on any host,
 * against its known-good reference, and by what changed inside the run's windows.
 */
export function diagnose(evidence: Evidence, logs: LogFindings | undefined, metrics: MetricFindings | undefined): Diagnosis {
  const facts = new Facts(evidence, logs, metrics);
  const candidates: Candidate[] = RULES.map((rule) => rule(facts));
  const hypotheses: Hypothesis[] = explainAway(candidates, candidates.map((c) => ({ category: c.category, confidence: confidenceOf(c.signals), culprit: c.culprit, evidence: ordered(c.signals).map((s) => s.ref) })))
    .filter((h) => h.confidence > 0)
    .sort((a, b) => b.confidence - a.confidence);

  const strongest = facts.strongestEvidence();
  const best = hypotheses[0];
  if (best && best.confidence >= CONFIDENCE_THRESHOLD) {
    return {
      root_cause: { category: best.category, summary: summarize(best), culprit: best.culprit, confidence: best.confidence, evidence: best.evidence },
      hypotheses,
      strongest_evidence: strongest,
      actions: planActions(best.category, best.culprit, evidence),
    };
  }
  const health = checkHealth(facts);
  if (strongest.length === 0 && health.healthy) {
    // Confidence grows with what could be checked, and shrinks with the best doubt left.
    const coverage = Math.min(1, (metrics?.series.length ?? 0) / 6) * 0.15 + health.coverage * 0.75 + (logs ? 0.1 : 0);
    // Never certain: some fault may sit where no probe, limit or reference looks.
    const confidence = round(Math.min(0.95, Math.max(0.5, coverage * (1 - (best?.confidence ?? 0)))));
    return {
      root_cause: {
        category: 'healthy',
        summary: `No fault found: ${health.passed.map((p) => p.detail).join('; ')}.${evidence.reference ? '' : ' No known-good reference was recorded for this host yet, so nothing was compared with its normal.'}`,
        culprit: null,
        confidence,
        evidence: health.passed,
      },
      hypotheses,
      strongest_evidence: [],
      actions: planActions('healthy', null, evidence),
    };
  }
  const doubts = [...strongest, ...health.failed.filter((d) => !strongest.some((s) => s.ref === d.ref))];
  return {
    root_cause: {
      category: 'unknown',
      summary: `The evidence fits no known fault well enough (best: ${best ? `${best.category} at ${best.confidence}` : 'none'}); see the strongest evidence.`,
      culprit: null,
      confidence: round(1 - (best?.confidence ?? 0)) * 0.5,
      evidence: doubts,
    },
    hypotheses,
    strongest_evidence: doubts,
    actions: planActions('unknown', null, evidence),
  };
}

/**
 * One process that leaks and burns CPU doing it is one fault, a leak: writing the pages it
 * allocates costs CPU. When the memory hypothesis rests on a leak (primary process evidence) and
 * the CPU hypothesis blames nothing but the leaking processes, the CPU hypothesis ranks below
 * the leak and says why. CPU burnt by any other process stays a hypothesis of its own.
 */
function explainAway(candidates: Candidate[], hypotheses: Hypothesis[]): Hypothesis[] {
  const leak = candidates.find((c) => c.category === 'memory_pressure' && c.signals.some((s) => s.primary && s.strength > 0 && s.ref.kind === 'process'));
  const memory = hypotheses.find((h) => h.category === 'memory_pressure');
  const leakers = new Set(leak?.culprit?.pids ?? (leak?.culprit?.pid ? [leak.culprit.pid] : []));
  if (!memory || !leakers.size) return hypotheses;
  return hypotheses.map((h) => {
    const blamed = h.culprit?.kind === 'process' ? (h.culprit.pids ?? (h.culprit.pid ? [h.culprit.pid] : [])) : [];
    if (h.category !== 'cpu_saturation' || !blamed.length || !blamed.every((pid) => leakers.has(pid)) || h.confidence < memory.confidence) return h;
    const why: EvidenceRef = { kind: 'process', ref: `explained:memory_pressure:${blamed[0]}`, detail: `the CPU ${h.culprit!.name} (pid ${blamed.join(', ')}) uses is spent growing its memory: the leak explains it` };
    return { ...h, confidence: round(Math.max(0, memory.confidence - 0.05)), evidence: [...h.evidence, why] };
  });
}

/** Primary evidence first, strongest first: the first line of a diagnosis is its best reason. */
function ordered(signals: Signal[]): Signal[] {
  return signals.filter((s) => s.strength > 0).sort((a, b) => Number(b.primary) - Number(a.primary) || b.weight * b.strength - a.weight * a.strength);
}

function confidenceOf(signals: Signal[]): number {
  const live = signals.filter((s) => s.strength > 0);
  if (!live.length) return 0;
  const combined = 1 - live.reduce((p, s) => p * (1 - s.weight * clamp(s.strength)), 1);
  // Without its primary evidence a category is at most a weak hunch.
  const hasPrimary = live.some((s) => s.primary);
  return round(hasPrimary ? combined : Math.min(combined, 0.3) * 0.5);
}

function summarize(h: Hypothesis): string {
  const who = h.culprit ? ` Culprit: ${h.culprit.kind} ${h.culprit.name}${h.culprit.pid ? ` (pid ${h.culprit.pid})` : ''}.` : '';
  const what: Record<string, string> = {
    cpu_saturation: 'CPU saturation.',
    memory_pressure: 'Memory pressure.',
    disk_full: 'Disk full.',
    network_degradation: 'Network degradation.',
    service_down: 'Service down.',
    db_connection_exhaustion: 'Database connection exhaustion.',
    resource_limit: 'Resource limit reached.',
  };
  const why = h.evidence[0] ? ` ${h.evidence[0].detail}.` : '';
  return `${what[h.category] ?? h.category}${why}${who} ${h.evidence.length} pieces of evidence, confidence ${h.confidence}.`;
}

