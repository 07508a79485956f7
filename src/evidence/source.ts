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
  /**
   * Hands the source samples taken before the incident opened (watch mode's), before anything
   * is collected: they become the baseline window and the start of the incident window, and
   * `collect('baseline')` then returns at once with them (see `PriorSamples`). Sources that
   * cannot take them (a recording) lack the method.
   */
  seed?(prior: PriorSamples): SeedResult;
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

/**
 * `taken_by`: who took the window's samples when the source did not (a seeded baseline: watch
 * mode's samples from before the incident opened).
 */
export type CollectSummary = { phase: Phase; samples: number; probes: number; seconds: number; taken_by?: string };

/** A sample or probe as the host-side sampler prints it: the phase is the evidence's to give. */
export type UnphasedSample = Omit<MetricSample, 'phase'>;
export type UnphasedProbe = Omit<ProbeResult, 'phase'>;

/**
 * What watch mode saw of the host before it opened the incident (SPEC §12), handed to the
 * incident's evidence so that a fault that has stopped changing by the time the investigation
 * looks (a leak that has stopped growing) is still seen as it happened. Host clock, oldest first.
 */
export type PriorSamples = {
  /** Who took them, as the trace names it ("watch mode"). */
  taken_by: string;
  /** The first sample out of band: the fault had begun by then. */
  first_out_at: string;
  /** The host in its band before the fault: the baseline window. */
  before: UnphasedSample[];
  /** From the fault's first sign (a climb the band's limits still allowed) through the out-of-band streak: the start of the incident window. */
  during: UnphasedSample[];
  /**
   * The host-side probes of the same time (each probe runs on its own clock, so it is phased by
   * its time: before the incident window's first sample, baseline).
   */
  probes: UnphasedProbe[];
};

/** What a source made of the prior samples, or why it took none. */
export type SeedResult =
  | {
      ok: true;
      baseline: { samples: number; probes: number; window: Window };
      /** The incident window starts at `since`, with these samples. */
      incident: { samples: number; probes: number; since: string };
      /** Samples and probes left out: seen twice, without a valid time, or a baseline sample not before the incident window. */
      dropped: number;
    }
  | { ok: false; reason: string };
