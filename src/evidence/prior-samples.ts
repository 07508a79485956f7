import type { MetricSample, ProbeResult, Window } from './schema.js';
import type { PriorSamples, SeedResult } from './source.js';

/** A baseline needs at least this many samples in band: one gives neither a window nor a spread. */
export const MIN_PRIOR_BASELINE = 2;

export type PhasedPrior = { ok: true; samples: MetricSample[]; probes: ProbeResult[]; result: Extract<SeedResult, { ok: true }> } | { ok: false; reason: string };

/**
 * Prior samples as evidence: `before` tagged `baseline`, `during` tagged `incident`, each in time
 * order, and the probes by their time: baseline before the incident window's start (the first
 * `during` sample, or `first_out_at`), incident from then on. Nothing is reordered across the
 * windows: a baseline sample not before that start is left out (a host clock stepped back), as
 * is anything seen twice or without a valid time. Refused without MIN_PRIOR_BASELINE baseline
 * samples: there is nothing to compare with.
 */
export function phasePrior(prior: PriorSamples): PhasedPrior {
  const valid = <T extends { t: string }>(items: T[]) => items.filter((x) => !Number.isNaN(Date.parse(x.t)));
  const during = inOrder(valid(prior.during));
  const since = during[0]?.t ?? prior.first_out_at;
  const sinceMs = Date.parse(since);
  if (Number.isNaN(sinceMs)) return { ok: false, reason: `the first sample out of band has no valid time (${JSON.stringify(since.slice(0, 40))})` };

  const before = inOrder(valid(prior.before)).filter((s) => Date.parse(s.t) < sinceMs);
  if (before.length < MIN_PRIOR_BASELINE) {
    return { ok: false, reason: `${before.length} sample(s) in band before the host left it, fewer than the ${MIN_PRIOR_BASELINE} a baseline needs` };
  }
  const probes = inOrder(valid(prior.probes));
  const beforeProbes = probes.filter((p) => Date.parse(p.t) < sinceMs);
  const duringProbes = probes.filter((p) => Date.parse(p.t) >= sinceMs);

  const samples: MetricSample[] = [...before.map((s) => ({ ...s, phase: 'baseline' as const })), ...during.map((s) => ({ ...s, phase: 'incident' as const }))];
  const phased: ProbeResult[] = [...beforeProbes.map((p) => ({ ...p, phase: 'baseline' as const })), ...duringProbes.map((p) => ({ ...p, phase: 'incident' as const }))];
  const offered = prior.before.length + prior.during.length + prior.probes.length;
  const window: Window = { start: before[0]!.t, end: before.at(-1)!.t };
  return {
    ok: true,
    samples,
    probes: phased,
    result: {
      ok: true,
      baseline: { samples: before.length, probes: beforeProbes.length, window },
      incident: { samples: during.length, probes: duringProbes.length, since },
      dropped: offered - samples.length - phased.length,
    },
  };
}

/** Sorted by time, a line seen twice kept once (a sample by its time, a probe by its time and target). */
function inOrder<T extends { t: string; target?: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return [...items]
    .sort((a, b) => Date.parse(a.t) - Date.parse(b.t))
    .filter((x) => {
      const key = `${Date.parse(x.t)} ${x.target ?? ''}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}
