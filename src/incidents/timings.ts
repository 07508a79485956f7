/**
 * The incident's timings (SPEC §10): fault start, detection, diagnosis, approval, mitigation,
 * recovery, and the durations derived from them. Pure functions: the pipeline and the
 * remediation engine mark the moments, the record carries them.
 */
import type { Findings } from '../agents/findings.js';
import type { IncidentTimings, TimingKey } from '../domain/timings.js';
import type { Evidence } from '../evidence/schema.js';

export const EMPTY_TIMINGS: IncidentTimings = {
  fault_started_at: null,
  fault_start_source: null,
  detected_at: null,
  diagnosed_at: null,
  approved_at: null,
  mitigated_at: null,
  recovered_at: null,
  mttd_s: null,
  mttr_s: null,
  approval_wait_s: null,
};

type Timed = { timings?: IncidentTimings | null | undefined };

/**
 * The record with one moment set (null clears it) and the durations derived again. The fault's
 * start also says where it came from: `injected` unless told otherwise.
 */
export function markTiming<R extends Timed>(record: R, key: TimingKey, at: Date | string | null, source: IncidentTimings['fault_start_source'] = 'injected'): Omit<R, 'timings'> & { timings: IncidentTimings } {
  const value = at === null ? null : typeof at === 'string' ? new Date(at).toISOString() : at.toISOString();
  const timings: IncidentTimings = { ...EMPTY_TIMINGS, ...record.timings, [key]: value };
  if (key === 'fault_started_at') timings.fault_start_source = value === null ? null : source;
  return { ...record, timings: deriveTimings(timings) };
}

/**
 * The durations from the moments: MTTD from the fault's start to its detection, MTTR from the
 * fault's start to the verified recovery, the approval wait from the diagnosis to the approval.
 * Null when either end is unknown; never negative (a host clock a little behind ours).
 */
export function deriveTimings(t: IncidentTimings): IncidentTimings {
  return {
    ...t,
    mttd_s: seconds(t.fault_started_at, t.detected_at),
    mttr_s: seconds(t.fault_started_at, t.recovered_at),
    approval_wait_s: seconds(t.diagnosed_at, t.approved_at),
  };
}

function seconds(from: string | null, to: string | null): number | null {
  if (from === null || to === null) return null;
  const ms = Date.parse(to) - Date.parse(from);
  if (Number.isNaN(ms)) return null;
  return Math.max(0, Math.round(ms / 100) / 10);
}

/** One dated sign of the fault in the evidence. */
export type FaultSign = { at: string; kind: 'metric' | 'log' | 'probe' | 'process'; what: string };

const LOUD = new Set(['warning', 'error', 'critical']);

/**
 * Every dated sign of a fault the agents found, earliest first: the start of each anomaly
 * window, the first line of each new (or surging) warning-or-worse log template and of each
 * failure signature, the first failed sample of each probe, and the first sample showing the
 * diagnosed culprit process when it was not there from the start (its start, to a sample).
 * Samples of the recovery watch are left out: they come after the fault.
 */
export function faultSigns(evidence: Evidence, findings: Partial<Findings>): FaultSign[] {
  const signs: FaultSign[] = [];
  for (const s of findings.MetricsAgent?.series ?? []) {
    if (!s.anomalous) continue;
    for (const w of s.windows) signs.push({ at: w.start, kind: 'metric', what: `${s.key} left its baseline band` });
  }
  const logs = findings.LogAgent;
  for (const t of logs?.templates ?? []) {
    if (t.first_seen && LOUD.has(t.severity) && (t.is_new || (t.rate_ratio ?? 0) >= 2)) signs.push({ at: t.first_seen, kind: 'log', what: `${t.is_new ? 'new' : 'surging'} ${t.severity} template ${t.template_id}` });
  }
  for (const s of logs?.signatures ?? []) {
    if (s.first_seen) signs.push({ at: s.first_seen, kind: 'log', what: `${s.signature} signature` });
  }
  const failed = new Map<string, string>();
  for (const p of evidence.probes) {
    if (!p.ok && p.phase !== 'recovery' && !failed.has(p.target)) failed.set(p.target, p.t);
  }
  for (const [target, at] of failed) signs.push({ at, kind: 'probe', what: `probe ${target} failed` });
  const culprit = findings.FixerAgent?.root_cause.culprit;
  if (culprit?.kind === 'process' && culprit.pid !== undefined) {
    const samples = evidence.samples.filter((s) => s.phase !== 'recovery');
    const first = samples.find((s) => s.top.some((p) => p.pid === culprit.pid));
    if (first && first !== samples[0]) signs.push({ at: first.t, kind: 'process', what: `culprit pid ${culprit.pid} first seen` });
  }
  return signs.filter((s) => !Number.isNaN(Date.parse(s.at))).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/** A sign this close to the first sample was there before the coordinator looked. */
const OBSERVATION_START_SLACK_MS = 1_500;

/**
 * Fault start and detection from the evidence, once the agents have concluded.
 * - An injected fault (a live injection, or a recording of one) starts when it was injected; it
 *   is detected at its first sign from then on (the culprit appearing included), or not at all
 *   (a `healthy` verdict).
 * - Otherwise the fault's start is estimated as its earliest sign, and it is detected at its
 *   earliest sign other than the culprit merely running. A fault whose first sign is already in
 *   the first sample predates the run: its start is unknown (null), and it was detected when the
 *   coordinator first looked. An incident opened by watch mode was detected when the watch saw
 *   it, and started no later than the watch's first sample out of band (host clock); one opened
 *   by an alert started no later than the alert fired. A start is never later than the detection.
 */
export function detectionTimings(
  evidence: Evidence,
  findings: Partial<Findings>,
  known: { detectedAt?: string | null | undefined; alertFiredAt?: string | null | undefined; outOfBandAt?: string | null | undefined } = {},
): Pick<IncidentTimings, 'fault_started_at' | 'fault_start_source' | 'detected_at'> {
  const injected = evidence.fault_started_at;
  const category = findings.FixerAgent?.root_cause.category;
  const faulty = category !== undefined && category !== 'healthy';
  const signs = faulty ? faultSigns(evidence, findings) : [];
  const seen = signs.filter((s) => s.kind !== 'process');
  if (injected) {
    const from = Date.parse(injected);
    // The culprit showing up after the injection is evidence of the fault like any other (a CPU
    // already busy before the fault shows no anomaly window; the new process is what is seen).
    const first = signs.find((s) => Date.parse(s.at) >= from);
    return { fault_started_at: iso(injected), fault_start_source: 'injected', detected_at: first ? iso(first.at) : null };
  }
  if (!faulty) return { fault_started_at: null, fault_start_source: null, detected_at: null };
  const firstSample = evidence.samples.find((s) => s.phase !== 'recovery')?.t ?? evidence.windows.baseline.start;
  // Watch mode saw the fault before this run began: that is its detection.
  const detected = validIso(known.detectedAt) ?? (seen[0] ? iso(seen[0].at) : iso(firstSample));
  const candidates: string[] = [];
  const earliest = signs[0];
  if (earliest && Date.parse(earliest.at) - Date.parse(firstSample) > OBSERVATION_START_SLACK_MS) candidates.push(iso(earliest.at));
  // An alert fires once its condition has held a while: the fault began by then at the latest.
  const fired = validIso(known.alertFiredAt);
  if (fired) candidates.push(fired);
  // So does the watch's out-of-band streak: its first sample already showed the fault.
  const outOfBand = validIso(known.outOfBandAt);
  if (outOfBand) candidates.push(outOfBand);
  const start = candidates.filter((c) => Date.parse(c) <= Date.parse(detected)).sort()[0];
  if (!start) return { fault_started_at: null, fault_start_source: null, detected_at: detected };
  return { fault_started_at: start, fault_start_source: 'estimated', detected_at: detected };
}

function validIso(text: string | null | undefined): string | null {
  if (!text || Number.isNaN(Date.parse(text))) return null;
  return iso(text);
}

function iso(text: string): string {
  return new Date(text).toISOString();
}

/** "12.5 s", or "n/a" when unknown: how the report and the summary print a duration. */
export function formatSeconds(value: number | null | undefined): string {
  return value === null || value === undefined ? 'n/a' : `${value} s`;
}
