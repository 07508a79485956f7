import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { InputError } from '../../../src/errors.js';
import type { ExperimentSummary } from '../../../src/experiments/result-schema.js';
import type { Experiment } from '../../../src/experiments/schema.js';
import { GameDayService } from '../../../src/gamedays/gameday-service.js';
import { gameDayFromValue, loadGameDayFile } from '../../../src/gamedays/load-gameday.js';
import { planGameDay, withinAllowedHours } from '../../../src/gamedays/plan.js';
import { scoreboard } from '../../../src/gamedays/scoreboard.js';
import { GameDayStore } from '../../../src/store/gameday-store.js';
import { REPO_ROOT } from '../../fixtures/paths.js';
import { runFixture } from '../experiments/run-fixture.js';

const probe = { name: 'api', type: 'http', url: 'http://10.213.7.2:8080/health', expect_status: 200 };
function experiment(title: string, injects: { scenario: string; target?: string }[], targets = ['sandbox']): Record<string, unknown> {
  return {
    title,
    targets,
    steady_state: [probe],
    method: [...injects.map((i) => ({ type: 'inject', scenario: i.scenario, ...(i.target ? { target: i.target } : {}), args: {} })), { type: 'wait', seconds: 1 }],
  };
}
const single = experiment('cpu', [{ scenario: 'cpu_spike' }]);
const compound = experiment('cpu and disk', [{ scenario: 'cpu_spike' }, { scenario: 'disk_fill' }]);
const cascading = experiment('db then api', [{ scenario: 'db_conn_exhaust', target: 'db' }, { scenario: 'service_kill', target: 'api' }], ['db', 'api']);

function gameDay(patch: Record<string, unknown> = {}) {
  return {
    title: 'Tuesday',
    window: { duration: '1h', compress_to: '36s' },
    max_targets_at_once: 2,
    curriculum: [
      { name: 'singles', kind: 'single', experiments: [{ experiment: single, at: '0m' }] },
      { name: 'compound', kind: 'compound', experiments: [{ experiment: compound, at: '20m' }] },
      { name: 'across', kind: 'cascading', experiments: [{ experiment: cascading, at: '40m' }] },
    ],
    ...patch,
  };
}

describe('game-day files', () => {
  it('when a window of 1h is compressed to 36 s, then entries fall due at their offsets scaled by 1/100, in curriculum order', () => {
    const loaded = gameDayFromValue(gameDay());
    const start = new Date('2026-12-01T10:00:00Z');
    const plan = planGameDay(loaded.gameDay, loaded.experiments, start);
    expect(plan.map((p) => [p.progress.stage, p.progress.fault, p.progress.due_at])).toEqual([
      ['singles', 'cpu_spike', '2026-12-01T10:00:00.000Z'],
      ['compound', 'cpu_spike+disk_fill', '2026-12-01T10:00:12.000Z'],
      ['across', 'db_conn_exhaust+service_kill', '2026-12-01T10:00:24.000Z'],
    ]);
    expect(plan[2]!.progress.targets).toEqual(['db', 'api']);
  });

  it('when a compound stage comes before a single one, then the file is refused naming the stage', () => {
    const value = gameDay();
    (value.curriculum as unknown[]).reverse();
    expect(() => gameDayFromValue(value)).toThrow(/curriculum\[1\]\.kind: a compound stage cannot follow a cascading one/);
  });

  it('when a stage holds an experiment of the wrong kind, then planning refuses the game day and says why', () => {
    const value = gameDay({ curriculum: [{ name: 'singles', kind: 'single', experiments: [{ experiment: compound }] }] });
    const loaded = gameDayFromValue(value);
    expect(() => planGameDay(loaded.gameDay, loaded.experiments, new Date())).toThrow(/single-fault stage takes experiments that inject one fault; this one injects 2/);
  });

  it('when the API is given a file name instead of an experiment, then it is refused (the API reads no files)', () => {
    const value = gameDay({ curriculum: [{ name: 's', kind: 'single', experiments: [{ experiment: 'cpu.yaml' }] }] });
    expect(() => gameDayFromValue(value)).toThrow(InputError);
    expect(() => gameDayFromValue(value)).toThrow(/takes the experiment itself, not a file name/);
  });

  it('when a game-day file names experiment files relative to it, then they are read and a problem is located by file and line', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gameday-'));
    try {
      const { stringify } = await import('yaml');
      await writeFile(path.join(dir, 'cpu.yaml'), stringify(single));
      await writeFile(path.join(dir, 'day.yaml'), 'title: d\nwindow: { duration: 10m }\ncurriculum:\n  - name: s\n    kind: single\n    experiments:\n      - experiment: cpu.yaml\n        at: 2m\n');
      const loaded = await loadGameDayFile(path.join(dir, 'day.yaml'));
      expect(loaded.experiments[0]![0]!.title).toBe('cpu');
      expect(loaded.gameDay.curriculum[0]!.experiments[0]!.at).toBe(120);
      await writeFile(path.join(dir, 'bad.yaml'), 'title: d\nwindow: { duration: 10m }\ncurriculum:\n  - name: s\n    kind: sometimes\n    experiments: [{ experiment: cpu.yaml }]\n');
      await expect(loadGameDayFile(path.join(dir, 'bad.yaml'))).rejects.toThrow(/bad\.yaml:5:11: curriculum\[0\]\.kind/);
      await writeFile(path.join(dir, 'missing.yaml'), 'title: d\nwindow: { duration: 10m }\ncurriculum:\n  - name: s\n    kind: single\n    experiments: [{ experiment: ../nowhere/cpu.yaml }]\n');
      await expect(loadGameDayFile(path.join(dir, 'missing.yaml'))).rejects.toThrow(/Cannot read the experiment file .*nowhere\/cpu\.yaml \(no such file\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('when the example game day is read, then its experiments load and its curriculum holds', async () => {
    const loaded = await loadGameDayFile(path.join(REPO_ROOT, 'examples/gamedays/rehearsal.yaml'));
    const plan = planGameDay(loaded.gameDay, loaded.experiments, new Date('2026-12-01T10:00:00Z'));
    expect(plan.map((p) => [p.progress.kind, p.progress.fault, p.progress.due_at])).toEqual([
      ['single', 'cpu_spike', '2026-12-01T10:00:00.000Z'],
      ['single', 'service_kill', '2026-12-01T10:01:00.000Z'],
      ['compound', 'cpu_spike+disk_fill', '2026-12-01T10:02:40.000Z'],
    ]);
  });

  it('when allowed hours wrap midnight, then 23:30 and 05:59 are inside and 06:00 is not', () => {
    const hours = { from: '22:00', to: '06:00', timezone: 'UTC' };
    expect(withinAllowedHours(hours, new Date('2026-12-01T23:30:00Z'))).toBe(true);
    expect(withinAllowedHours(hours, new Date('2026-12-01T05:59:00Z'))).toBe(true);
    expect(withinAllowedHours(hours, new Date('2026-12-01T06:00:00Z'))).toBe(false);
    expect(withinAllowedHours({ from: '09:00', to: '17:00', timezone: 'Asia/Tokyo' }, new Date('2026-12-01T01:00:00Z'))).toBe(true);
  });
});

describe('the scoreboard', () => {
  it('when runs are detected, missed and diagnosed wrong, then each fault kind counts them with median MTTD and MTTR', () => {
    const progress = (fault: string) => ({ stage: 's', kind: 'single' as const, title: fault, fault, targets: ['sandbox'], due_at: '', state: 'completed' as const, experiment_id: null, started_at: null, finished_at: null, detail: null });
    const summary = (runs: ReturnType<typeof runFixture>[]) => ({ runs }) as unknown as ExperimentSummary;
    const missed = runFixture({ mttd_s: null, mttr_s: null, held: false, diagnosis: { ...runFixture().diagnosis!, category: 'healthy', category_matched: false, matched: false } });
    const rows = scoreboard([
      { progress: progress('cpu_spike'), summary: summary([runFixture({ mttd_s: 2 }), runFixture({ mttd_s: 6, mttr_s: 40 }), missed]) },
      { progress: progress('disk_fill'), summary: null },
    ]);
    expect(rows).toEqual([
      { fault: 'cpu_spike', kind: 'single', runs: 3, detected: 2, diagnosed_right: 2, held: 2, mttd_s_p50: 4, mttr_s_p50: 35 },
      { fault: 'disk_fill', kind: 'single', runs: 0, detected: 0, diagnosed_right: 0, held: 0, mttd_s_p50: null, mttr_s_p50: null },
    ]);
  });
});

/** Experiments that end when the test says, recording what started when and what was stopped. */
class FakeExperiments {
  readonly started: { title: string; at: number }[] = [];
  readonly stopped: string[] = [];
  private readonly finishers = new Map<string, () => void>();
  private n = 0;
  async start(experiment: Experiment) {
    const id = `exp-20261201-000000-${String(this.n++).padStart(10, '0')}`;
    this.started.push({ title: experiment.title, at: Date.now() });
    const summary = { experiment_id: id, status: 'completed', runs: [runFixture()], error: null } as unknown as ExperimentSummary;
    const done = new Promise<ExperimentSummary>((resolve) => this.finishers.set(experiment.title, () => resolve(summary)));
    return { summary, done };
  }
  async stop(id: string) {
    this.stopped.push(id);
    for (const finish of this.finishers.values()) finish();
    return {} as ExperimentSummary;
  }
  finish(title: string) {
    this.finishers.get(title)?.();
  }
}

async function withService(test: (s: { service: GameDayService; fake: FakeExperiments; halt: () => Promise<void> }) => Promise<void>) {
  const dir = await mkdtemp(path.join(tmpdir(), 'gameday-svc-'));
  const store = new GameDayStore(dir);
  const fake = new FakeExperiments();
  let haltListener: () => Promise<void> = async () => undefined;
  const service = new GameDayService({ store, experiments: fake as never, incidents: { onHalt: (l) => void (haltListener = l) }, log: pino({ level: 'silent' }) });
  try {
    await test({ service, fake, halt: () => haltListener() });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('running a game day', () => {
  it('when two experiments are due but only one target may be under test at once, then the second waits for the first to end', async () => {
    await withService(async ({ service, fake }) => {
      const value = gameDay({
        max_targets_at_once: 1,
        window: { duration: 10 },
        curriculum: [{ name: 's', kind: 'single', experiments: [{ experiment: single }, { experiment: { ...single, title: 'cpu again', targets: ['other'], method: [{ type: 'inject', scenario: 'cpu_spike', args: {} }] } }] }],
      });
      const { record, done } = await service.start(gameDayFromValue(value));
      await new Promise((r) => setTimeout(r, 100));
      expect(fake.started.map((s) => s.title)).toEqual(['cpu']);
      expect((await service.get(record.id)).entries[1]!.state).toBe('waiting');
      fake.finish('cpu');
      await new Promise((r) => setTimeout(r, 50));
      expect(fake.started.map((s) => s.title)).toEqual(['cpu', 'cpu again']);
      fake.finish('cpu again');
      const final = await done;
      expect(final.status).toBe('completed');
      expect(final.scoreboard).toEqual([expect.objectContaining({ fault: 'cpu_spike', runs: 2, detected: 2, diagnosed_right: 2 })]);
    });
  });

  it('when the hours allowed exclude now, then every entry is skipped and says why, and nothing starts', async () => {
    await withService(async ({ service, fake }) => {
      const hour = new Date().getUTCHours();
      const closed = { from: `${String((hour + 2) % 24).padStart(2, '0')}:00`, to: `${String((hour + 3) % 24).padStart(2, '0')}:00`, timezone: 'UTC' };
      const { done } = await service.start(gameDayFromValue(gameDay({ allowed_hours: closed, window: { duration: 10 }, curriculum: [{ name: 's', kind: 'single', experiments: [{ experiment: single }] }] })));
      const final = await done;
      expect(fake.started).toEqual([]);
      expect(final.entries[0]).toMatchObject({ state: 'skipped', detail: expect.stringContaining('outside the allowed hours') });
    });
  });

  it('when the coordinator halts, then the running experiment is stopped, nothing else starts and the game day says halted', async () => {
    await withService(async ({ service, fake, halt }) => {
      const { done } = await service.start(gameDayFromValue(gameDay({ window: { duration: 3600, compress_to: 60 } })));
      await new Promise((r) => setTimeout(r, 100));
      expect(fake.started).toHaveLength(1);
      await halt();
      const final = await done;
      expect(final.status).toBe('halted');
      expect(fake.stopped).toHaveLength(1);
      expect(fake.started).toHaveLength(1);
      expect(final.entries.map((e) => e.state)).toEqual(['completed', 'halted', 'halted']);
    });
  });
});
