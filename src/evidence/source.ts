import type { Evidence, MetricSample, Phase, ProbeResult, Window } from './schema.js';

/**
 * Where evidence comes from: a live host over SSH, or a recorded bundle. The pipeline drives it
 * through the phases; agents only ever see the `Evidence` value it finally returns.
 */
export interface EvidenceSource {
  readonly kind: Evidence['source'];
  /** Human description for the trace ("bundle examples/cpu_spike", "sre-demo@10.0.0.2:22"). */
  readonly description: string;
  /** Records one window (live: samples for durationS seconds; offline: replays the recording). */
  collect(phase: Phase, durationS: number, signal: AbortSignal): Promise<CollectSummary>;
  /** Tells the source when the fault began or ended, for time-to-detect and recovery figures. */
  markFault(event: 'started' | 'reverted', at: Date): void;
  /** Gathers logs and forensics and returns the baseline and incident windows' evidence. */
  finish(signal: AbortSignal): Promise<Evidence>;
  /**
   * After the revert: watches the host for at most `maxS` seconds, or until `settled` says it
   * is back to normal (live), and returns what that recovery window holds (offline: what the
   * recording holds after its revert, at once).
   */
  followRecovery(maxS: number, signal: AbortSignal, settled: (window: RecoveryWindow) => boolean): Promise<RecoveryWindow>;
  /** Releases the connection; a live source reports what the incident cost on the wire. */
  close(): Promise<TransportStats | null>;
}

/** SSH usage of one incident, traced when the source closes. */
export type TransportStats = {
  connections: number;
  exec_channels: number;
  max_concurrent_channels: number;
  commands: number;
  failures: number;
  reconnects: number;
};

/** The samples and probes taken after the revert (phase `recovery`). */
export type RecoveryWindow = {
  window: Window | null;
  fault_reverted_at: string | null;
  samples: MetricSample[];
  probes: ProbeResult[];
};

export type CollectSummary = { phase: Phase; samples: number; probes: number; seconds: number };
