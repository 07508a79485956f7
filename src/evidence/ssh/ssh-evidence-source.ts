import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ALLOWED_HOST_SCRIPTS, HOST_SCRIPTS } from '../../chaos/host-scripts.js';
import { RemoteCommandError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { SshConnection, StreamHandle } from '../../ssh/connection.js';
import { buildCommand } from '../../ssh/quote.js';
import { HostInventory, streamName } from '../inventory.js';
import { probeArgs, type ProbeSpec } from '../probes.js';
import type { KnownGoodReference } from '../reference.js';
import { HostSnapshot, LogStream, MetricSample, ProbeResult, type Evidence, type Phase, type SamplePhase } from '../schema.js';
import { phasePrior } from '../prior-samples.js';
import type { CollectSummary, EvidenceSource, PriorSamples, RecoveryWindow, SeedResult, TransportStats } from '../source.js';

/** What the host-side sampler prints, one JSON object a line (chaos-scripts/collect/sampler.py). */
const SamplerLine = z.discriminatedUnion('type', [
  z.object({ type: z.literal('sample'), data: MetricSample.omit({ phase: true }) }),
  z.object({ type: z.literal('probe'), data: ProbeResult.omit({ phase: true }) }),
]);

/** See `observeSteadyState`. */
export type SteadyState = {
  window: { start: string; end: string };
  inventory: HostInventory | null;
  samples: MetricSample[];
  probes: ProbeResult[];
  logs: LogStream[];
};

const LogLine = z.object({ stream: LogStream.shape.name, line: z.string() });

/** What the source needs of the connection (tests hand it a scripted one). */
export type EvidenceConnection = Pick<SshConnection, 'stream' | 'exec' | 'stats' | 'close'>;

export type SshEvidenceOptions = {
  /** "sre-demo@sandbox (10.213.7.2:22)": what the report calls the host. */
  host: string;
  /** What the sampler probes each second (enrolled probes plus the reference's listeners). */
  probes: ProbeSpec[];
  /** The host's known-good reference, handed to the agents with the evidence. */
  reference: KnownGoodReference | null;
  /** The sampler exits by itself after this long, whatever happens to the coordinator. */
  maxSeconds: number;
  /** Log lines kept per stream and window, newest first (bounded on the host). */
  maxLogLines?: number;
  log: Logger;
};

const COMMAND_TIMEOUT_MS = 60_000;
/** Log files of the host's services read per run: enough for a host's services, bounded for the wire. */
const MAX_LOG_FILES = 24;
/** How often the recovery watch looks at what the sampler (one line a second) has sent. */
const RECOVERY_TICK_MS = 250;

/**
 * Evidence from a live host over one SSH connection: ONE streaming sampler process for the whole
 * incident (not one exec per sample); samples are tagged with the phase the coordinator is in
 * when they arrive and dropped between windows. Logs and the forensic snapshot are pulled once
 * at the end, bounded on the host side.
 */
export class SshEvidenceSource implements EvidenceSource {
  readonly kind = 'ssh' as const;
  readonly description: string;
  private phase: SamplePhase | null = null;
  private sampler: StreamHandle | null = null;
  /** Discovery of what the host runs, started with the sampler and awaited at the end. */
  private inventory: Promise<HostInventory | null> | null = null;
  private readonly samples: MetricSample[] = [];
  private readonly probes: ProbeResult[] = [];
  private readonly windows: Partial<Record<Phase, { start: string; end: string }>> = {};
  private faultStartedAt: string | null = null;
  private faultRevertedAt: string | null = null;
  private badLines = 0;
  /** Samples handed over before the incident opened (see `seed`), and the last one's time. */
  private seeded: { takenBy: string; baseline: Extract<SeedResult, { ok: true }>['baseline']; lastMs: number } | null = null;
  /** The sampler's lines dropped for not being later than the seeded samples. */
  private overlapping = 0;

  constructor(
    private readonly connection: EvidenceConnection,
    private readonly options: SshEvidenceOptions,
  ) {
    this.description = `live host ${options.host} over SSH`;
  }

  async collect(phase: Phase, durationS: number, signal: AbortSignal): Promise<CollectSummary> {
    if (phase === 'baseline' && this.seeded) {
      // The host in its band was already seen, before the fault: looking again now would take
      // the fault itself for the baseline.
      signal.throwIfAborted();
      const { window, samples, probes } = this.seeded.baseline;
      return { phase, samples, probes, seconds: Math.round((Date.parse(window.end) - Date.parse(window.start)) / 1000), taken_by: this.seeded.takenBy };
    }
    this.ensureSampler();
    const start = new Date();
    const from = { samples: this.samples.length, probes: this.probes.length };
    this.phase = phase;
    try {
      await sleep(durationS * 1000, undefined, { signal });
    } finally {
      this.phase = null;
      this.windows[phase] = { start: start.toISOString(), end: new Date().toISOString() };
    }
    return {
      phase,
      samples: this.samples.slice(from.samples).filter((s) => s.phase === phase).length,
      probes: this.probes.slice(from.probes).filter((p) => p.phase === phase).length,
      seconds: durationS,
    };
  }

  /**
   * Takes samples from before the incident opened (watch mode's), as the baseline window and the
   * start of the incident window; only before anything is collected. The baseline is then not
   * collected again, and the sampler's own samples must come after the last of these.
   */
  seed(prior: PriorSamples): SeedResult {
    if (this.sampler || this.samples.length || this.seeded) return { ok: false, reason: 'the evidence source had already begun collecting' };
    const phased = phasePrior(prior);
    if (!phased.ok) return phased;
    this.samples.push(...phased.samples);
    this.probes.push(...phased.probes);
    this.seeded = { takenBy: prior.taken_by, baseline: phased.result.baseline, lastMs: Date.parse(phased.samples.at(-1)!.t) };
    return phased.result;
  }

  markFault(event: 'started' | 'reverted', at: Date): void {
    if (event === 'started') this.faultStartedAt = at.toISOString();
    else this.faultRevertedAt = at.toISOString();
  }

  async finish(signal: AbortSignal): Promise<Evidence> {
    // The sampler keeps running (its lines are dropped until the recovery watch): after the
    // revert it tells how fast the host came back, without a second process to start.
    const baseline = this.hostWindow('baseline');
    const incident = this.hostWindow('incident');
    if (!baseline || !incident) throw new Error('evidence is incomplete: the baseline and incident windows must both be collected');
    if (this.badLines) this.options.log.warn({ badLines: this.badLines }, 'Sampler lines failed validation and were dropped');
    if (this.overlapping) this.options.log.warn({ samples: this.overlapping }, 'Sampler samples not later than the seeded ones were dropped');

    const inventory = await (this.inventory ?? Promise.resolve(null));
    const files = this.logFiles(inventory);
    const [baselineLogs, incidentLogs, snapshot] = await Promise.all([
      this.logs(baseline, files, signal),
      this.logs(incident, files, signal),
      this.snapshot(signal),
    ]);
    return {
      source: 'ssh',
      host: this.options.host,
      windows: { baseline, incident },
      fault_started_at: this.faultStartedAt,
      fault_reverted_at: this.faultRevertedAt,
      logs: { baseline: baselineLogs, incident: incidentLogs },
      samples: this.samples.filter((s) => s.phase !== 'recovery').sort(byTime),
      probes: this.probes.filter((p) => p.phase !== 'recovery').sort(byTime),
      snapshot,
      inventory,
      reference: this.options.reference,
    };
  }

  /**
   * A steady-state look at the host, outside any incident: `seconds` of samples and probes, what
   * discovery finds, and the log lines of that time (the known-good reference is made of these).
   */
  async observeSteadyState(seconds: number, signal: AbortSignal): Promise<SteadyState> {
    await this.collect('baseline', seconds, signal);
    const window = this.hostWindow('baseline')!;
    const inventory = await (this.inventory ?? Promise.resolve(null));
    const logs = await this.logs(window, this.logFiles(inventory), signal);
    return {
      window,
      inventory,
      samples: this.samples.filter((s) => s.phase === 'baseline'),
      probes: this.probes.filter((p) => p.phase === 'baseline'),
      logs,
    };
  }

  async followRecovery(maxS: number, signal: AbortSignal, settled: (window: RecoveryWindow) => boolean): Promise<RecoveryWindow> {
    this.ensureSampler();
    const start = new Date();
    const deadline = start.getTime() + maxS * 1000;
    const current = (): RecoveryWindow => {
      const samples = this.samples.filter((s) => s.phase === 'recovery');
      const times = samples.map((s) => s.t);
      return {
        window: times.length >= 2 ? { start: times[0]!, end: times.at(-1)! } : { start: start.toISOString(), end: new Date().toISOString() },
        fault_reverted_at: this.faultRevertedAt,
        samples,
        probes: this.probes.filter((p) => p.phase === 'recovery'),
      };
    };
    this.phase = 'recovery';
    try {
      let seen = 0;
      while (Date.now() < deadline) {
        await sleep(Math.min(RECOVERY_TICK_MS, deadline - Date.now()), undefined, { signal });
        const count = this.samples.length;
        if (count === seen) continue; // nothing new to judge
        seen = count;
        if (settled(current())) break;
      }
    } finally {
      this.phase = null;
    }
    return current();
  }

  async close(): Promise<TransportStats> {
    await this.stopSampler();
    const s = this.connection.stats();
    await this.connection.close();
    return {
      connections: s.connectionsOpened,
      exec_channels: s.channelsOpened,
      max_concurrent_channels: s.maxConcurrentChannels,
      commands: s.commands,
      failures: s.failures,
      reconnects: s.reconnects,
    };
  }

  /**
   * A window in the host's own clock (first to last sample), so that the log query on the host
   * is not skewed by the difference between its clock and ours.
   */
  private hostWindow(phase: Phase): { start: string; end: string } | undefined {
    const times = this.samples.filter((s) => s.phase === phase).sort(byTime).map((s) => s.t);
    if (times.length >= 2) return { start: times[0]!, end: times.at(-1)! };
    return this.windows[phase];
  }

  private ensureSampler(): void {
    if (this.sampler) return;
    this.inventory ??= this.discover();
    // The transport closes every channel's stdin at once, so the sampler must not take EOF on
    // stdin for "coordinator gone"; it still exits when its stdout breaks (the link dropped), on
    // the TERM that stop() sends, and after --max-seconds.
    const args = ['--interval', '1', '--max-seconds', String(this.options.maxSeconds), '--no-stdin-watch', ...probeArgs(this.options.probes)];
    this.sampler = this.connection.stream(this.command(HOST_SCRIPTS.sampler, args), (line) => this.onSamplerLine(line), {
      timeoutMs: (this.options.maxSeconds + 30) * 1000,
    });
    this.sampler.done.catch((error: unknown) => this.options.log.warn({ err: error }, 'Sampler stream ended with an error'));
  }

  private onSamplerLine(line: string): void {
    const phase = this.phase;
    if (!phase) return; // between windows (injecting, analysing): not part of either window
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      this.badLines += 1;
      return;
    }
    const parsed = SamplerLine.safeParse(json);
    if (!parsed.success) {
      this.badLines += 1;
      return;
    }
    // The seeded samples end where this sampler's begin: a host clock that stepped back would
    // otherwise interleave the two.
    if (this.seeded && !(Date.parse(parsed.data.data.t) > this.seeded.lastMs)) {
      if (parsed.data.type === 'sample') this.overlapping += 1;
      return;
    }
    if (parsed.data.type === 'sample') this.samples.push({ ...parsed.data.data, phase });
    else this.probes.push({ ...parsed.data.data, phase });
  }

  private async stopSampler(): Promise<void> {
    const sampler = this.sampler;
    this.sampler = null;
    if (sampler) await sampler.stop().catch((error: unknown) => this.options.log.warn({ err: error }, 'Stopping the sampler failed'));
  }

  /**
   * What the host runs, found anew each run: a host changes between enrolment and an alert.
   * A host whose collectors predate discovery still gets diagnosed, with less to go on.
   */
  private async discover(): Promise<HostInventory | null> {
    try {
      const stdout = await this.exec(HOST_SCRIPTS.discover, [], new AbortController().signal);
      const parsed = HostInventory.safeParse(safeJson(stdout.trim()));
      if (parsed.success) return parsed.data;
      this.options.log.warn({ issues: parsed.error.issues.slice(0, 3) }, 'Host discovery failed validation');
    } catch (error) {
      this.options.log.warn({ err: error }, 'Host discovery failed; diagnosing without it');
    }
    return null;
  }

  /** The log files of the host's services, now and at the reference, as `STREAM=PATH` pairs. */
  private logFiles(inventory: HostInventory | null): string[] {
    const pairs = new Map<string, string>();
    for (const services of [inventory?.services ?? [], this.options.reference?.inventory.services ?? []]) {
      for (const svc of services) {
        for (const file of svc.log_files) {
          if (pairs.size >= MAX_LOG_FILES) break;
          if ([...pairs.values()].includes(file) || !file.startsWith('/')) continue;
          pairs.set(streamName(svc.name, file), file);
        }
      }
    }
    return [...pairs.entries()].map(([stream, file]) => `${stream}=${file}`);
  }

  private async logs(window: { start: string; end: string }, files: string[], signal: AbortSignal): Promise<LogStream[]> {
    const args = ['--since', window.start, '--until', window.end, '--max-lines', String(this.options.maxLogLines ?? 2000), ...files.flatMap((f) => ['--file', f])];
    const result = await this.exec(HOST_SCRIPTS.logs, args, signal);
    const streams = new Map<string, string[]>();
    for (const raw of result.split('\n')) {
      if (!raw.trim()) continue;
      const parsed = LogLine.safeParse(safeJson(raw));
      if (!parsed.success) continue;
      const lines = streams.get(parsed.data.stream) ?? [];
      lines.push(parsed.data.line);
      streams.set(parsed.data.stream, lines);
    }
    return [...streams.entries()].map(([name, lines]) => ({ name, lines }));
  }

  private async snapshot(signal: AbortSignal): Promise<HostSnapshot | null> {
    const baseline = this.samples.filter((s) => s.phase === 'baseline');
    const disks = new Map<string, number>();
    for (const s of baseline) for (const d of s.disks) disks.set(d.mount, Math.min(disks.get(d.mount) ?? Infinity, d.used_mb));
    const args = ['--baseline-disk', JSON.stringify([...disks.entries()].map(([mount, used_mb]) => ({ mount, used_mb }))), ...expectArgs(this.options.reference)];
    const stdout = await this.exec(HOST_SCRIPTS.snapshot, args, signal);
    const parsed = HostSnapshot.safeParse(safeJson(stdout.trim()));
    if (!parsed.success) {
      this.options.log.warn({ issues: parsed.error.issues.slice(0, 3) }, 'Host snapshot failed validation');
      return null;
    }
    return parsed.data;
  }

  private async exec(script: string, args: string[], signal: AbortSignal): Promise<string> {
    const command = this.command(script, args);
    const result = await this.connection.exec(command, { timeoutMs: COMMAND_TIMEOUT_MS, maxOutputBytes: 8 * 1024 * 1024, signal });
    if (result.outcome !== 'exited' || result.exitCode !== 0) {
      throw new RemoteCommandError(`${script} failed on ${this.options.host}`, {
        host: this.options.host,
        command: script,
        exitCode: result.exitCode,
        signal: result.signal,
        stderrTail: result.stderr.slice(-2048),
      });
    }
    return result.stdout;
  }

  private command(script: string, args: string[]): string {
    return buildCommand(script, args, { allowedScripts: ALLOWED_HOST_SCRIPTS, sudo: true });
  }
}

function byTime(a: { t: string }, b: { t: string }): number {
  return Date.parse(a.t) - Date.parse(b.t);
}

/** The snapshot checks at most this many expected services (snapshot.py's own cap). */
const MAX_EXPECTED = 16;
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9@._+-]{0,127}$/;
/**
 * What snapshot.py accepts as a log path (one it refuses fails the whole snapshot): absolute,
 * free of its separators and of `..` or `//`, looking like a log, not rotated or binary.
 */
const LOG_PATH = /^\/[^,:\s]{1,1023}$/;
const looksLikeLog = (p: string) =>
  !p.includes('/../') && !p.endsWith('/..') && !p.includes('//') && !/\.(gz|xz|bz2|zst)$/.test(p) && !/\/(wtmp|btmp|lastlog)$/.test(p) && !p.startsWith('/var/log/journal/') && (p.startsWith('/var/log/') || p.endsWith('.log') || /\/logs?\//.test(p));

/**
 * `--expect NAME=PORTS:LOGS` for each service of the known-good reference: the snapshot says
 * which of them are down now and quotes the error lines of their logs (a broken config shows there).
 */
export function expectArgs(reference: KnownGoodReference | null): string[] {
  const services = (reference?.inventory.services ?? []).filter((s) => SERVICE_NAME.test(s.name)).slice(0, MAX_EXPECTED);
  return services.flatMap((s) => {
    const ports = [...new Set(s.ports)].slice(0, 16);
    const logs = s.log_files.filter((f) => LOG_PATH.test(f) && looksLikeLog(f)).slice(0, 8);
    return ['--expect', `${s.name}=${ports.join(',')}${logs.length ? `:${logs.join(',')}` : ''}`];
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

