/**
 * A host's known-good reference (SPEC §9): what it looked like when it was last seen healthy.
 * Recorded at enrolment, after every run diagnosed `healthy`, and by `chaos-handler baseline`;
 * `investigate` judges the host against it, so a fault already present when the run starts is
 * still a change, from the reference.
 */
import { z } from 'zod';
import { HostInventory } from './inventory.js';
import { IsoTime, ProbeKind } from './primitives.js';

/** The spread of one metric over the reference's samples. Keys are the MetricsAgent's series keys. */
export const LevelBand = z.object({
  median: z.number(),
  p95: z.number(),
  min: z.number(),
  max: z.number(),
  n: z.number().int().positive(),
});
export type LevelBand = z.infer<typeof LevelBand>;

export const ReferenceProbe = z.object({
  target: z.string().min(1).max(256),
  kind: ProbeKind,
  ok_pct: z.number().min(0).max(100),
  latency_ms_median: z.number().nonnegative().nullable(),
  n: z.number().int().positive(),
});
export type ReferenceProbe = z.infer<typeof ReferenceProbe>;

export const KnownGoodReference = z.object({
  format_version: z.literal(1),
  /** The enrolled target's name. */
  target: z.string().min(1).max(64),
  taken_at: IsoTime,
  /** How it was taken. */
  source: z.enum(['enroll', 'baseline', 'healthy_run']),
  /** The incident diagnosed healthy that it comes from. */
  incident_id: z.string().max(64).nullable(),
  /** Seconds of samples it summarises. */
  window_s: z.number().nonnegative(),
  inventory: HostInventory,
  levels: z.record(z.string().max(300), LevelBand),
  probes: z.array(ReferenceProbe).max(64),
  /** Log templates and their normal rate: a template far above its rate, or absent here, is news. */
  log_templates: z.array(z.object({ stream: z.string().max(64), template: z.string().max(2000), per_min: z.number().nonnegative() })).max(500),
});
export type KnownGoodReference = z.infer<typeof KnownGoodReference>;

/** "60 min", "3 h", "2 days": how old a reference is, as a person says it. */
export function ageText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

/** "the reference of 2026-11-30T09:00:00.000Z (enroll, 60 min old)": which normal a run was judged against. */
export function referenceLabel(reference: Pick<KnownGoodReference, 'taken_at' | 'source'>, at: string | Date): string {
  const age = ageText(new Date(at).getTime() - Date.parse(reference.taken_at));
  return `the reference of ${reference.taken_at} (${reference.source.replace('_', ' ')}, ${age} old)`;
}
