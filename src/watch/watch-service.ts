import { stat } from 'node:fs/promises';
import { ALLOWED_HOST_SCRIPTS, HOST_SCRIPTS } from '../chaos/host-scripts.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import { probeArgs, probePlan } from '../evidence/probes.js';
import type { PriorSamples } from '../evidence/source.js';
import type { IncidentOrigin } from '../incidents/incident-service.js';
import { StartIncidentRequest } from '../incidents/schema.js';
import type { IncidentRecord, TraceEntry } from '../domain/index.js';
import type { Logger } from '../logger.js';
import { connectTarget } from '../ssh/connect-target.js';
import { buildCommand } from '../ssh/quote.js';
import { loadTargets } from '../ssh/targets.js';
import type { ReferenceStore } from '../store/reference-store.js';
import type { WatchStore } from '../store/watch-store.js';
import { hostOf } from '../alerts/match-target.js';
import { WatchOptions, type SavedWatch, type WatchView } from './schema.js';
import { Watcher, type WatchLink } from './watcher.js';

/** What watch mode needs of the incident service and its store. */
export type WatchIncidents = {
  start(request: StartIncidentRequest, origin: IncidentOrigin): Promise<{ record: IncidentRecord }>;
};

export type WatchServiceDeps = {
  incidents: WatchIncidents;
  /** Where the watch's reason for opening is traced. */
  appendTrace: (id: string, entry: TraceEntry) => Promise<void>;
  targetsFile: string;
  keysDir: string;
  references: ReferenceStore;
  log: Logger;
  /** Where running watches are kept across a restart; none: they end with the process (the CLI). */
  saved?: WatchStore;
  /** Replaces the SSH link (tests of the service without a host). */
  connect?: (target: string) => Promise<WatchLink>;
};

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** The sampler exits by itself after this long (the watch starts another): never outlives a lost coordinator by long. */
const SAMPLER_MAX_S = 3_600;

/**
 * Watch mode (SPEC §12): one watcher per target, each over the target's one SSH connection.
 * Stopped one by one, all at once on halt, and on shutdown.
 */
export class WatchService {
  private readonly watchers = new Map<string, Watcher>();
  /** Stopped watches stay listed (their detections) until the target is watched again. */
  private readonly finished = new Map<string, WatchView>();
  private accepting = true;

  constructor(private readonly deps: WatchServiceDeps) {}

  async start(target: string, input: unknown): Promise<WatchView> {
    if (!TARGET_NAME.test(target)) throw new InputError(`${JSON.stringify(target.slice(0, 80))} is not a target name`, 'name');
    const parsed = WatchOptions.safeParse(input ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(`${issue.path.join('.') || 'body'}: ${issue.message}`, issue.path.join('.') || 'body');
    }
    if (!this.accepting) throw new ConflictError('The coordinator is shutting down and starts no watch');
    if (this.watchers.has(target)) throw new ConflictError(`${target} is already watched; stop that watch first`);
    const watcher = this.watcher(target, parsed.data);
    // Claimed before the first await: two requests for one target cannot both start a watch.
    this.watchers.set(target, watcher);
    try {
      await watcher.start();
    } catch (error) {
      this.watchers.delete(target);
      await watcher.stop();
      throw error;
    }
    this.finished.delete(target);
    await this.persist();
    this.deps.log.info({ watch: target, options: parsed.data }, 'Watching target');
    return watcher.view();
  }

  /**
   * Watches again what was watched when the coordinator last stopped. Each resumes in the
   * background: a host down now is retried with backoff, never dropped. Returns the targets.
   */
  async restore(): Promise<string[]> {
    const saved = (await this.deps.saved?.load()) ?? [];
    const resumed: string[] = [];
    for (const entry of saved) {
      if (!TARGET_NAME.test(entry.target) || this.watchers.has(entry.target) || !this.accepting) continue;
      const watcher = this.watcher(entry.target, entry.options, new Date(entry.since));
      this.watchers.set(entry.target, watcher);
      watcher.resume();
      resumed.push(entry.target);
    }
    return resumed;
  }

  /** DELETE: the watch stops and is not resumed after a restart. */
  async stop(target: string): Promise<WatchView> {
    const view = await this.end(target);
    await this.persist();
    return view;
  }

  list(): WatchView[] {
    const views = [...[...this.watchers.values()].map((w) => w.view()), ...[...this.finished.entries()].filter(([t]) => !this.watchers.has(t)).map(([, v]) => v)];
    return views.sort((a, b) => a.target.localeCompare(b.target));
  }

  get(target: string): WatchView {
    const view = this.watchers.get(target)?.view() ?? this.finished.get(target);
    if (!view) throw new NotFoundError(`${JSON.stringify(target.slice(0, 80))} is not being watched`);
    return view;
  }

  /** Halt: every watch stops and none resumes after a restart (new ones may start after). */
  async stopAll(): Promise<string[]> {
    const targets = [...this.watchers.keys()];
    await Promise.all(targets.map((t) => this.end(t).catch(() => undefined)));
    await this.persist();
    return targets;
  }

  /** Shutdown: stop every watch and accept no new one; the saved watches resume on the next start. */
  async close(): Promise<void> {
    await this.persist();
    this.accepting = false;
    await Promise.all([...this.watchers.keys()].map((t) => this.end(t).catch(() => undefined)));
  }

  private watcher(target: string, options: WatchOptions, since?: Date): Watcher {
    const log = this.deps.log.child({ watch: target });
    return new Watcher({
      target,
      options,
      connect: () => (this.deps.connect ?? ((name: string) => this.sshLink(name, log)))(target),
      investigate: (detection) => this.investigate(target, detection),
      log,
      ...(since && !Number.isNaN(since.getTime()) ? { since } : {}),
    });
  }

  private async end(target: string): Promise<WatchView> {
    const watcher = this.watchers.get(target);
    if (!watcher) throw new NotFoundError(`${JSON.stringify(target.slice(0, 80))} is not being watched`);
    await watcher.stop();
    this.watchers.delete(target);
    const view = watcher.view();
    this.finished.set(target, view);
    return view;
  }

  /** The running watches, as a restart should find them; a failed save is logged, the watch runs on. */
  private async persist(): Promise<void> {
    if (!this.accepting) return;
    const saved: SavedWatch[] = [...this.watchers.values()].map((w) => w.view()).map((v) => ({ target: v.target, options: v.options, since: v.started_at }));
    await this.deps.saved?.save(saved).catch((error: unknown) => this.deps.log.warn({ err: error }, 'Could not save the watches; they will not resume after a restart'));
  }

  private async investigate(target: string, detection: { detected_at: string; breaches: { key: string; detail: string }[]; seen: PriorSamples }): Promise<string> {
    // Recorded as a bundle: an unscripted fault cannot be run again, only replayed.
    const request = StartIncidentRequest.parse({ scenario: 'investigate', target_vm: { name: target }, options: { record: true } });
    const { seen } = detection;
    const { record } = await this.deps.incidents.start(request, { trigger: 'watch', detected_at: detection.detected_at, prior: seen });
    await this.deps
      .appendTrace(record.id, {
        timestamp: new Date().toISOString(),
        agent: 'Coordinator',
        type: 'info',
        content: {
          summary: `opened by watch mode: ${target} left its band (${detection.breaches.map((b) => b.detail).join('; ')}); handed over ${seen.before.length} samples in band before it and ${seen.during.length} from the fault's first sign, out of band from ${seen.first_out_at}`,
          detected_at: detection.detected_at,
          first_out_at: seen.first_out_at,
          breaches: detection.breaches,
          handed_over: { before: seen.before.length, during: seen.during.length, probes: seen.probes.length },
        },
      })
      .catch((error: unknown) => this.deps.log.warn({ err: error, incidentId: record.id }, 'Could not trace why watch mode opened the incident'));
    return record.id;
  }

  /** The target's one SSH connection for the watch: enrolment and host key checked, reference loaded. */
  private async sshLink(target: string, log: Logger): Promise<WatchLink> {
    if (!(await stat(this.deps.targetsFile).then(() => true, () => false))) throw new InputError(`No targets are enrolled: ${this.deps.targetsFile} does not exist`, 'name');
    const { targets } = await loadTargets(this.deps.targetsFile);
    if (!targets.some((t) => t.name === target)) throw new NotFoundError(`No enrolled target ${JSON.stringify(target)} (chaos-handler targets lists them)`);
    const { connection, target: resolved } = await connectTarget({ name: target }, { targets, keysDir: this.deps.keysDir, logger: log.child({ component: 'ssh' }) });
    const reference = await this.deps.references.load(resolved.name);
    const probes = probePlan(resolved.services, reference);
    const http = resolved.services.http === undefined ? [] : Array.isArray(resolved.services.http) ? resolved.services.http : [resolved.services.http];
    // Only the target's own address: the coordinator fetches nothing else on its behalf.
    const own = new Set([resolved.address.toLowerCase(), resolved.host.toLowerCase()]);
    const outsideUrls = http.filter((url) => own.has(hostOf(new URL(url).host)));
    return {
      sample: (intervalS, onLine) =>
        connection.stream(
          buildCommand(HOST_SCRIPTS.sampler, ['--interval', String(intervalS), '--max-seconds', String(SAMPLER_MAX_S), '--no-stdin-watch', ...probeArgs(probes)], { allowedScripts: ALLOWED_HOST_SCRIPTS, sudo: true }),
          onLine,
          { timeoutMs: (SAMPLER_MAX_S + 60) * 1000 },
        ),
      outsideUrls,
      reference,
      close: () => connection.close(),
    };
  }
}
