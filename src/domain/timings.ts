/**
 * When things happened to an incident's fault (SPEC §10, last bullet), kept in incident.json as
 * `timings`: the moments, and the durations derived from them (MTTD, MTTR, approval wait).
 */
import { z } from 'zod';

export const TimingKey = z.enum(['fault_started_at', 'detected_at', 'diagnosed_at', 'approved_at', 'mitigated_at', 'recovered_at']);
export type TimingKey = z.infer<typeof TimingKey>;

export const IncidentTimings = z.object({
  /** When the fault began: the injection time, or an estimate from the evidence (see fault_start_source). */
  fault_started_at: z.string().nullable(),
  /** `injected`: the coordinator (or the recording) injected it at that time; `estimated`: read from the evidence. */
  fault_start_source: z.enum(['injected', 'estimated']).nullable(),
  /** The first evidence of the fault the agents saw (an anomalous sample, a new error line, a failed probe). */
  detected_at: z.string().nullable(),
  /** When the diagnosis was complete. */
  diagnosed_at: z.string().nullable(),
  /** When a person (or the policy) approved the remediation. */
  approved_at: z.string().nullable(),
  /** When the remediation's steps had all been applied. */
  mitigated_at: z.string().nullable(),
  /** When the verification saw the host back inside its known-good band. */
  recovered_at: z.string().nullable(),
  /** Seconds from the fault's start to its detection. */
  mttd_s: z.number().nonnegative().nullable(),
  /** Seconds from the fault's start to the verified recovery. */
  mttr_s: z.number().nonnegative().nullable(),
  /** Seconds the remediation waited for its approval after the diagnosis. */
  approval_wait_s: z.number().nonnegative().nullable(),
});
export type IncidentTimings = z.infer<typeof IncidentTimings>;
