/**
 * Runs game days: each scheduled experiment starts when it is due, through the experiment
 * service, unless a guard rail says no — outside the allowed hours it is skipped (and says why);
 * beyond `max_targets_at_once` it waits for a running experiment to end. A halt (`POST /halt`)
 * stops the game day with everything else. The record and scoreboard are saved as it goes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { customAlphabet } from 'nanoid';
import { ConflictError, errorMessage } from '../errors.js';
import type { ExperimentService } from '../experiments/experiment-service.js';
import type { ExperimentSummary } from '../experiments/result-schema.js';
import type { IncidentService } from '../incidents/incident-service.js';
import type { Logger } from '../logger.js';
import type { GameDayStore } from '../store/gameday-store.js';
import type { LoadedGameDay } from './load-gameday.js';
import { compressionOf, planGameDay, withinAllowedHours, type PlannedEntry } from './plan.js';
import type { GameDayId, GameDayRecord } from './schema.js';
import { scoreboard } from './scoreboard.js';

export type GameDayServiceDeps = {
  store: GameDayStore;
  experiments: Pick<ExperimentService, 'start' | 'stop'>;
  incidents: Pick<IncidentService, 'onHalt'>;
  log: Logger;
  now?: () => Date;
};

type Active = { record: GameDayRecord; controller: AbortController; done: Promise<GameDayRecord> };

const suffix = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 10);

export function newGameDayId(now: Date): GameDayId {
  const iso = now.toISOString();
  return `gd-${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${suffix()}`;
}

export class GameDayService {
  private readonly active = new Map<string, Active>();
  private accepting = true;
  private readonly now: () => Date;

  constructor(private readonly deps: GameDayServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    deps.incidents.onHalt(async () => {
      await Promise.all([...this.active.keys()].map((id) => this.stop(id, 'halted by request')));
    });
  }

  /** Plans the game day (refused as a whole if its curriculum does not hold) and runs it in the background. */
  async start(loaded: LoadedGameDay): Promise<{ record: GameDayRecord; done: Promise<GameDayRecord> }> {
    if (!this.accepting) throw new ConflictError('The coordinator is shutting down and accepts no new game days');
    const start = this.now();
    const planned = planGameDay(loaded.gameDay, loaded.experiments, start);
    const compression = compressionOf(loaded.gameDay);
    const record: GameDayRecord = {
      id: newGameDayId(start),
      title: loaded.gameDay.title,
      status: 'running',
      created_at: start.toISOString(),
      finished_at: null,
      window: { duration_s: loaded.gameDay.window.duration, real_s: Math.round(loaded.gameDay.window.duration * compression * 10) / 10, compression },
      entries: planned.map((p) => p.progress),
      scoreboard: [],
      error: null,
    };
    await this.deps.store.create(record, `# The game day as submitted (defaults filled in).\n${stringify(loaded.gameDay)}`);
    const controller = new AbortController();
    const done = this.run(record, planned, loaded, controller.signal).finally(() => this.active.delete(record.id));
    this.active.set(record.id, { record, controller, done });
    return { record, done };
  }

  /** Stops a running game day: nothing more starts, running experiments are stopped (their faults reverted). */
  async stop(id: string, reason = 'stopped by request'): Promise<GameDayRecord> {
    const active = this.active.get(id);
    if (!active) return this.deps.store.load(id);
    active.controller.abort(new Error(reason));
    return active.done;
  }

  async get(id: string): Promise<GameDayRecord> {
    return this.active.get(id)?.record ?? this.deps.store.load(id);
  }

  async list(): Promise<GameDayRecord[]> {
    const ids = await this.deps.store.listIds();
    return Promise.all(ids.map((id) => this.get(id)));
  }

  /** After a crash: game days left `running` on disk are marked interrupted (their experiments recover on their own). */
  async recoverInterrupted(): Promise<string[]> {
    const marked: string[] = [];
    for (const id of await this.deps.store.listIds()) {
      if (this.active.has(id)) continue;
      const record = await this.deps.store.load(id).catch(() => null);
      if (!record || record.status !== 'running') continue;
      await this.deps.store.save({ ...record, status: 'interrupted', finished_at: this.now().toISOString(), error: 'the coordinator stopped while this game day ran' });
      marked.push(id);
    }
    return marked;
  }

  /** Shutdown: no new game day; running ones are stopped. */
  async drain(): Promise<void> {
    this.accepting = false;
    await Promise.all([...this.active.keys()].map((id) => this.stop(id, 'the coordinator is shutting down')));
  }

  private async run(record: GameDayRecord, planned: PlannedEntry[], loaded: LoadedGameDay, signal: AbortSignal): Promise<GameDayRecord> {
    const log = this.deps.log.child({ gameDayId: record.id });
    const summaries = new Map<PlannedEntry, ExperimentSummary | null>();
    const running = new Map<PlannedEntry, Promise<unknown>>();
    const save = async () => {
      record.scoreboard = scoreboard(planned.map((p) => ({ progress: p.progress, summary: summaries.get(p) ?? null })));
      await this.deps.store.save(record).catch((error: unknown) => log.error({ err: error }, 'Could not save the game day record'));
    };
    const busyTargets = () => new Set([...running.keys()].flatMap((p) => p.progress.targets));
    const { allowed_hours: hours, max_targets_at_once: maxTargets } = loaded.gameDay;
    const halted = abortable(signal);
    halted.catch(() => undefined);
    try {
      for (const entry of planned) {
        const wait = Date.parse(entry.progress.due_at) - this.now().getTime();
        if (wait > 0) await sleep(wait, undefined, { signal });
        signal.throwIfAborted();
        if (hours && !withinAllowedHours(hours, this.now())) {
          Object.assign(entry.progress, { state: 'skipped', detail: `outside the allowed hours ${hours.from}–${hours.to} ${hours.timezone}` });
          await save();
          continue;
        }
        // Guard rail: at most N targets under experiment at once, and never one target twice.
        const fits = () => {
          const busy = busyTargets();
          return !entry.progress.targets.some((t) => busy.has(t)) && new Set([...busy, ...entry.progress.targets]).size <= maxTargets;
        };
        if (!fits()) {
          Object.assign(entry.progress, { state: 'waiting', detail: `waiting for targets (at most ${maxTargets} at once)` });
          await save();
          while (!fits() && running.size > 0) await Promise.race([...running.values(), halted]);
          signal.throwIfAborted();
        }
        try {
          const started = await this.deps.experiments.start(entry.experiment, entry.runs !== undefined ? { runs: entry.runs } : {});
          Object.assign(entry.progress, { state: 'running', detail: null, experiment_id: started.summary.experiment_id, started_at: this.now().toISOString() });
          running.set(
            entry,
            started.done
              .then((summary) => {
                summaries.set(entry, summary);
                Object.assign(entry.progress, { state: summary.status === 'completed' ? 'completed' : 'failed', detail: summary.error });
              })
              .catch((error: unknown) => Object.assign(entry.progress, { state: 'failed', detail: errorMessage(error) }))
              .finally(async () => {
                entry.progress.finished_at = this.now().toISOString();
                running.delete(entry);
                await save();
              }),
          );
        } catch (error) {
          // Refused before anything ran (target not enrolled, busy...): the rest of the day goes on.
          Object.assign(entry.progress, { state: 'failed', detail: errorMessage(error), finished_at: this.now().toISOString() });
        }
        await save();
      }
      while (running.size > 0) await Promise.race([...running.values(), halted]);
      record.status = 'completed';
    } catch (error) {
      if (!signal.aborted) {
        record.status = 'failed';
        record.error = errorMessage(error);
        log.error({ err: error }, 'Game day failed');
      } else {
        record.status = 'halted';
        record.error = errorMessage(signal.reason);
      }
      await Promise.all([...running.keys()].map((p) => (p.progress.experiment_id ? this.deps.experiments.stop(p.progress.experiment_id, 'the game day was stopped').catch(() => null) : null)));
      await Promise.all([...running.values()]);
      for (const p of planned) if (p.progress.state === 'scheduled' || p.progress.state === 'waiting') Object.assign(p.progress, { state: 'halted', detail: record.error });
    }
    record.finished_at = this.now().toISOString();
    await save();
    return record;
  }
}

/** Rejects when the signal aborts: lets a wait on running experiments end at a halt. */
function abortable(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    else signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}
