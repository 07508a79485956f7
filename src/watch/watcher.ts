import { z } from 'zod';
import { ConflictError, errorMessage } from '../errors.js';
import type { KnownGoodReference } from '../evidence/reference.js';
import { MetricSample, ProbeResult } from '../evidence/schema.js';
import type { PriorSamples } from '../evidence/source.js';
import type { Logger } from '../logger.js';
import type { StreamHandle } from '../ssh/connection.js';
import { buildUp, judgeSample, learnProbes, newWatchMemory, type Breach, type WatchMemory, type WatchProbe, type WatchSample } from './judge.js';
import type { WatchDetection, WatchOptions, WatchState, WatchView } from './schema.js';

/** What the host-side sampler prints (chaos-scripts/collect/sampler.py), one JSON object a line. */
const SamplerLine = z.discriminatedUnion('type', [
  z.object({ type: z.literal('sample'), data: MetricSample.omit({ phase: true }) }),
  z.object({ type: z.literal('probe'), data: ProbeResult.omit({ phase: true }) }),
]);

/** The watch's link to its host: one SSH connection, one sampler stream on it at a time. */
export type WatchLink = {
  /** Starts the sampler (`--interval`, the target's probes); lines arrive through `onLine`. */
  sample(intervalS: number, onLine: (line: string) => void): StreamHandle;
  /** The HTTP probes fetched from the coordinator's side (enrolled URLs on the target's own address). */
  outsideUrls: string[];
  reference: KnownGoodReference | null;
  close(): Promise<void>;
};

export type WatcherDeps = {
  target: string;
  options: WatchOptions;
  /** Opens the target's connection (enrolment, host key, reference); called again after a failure. */
  connect: () => Promise<WatchLink>;
  /**
   * Opens the investigation; resolves with its id. ConflictError: the target is busy or the cap
   * is reached. `seen`: the watch's samples of the host before the breach and during it, for the
   * investigation's evidence.
   */
  investigate: (detection: { detected_at: string; breaches: Breach[]; seen: PriorSamples }) => Promise<string>;
  /** One outside probe (fetch with a deadline); injectable for tests. */
  fetchProbe?: (url: string, timeoutMs: number) => Promise<WatchProbe>;
  log: Logger;
  now?: () => Date;
  /** When the watch began, if before this watcher (a watch resumed after a restart of the coordinator). */
  since?: Date;
};

/** Waits between restarts of a sampler that ended: doubling, capped. */
const RESTART_MS = { first: 1_000, max: 30_000 };
/** Detections kept in the view. */
const MAX_DETECTIONS = 50;
/**
 * What the watch keeps of its samples for the investigation it opens: the last minute in band
 * (at most one sample a second), and of the out-of-band streak its first and its latest half
 * of this many (the climb and the present, however long the streak).
 */
export const HISTORY = { inBandS: 60, maxInBand: 60, maxStreak: 60 } as const;

/** One sample and the host-side probes judged with it. */
type Seen = { sample: WatchSample; probes: WatchProbe[] };

/**
 * One watched target: a light sampler over the target's SSH connection, each sample judged
 * against the band; K samples in a row out of band open an `investigate` incident with the
 * detection time, then nothing more opens until the cooldown has passed.
 */
export class Watcher {
  private state: WatchState = 'starting';
  private readonly startedAt: Date;
  private stoppedAt: Date | null = null;
  private link: WatchLink | null = null;
  private sampler: StreamHandle | null = null;
  private stopping = false;
  private samples = 0;
  private lastSampleAt: string | null = null;
  /** The samples in a row out of band, kept (bounded: HISTORY.maxStreak) for the investigation. */
  private streak: { first: string; count: number; seen: Seen[] } | null = null;
  /** The last samples in band, oldest first (HISTORY.inBandS seconds, HISTORY.maxInBand at most). */
  private inBand: Seen[] = [];
  private breaches: Breach[] = [];
  private cooldownUntil = 0;
  private opening = false;
  private error: string | null = null;
  private readonly detections: WatchDetection[] = [];
  private readonly memory: WatchMemory = newWatchMemory();
  /** Probe results since the last sample, judged with it. */
  private probes: WatchProbe[] = [];
  /** Those of them the host-side sampler took (the investigation's sampler takes the same; not the outside ones). */
  private hostProbes: WatchProbe[] = [];
  private restartMs = RESTART_MS.first;
  private restartTimer: NodeJS.Timeout | null = null;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly deps: WatcherDeps) {
    this.startedAt = deps.since ?? this.now();
  }

  /** Connects and starts sampling; rejects when the first connection fails (nothing is left running). */
  async start(): Promise<void> {
    this.link = await this.deps.connect();
    this.startSampler();
  }

  /**
   * Starts a watch saved before a restart of the coordinator: a host that cannot be reached now
   * is tried again with backoff (state `reconnecting`, the reason in `error`) rather than refused.
   */
  resume(): void {
    this.state = 'reconnecting';
    void this.restart();
  }

  /** Stops sampling and closes the connection; idempotent. */
  async stop(): Promise<void> {
    if (this.stopping) return this.loop;
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.loop = (async () => {
      const sampler = this.sampler;
      this.sampler = null;
      await sampler?.stop().catch(() => undefined);
      await this.link?.close().catch(() => undefined);
      this.link = null;
      if (this.state !== 'failed') this.state = 'stopped';
      this.stoppedAt = this.now();
    })();
    return this.loop;
  }

  view(): WatchView {
    return {
      target: this.deps.target,
      state: this.state,
      options: this.deps.options,
      started_at: this.startedAt.toISOString(),
      stopped_at: this.stoppedAt?.toISOString() ?? null,
      samples: this.samples,
      last_sample_at: this.lastSampleAt,
      out_of_band: this.streak?.count ?? 0,
      breaches: this.breaches.map((b) => b.detail),
      cooldown_until: this.cooldownUntil > this.now().getTime() ? new Date(this.cooldownUntil).toISOString() : null,
      reference: this.link?.reference ? `${this.link.reference.taken_at} (${this.link.reference.source})` : null,
      detections: [...this.detections],
      error: this.error,
    };
  }

  get active(): boolean {
    return !this.stopping;
  }

  private startSampler(): void {
    if (this.stopping || !this.link) return;
    const handle = this.link.sample(this.deps.options.interval_s, (line) => this.onLine(line));
    this.sampler = handle;
    this.state = 'watching';
    handle.done.then(
      (result) => this.onSamplerEnd(handle, result.outcome === 'exited' && result.exitCode === 0 ? null : `sampler ended: ${result.outcome}${result.exitCode !== null ? ` ${result.exitCode}` : ''} ${result.stderr.slice(-200)}`.trim()),
      (error: unknown) => this.onSamplerEnd(handle, `sampler stream failed: ${errorMessage(error)}`),
    );
  }

  /** The sampler ended (its --max-seconds, the link dropped, the host rebooted): start another. */
  private onSamplerEnd(handle: StreamHandle, problem: string | null): void {
    if (this.stopping || this.sampler !== handle) return;
    this.sampler = null;
    if (problem) {
      this.error = problem;
      this.deps.log.warn({ target: this.deps.target, problem }, 'Watch sampler ended; restarting it');
    }
    this.state = 'reconnecting';
    const wait = problem ? this.restartMs : 0;
    this.restartMs = problem ? Math.min(this.restartMs * 2, RESTART_MS.max) : RESTART_MS.first;
    this.restartTimer = setTimeout(() => void this.restart(), wait);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    try {
      // A fresh connection: the old one may be the thing that failed. The reference is re-read too.
      await this.link?.close().catch(() => undefined);
      this.link = null;
      const link = await this.deps.connect();
      if (this.stopping) {
        await link.close();
        return;
      }
      this.link = link;
      this.startSampler();
    } catch (error) {
      this.error = `reconnect failed: ${errorMessage(error)}`;
      this.deps.log.warn({ target: this.deps.target, err: error }, 'Watch could not reconnect; trying again');
      this.restartTimer = setTimeout(() => void this.restart(), this.restartMs);
      this.restartMs = Math.min(this.restartMs * 2, RESTART_MS.max);
    }
  }

  private onLine(line: string): void {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return;
    }
    const parsed = SamplerLine.safeParse(json);
    if (!parsed.success) return;
    if (parsed.data.type === 'probe') {
      this.probes.push(parsed.data.data);
      this.hostProbes.push(parsed.data.data);
      return;
    }
    const sample = parsed.data.data;
    const probes = this.probes;
    const hostProbes = this.hostProbes;
    this.probes = [];
    this.hostProbes = [];
    this.samples += 1;
    this.lastSampleAt = sample.t;
    this.restartMs = RESTART_MS.first;
    this.error = null;
    if (this.deps.options.outside_probes) this.probeFromOutside();
    this.judge(sample, probes, hostProbes);
  }

  private judge(sample: WatchSample, probes: WatchProbe[], hostProbes: WatchProbe[]): void {
    const breaches = judgeSample(sample, probes, this.link?.reference ?? null, this.memory);
    this.breaches = breaches;
    const seen: Seen = { sample, probes: hostProbes };
    if (!breaches.length) {
      this.streak = null;
      learnProbes(probes, this.memory);
      this.keepInBand(seen);
      return;
    }
    if (this.streak) {
      this.streak.count += 1;
      this.streak.seen.push(seen);
      // Bounded: the streak's first half (its climb) stays, the middle makes room for the present.
      if (this.streak.seen.length > HISTORY.maxStreak) this.streak.seen.splice(HISTORY.maxStreak / 2, 1);
    } else {
      this.streak = { first: sample.t, count: 1, seen: [seen] };
    }
    if (this.streak.count < this.deps.options.consecutive || this.opening) return;
    const now = this.now();
    if (now.getTime() < this.cooldownUntil) return;
    void this.open(now, this.streak.first, breaches, this.handover(this.streak.first, breaches));
  }

  /** The last minute in band, by the host's clock (a restarted sampler leaves a gap, not a reorder). */
  private keepInBand(seen: Seen): void {
    this.inBand.push(seen);
    const oldest = Date.parse(seen.sample.t) - HISTORY.inBandS * 1000;
    this.inBand = this.inBand.filter((s) => Date.parse(s.sample.t) >= oldest).slice(-HISTORY.maxInBand);
  }

  /**
   * What the investigation gets of what the watch saw: the samples in band before the fault as
   * its baseline, and the fault from its first sign (the build-up the band still allowed, see
   * `buildUp`) through the streak as the start of its incident window.
   */
  private handover(firstOutAt: string, breaches: Breach[]): PriorSamples {
    const climb = buildUp(this.inBand.map((s) => s.sample), breaches);
    const before = this.inBand.slice(0, this.inBand.length - climb);
    const during = [...this.inBand.slice(this.inBand.length - climb), ...(this.streak?.seen ?? [])];
    return {
      taken_by: 'watch mode',
      first_out_at: firstOutAt,
      before: before.map((s) => s.sample),
      during: during.map((s) => s.sample),
      probes: [...before, ...during].flatMap((s) => s.probes),
    };
  }

  private async open(now: Date, firstOutAt: string, breaches: Breach[], seen: PriorSamples): Promise<void> {
    this.opening = true;
    this.cooldownUntil = now.getTime() + this.deps.options.cooldown_s * 1000;
    const detection: WatchDetection = { detected_at: now.toISOString(), first_out_at: firstOutAt, breaches: breaches.map((b) => b.detail), incident_id: null, error: null };
    this.detections.push(detection);
    if (this.detections.length > MAX_DETECTIONS) this.detections.shift();
    try {
      detection.incident_id = await this.deps.investigate({ detected_at: detection.detected_at, breaches, seen });
      this.deps.log.info({ target: this.deps.target, incidentId: detection.incident_id, breaches: detection.breaches }, 'Watch opened an investigation');
    } catch (error) {
      // Busy (an investigation already runs there, maybe from an alert) or the cap: the cooldown still holds.
      detection.error = errorMessage(error);
      if (!(error instanceof ConflictError)) this.deps.log.warn({ target: this.deps.target, err: error }, 'Watch could not open an investigation');
    } finally {
      this.opening = false;
    }
  }

  /** The enrolled HTTP probes, fetched as the host's users fetch them; judged with the next sample. */
  private probeFromOutside(): void {
    const urls = this.link?.outsideUrls ?? [];
    const fetchProbe = this.deps.fetchProbe ?? outsideProbe;
    const timeoutMs = Math.max(500, this.deps.options.interval_s * 1000);
    for (const url of urls) {
      void fetchProbe(url, timeoutMs).then((probe) => {
        if (!this.stopping) this.probes.push(probe);
      });
    }
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

/** One HTTP GET with a deadline, as a probe result named `outside <url>`. */
export async function outsideProbe(url: string, timeoutMs: number): Promise<WatchProbe> {
  const started = performance.now();
  const t = new Date().toISOString();
  const target = `outside ${url}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.arrayBuffer();
    const latency = Math.round((performance.now() - started) * 10) / 10;
    return res.status < 500 ? { t, target, kind: 'http', ok: true, latency_ms: latency, status: res.status } : { t, target, kind: 'http', ok: false, latency_ms: latency, status: res.status, error: `HTTP ${res.status}` };
  } catch (error) {
    return { t, target, kind: 'http', ok: false, latency_ms: null, error: errorMessage(error).slice(0, 200) };
  }
}
