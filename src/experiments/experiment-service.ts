/**
 * The use cases behind `chaos-handler experiment run`, `POST /experiments` and the dashboard:
 * start (checked before anything runs), stop, list, read, follow the progress. It owns the
 * running experiments (their abort controllers) and their live feed.
 */
import { EventEmitter } from 'node:events';
import { stringify } from 'yaml';
import { ConflictError, errorMessage, InputError, NotFoundError } from '../errors.js';
import type { IncidentService } from '../incidents/incident-service.js';
import { assertLoadUrl, startLoad } from '../load/index.js';
import type { Logger } from '../logger.js';
import type { ExperimentStore } from '../store/experiment-store.js';
import type { IncidentStore } from '../store/incident-store.js';
import { newExperimentId } from './experiment-id.js';
import { ExperimentHosts } from './hosts.js';
import type { OutputServices } from './outputs.js';
import type { ExperimentEvent, ExperimentSummary } from './result-schema.js';
import { runExperiment, type LoadDriver } from './runner.js';
import type { Experiment } from './schema.js';

export type ExperimentServiceDeps = {
  store: ExperimentStore;
  incidents: IncidentService;
  incidentStore: IncidentStore;
  targetsFile: string;
  keysDir: string;
  output: OutputServices;
  log: Logger;
  /** Replaces the undici load generator (tests). */
  load?: LoadDriver;
};

type Active = { summary: ExperimentSummary; controller: AbortController; done: Promise<ExperimentSummary>; targets: string[] };

export class ExperimentService {
  private readonly active = new Map<string, Active>();
  private readonly feed = new EventEmitter();
  private accepting = true;

  constructor(private readonly deps: ExperimentServiceDeps) {
    this.feed.setMaxListeners(0);
    // A halt stops experiments first, so no run opens a new incident behind it. Not awaited to
    // the end: the halt reverts the incidents right after, the outputs are written meanwhile.
    deps.incidents.onHalt(async () => {
      for (const active of this.active.values()) active.controller.abort(new Error('halted by request'));
    });
  }

  /**
   * A validated experiment in, its id out; the runs go on in the background. Refused before
   * anything runs: targets not enrolled, load or probe URLs pointing elsewhere than loopback or
   * the experiment's targets, a target busy with another experiment.
   */
  async start(experiment: Experiment, options: { runs?: number } = {}): Promise<{ summary: ExperimentSummary; done: Promise<ExperimentSummary> }> {
    if (!this.accepting) throw new ConflictError('The coordinator is shutting down and accepts no new experiments');
    const asRun: Experiment = options.runs !== undefined ? { ...experiment, runs: options.runs } : experiment;
    const busy = asRun.targets.find((t) => [...this.active.values()].some((a) => a.targets.includes(t)));
    if (busy) throw new ConflictError(`An experiment is already running on ${busy}; one at a time per target`);
    const log = this.deps.log.child({ component: 'experiment' });
    const hosts = new ExperimentHosts({ targetsFile: this.deps.targetsFile, keysDir: this.deps.keysDir, log });
    await hosts.assertEnrolled(asRun.targets);
    const allowedHosts = (await Promise.all(asRun.targets.map((t) => hosts.addressOf(t)))).filter((h): h is string => h !== null);
    const checkUrl = (url: string) => void assertLoadUrl(url, allowedHosts);
    if (asRun.load) checkUrl(asRun.load.url);
    asRun.steady_state.forEach((p) => {
      if (p.type === 'http') checkUrl(p.url);
    });
    const compared = asRun.compare_to && asRun.compare_to !== 'baseline' ? await this.comparedTo(asRun.compare_to) : null;

    const now = new Date();
    const id = newExperimentId(now);
    const summary: ExperimentSummary = {
      experiment_id: id,
      title: asRun.title,
      status: 'running',
      progress: { run: 0, of: asRun.runs, kind: null, step: 'starting' },
      created_at: now.toISOString(),
      finished_at: null,
      target: asRun.targets.join(', '),
      scenario: asRun.method.find((s) => s.type === 'inject')?.scenario ?? null,
      runs: [],
      baseline: null,
      aggregate: null,
      incidents: [],
      error: null,
      ...(compared ? { compared_to: compared } : {}),
    };
    await this.deps.store.create(summary);
    await this.deps.store.writeOutput(id, 'experiment.yaml', `# The experiment as run (defaults filled in).\n${stringify(asRun)}`);

    const controller = new AbortController();
    const load: LoadDriver =
      this.deps.load ??
      ((spec, signal) => {
        const run = startLoad(
          { url: spec.url, method: spec.method, rps: spec.rps, timeoutMs: spec.timeout_ms, ...(spec.duration_s !== undefined ? { durationS: spec.duration_s } : {}), ...(spec.connections !== undefined ? { connections: spec.connections } : {}) },
          { allowedHosts, logger: log },
        );
        signal.addEventListener('abort', () => run.stop(), { once: true });
        return {
          records: () => run.finished(),
          stop: async () => {
            run.stop();
            return (await run.done).records;
          },
        };
      });
    const done = runExperiment(
      summary,
      asRun,
      {
        incidents: this.deps.incidents,
        incidentStore: this.deps.incidentStore,
        store: this.deps.store,
        hosts,
        load,
        output: this.deps.output,
        log: log.child({ experimentId: id }),
        onEvent: (event) => this.feed.emit(id, event),
        checkUrl,
      },
      controller.signal,
    )
      .catch(async (error: unknown) => {
        log.error({ err: error, experimentId: id }, 'Experiment bookkeeping failed');
        // Never left "running": the summary says it failed, and why.
        const last = await this.deps.store.loadSummary(id).catch(() => summary);
        const failed: ExperimentSummary = { ...last, status: 'failed', error: `the experiment's bookkeeping failed: ${errorMessage(error)}`, finished_at: new Date().toISOString() };
        await this.deps.store.saveSummary(failed).catch(() => undefined);
        return failed;
      })
      .finally(async () => {
        await hosts.close();
        this.active.delete(id);
        this.feed.emit(`${id}:end`);
      });
    this.active.set(id, { summary, controller, done, targets: asRun.targets });
    return { summary, done };
  }

  /** Stops a running experiment: its incidents are stopped (their faults reverted) and its outputs written. */
  async stop(id: string, reason = 'stopped by request'): Promise<ExperimentSummary> {
    const active = this.active.get(id);
    if (!active) return this.deps.store.loadSummary(id);
    active.controller.abort(new Error(reason));
    return active.done;
  }

  /** Where the experiments' outputs are (the routes serve them from here). */
  get store(): ExperimentStore {
    return this.deps.store;
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  async get(id: string): Promise<ExperimentSummary> {
    return this.deps.store.loadSummary(id);
  }

  async list(): Promise<ExperimentSummary[]> {
    const ids = await this.deps.store.listIds();
    const all = await Promise.all(ids.map((id) => this.deps.store.loadSummary(id).catch(() => null)));
    return all.filter((s): s is ExperimentSummary => s !== null);
  }

  subscribe(id: string, onEvent: (event: ExperimentEvent) => void, onEnd: () => void): () => void {
    this.feed.on(id, onEvent);
    this.feed.once(`${id}:end`, onEnd);
    return () => {
      this.feed.off(id, onEvent);
      this.feed.off(`${id}:end`, onEnd);
    };
  }

  /** At start-up: an experiment still marked running was cut off (its incidents are recovered by theirs). */
  async recoverInterrupted(): Promise<string[]> {
    const recovered: string[] = [];
    for (const id of await this.deps.store.listIds()) {
      if (this.active.has(id)) continue;
      const summary = await this.deps.store.loadSummary(id).catch(() => null);
      if (summary?.status !== 'running') continue;
      await this.deps.store.saveSummary({ ...summary, status: 'interrupted', error: 'the coordinator stopped while the experiment ran', finished_at: new Date().toISOString() });
      recovered.push(id);
    }
    return recovered;
  }

  async drain(): Promise<void> {
    this.accepting = false;
    await Promise.all([...this.active.keys()].map((id) => this.stop(id, 'coordinator shutting down')));
  }

  private async comparedTo(id: string): Promise<NonNullable<ExperimentSummary['compared_to']>> {
    const earlier = await this.deps.store.loadSummary(id).catch((error: unknown) => {
      if (error instanceof NotFoundError) throw new InputError(`compare_to: no experiment ${id} to compare with`, 'compare_to', { cause: error });
      throw error;
    });
    return { experiment_id: earlier.experiment_id, title: earlier.title, aggregate: earlier.aggregate, runs: earlier.runs };
  }
}
