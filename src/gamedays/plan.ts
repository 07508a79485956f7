/**
 * From a validated game-day file and its experiments to the schedule: each entry's due time in
 * real time (the window compressed as asked), what it injects and where, and a check that every
 * stage holds what its kind promises. Pure.
 */
import { InputError } from '../errors.js';
import type { Experiment } from '../experiments/schema.js';
import type { AllowedHours, EntryProgress, GameDay, StageKind } from './schema.js';

export type PlannedEntry = { progress: EntryProgress; experiment: Experiment; runs: number | undefined };

/** What an experiment injects, and on which targets. */
export function faultsOf(experiment: Experiment): { scenarios: string[]; targets: string[] } {
  const injects = experiment.method.flatMap((s) => (s.type === 'inject' ? [{ scenario: s.scenario, target: s.target ?? experiment.targets[0]! }] : []));
  return { scenarios: injects.map((i) => i.scenario), targets: [...new Set(injects.map((i) => i.target))] };
}

/** Why an experiment does not belong in a stage of this kind, or null when it does. */
export function kindMismatch(kind: StageKind, experiment: Experiment): string | null {
  const { scenarios, targets } = faultsOf(experiment);
  if (scenarios.length === 0) return 'injects nothing: a game day schedules faults';
  if (kind === 'single' && scenarios.length !== 1) return `a single-fault stage takes experiments that inject one fault; this one injects ${scenarios.length} (${scenarios.join(', ')})`;
  if (kind === 'compound' && (scenarios.length < 2 || targets.length !== 1)) {
    return `a compound stage takes experiments that inject two or more faults on one host; this one injects ${scenarios.join(', ')} on ${targets.join(', ')}`;
  }
  if (kind === 'cascading' && targets.length < 2) return `a cascading stage takes experiments whose faults span two or more targets; this one stays on ${targets.join(', ')}`;
  return null;
}

/**
 * The schedule, in curriculum order (stable by due time within the order the file gives).
 * `experiments[i][j]` is the experiment of stage i's entry j, already read and validated.
 */
export function planGameDay(gameDay: GameDay, experiments: Experiment[][], start: Date): PlannedEntry[] {
  const compression = compressionOf(gameDay);
  const problems: string[] = [];
  const planned: PlannedEntry[] = [];
  gameDay.curriculum.forEach((stage, i) => {
    stage.experiments.forEach((entry, j) => {
      const experiment = experiments[i]?.[j];
      if (!experiment) throw new Error(`planGameDay: no experiment for curriculum[${i}].experiments[${j}]`);
      const mismatch = kindMismatch(stage.kind, experiment);
      if (mismatch) problems.push(`curriculum[${i}].experiments[${j}] (${experiment.title}): ${mismatch}`);
      const { scenarios, targets } = faultsOf(experiment);
      planned.push({
        experiment,
        runs: entry.runs,
        progress: {
          stage: stage.name,
          kind: stage.kind,
          title: experiment.title,
          fault: [...scenarios].sort().join('+'),
          targets: [...new Set([...experiment.targets, ...targets])],
          due_at: new Date(start.getTime() + entry.at * compression * 1000).toISOString(),
          state: 'scheduled',
          experiment_id: null,
          started_at: null,
          finished_at: null,
          detail: null,
        },
      });
    });
  });
  if (problems.length) throw new InputError(`The game day's curriculum does not hold:\n  ${problems.join('\n  ')}`, 'curriculum');
  // A later stage never starts before an earlier one: the curriculum's order wins over `at`.
  let floor = 0;
  for (const p of planned) {
    const due = Math.max(Date.parse(p.progress.due_at), floor);
    p.progress.due_at = new Date(due).toISOString();
    floor = due;
  }
  return planned;
}

/** Real seconds per window second: 1 in real time, 240/3600 for an hour rehearsed in four minutes. */
export function compressionOf(gameDay: GameDay): number {
  return gameDay.window.compress_to === undefined ? 1 : gameDay.window.compress_to / gameDay.window.duration;
}

/** Whether `at` falls inside the allowed hours (a window may wrap midnight; `to` is exclusive). */
export function withinAllowedHours(hours: AllowedHours, at: Date): boolean {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: hours.timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const hh = Number(parts.find((p) => p.type === 'hour')?.value);
  const mm = Number(parts.find((p) => p.type === 'minute')?.value);
  const now = hh * 60 + mm;
  const [from, to] = [hours.from, hours.to].map((t) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3)));
  return from! <= to! ? now >= from! && now < to! : now >= from! || now < to!;
}
