/**
 * The game-day file (SPEC §11): experiments scheduled over a time window with a curriculum —
 * single faults first, then compound faults on one host, then faults across targets — and guard
 * rails (allowed hours, at most N targets at once; a halt stops the game day too). A window may be
 * compressed: a one-hour game day rehearsed in a few minutes keeps its order and proportions.
 */
import { z } from 'zod';
import { Experiment, ExperimentId } from '../experiments/schema.js';

/** `90`, `90s`, `15m`, `1h`: seconds. */
export const Duration = z.union([
  z.number().min(0).max(7 * 86_400),
  z
    .string()
    .regex(/^\d+(?:\.\d+)?(?:s|m|h)$/, 'must be seconds (90) or a number with s, m or h (15m, 1h)')
    .transform((text) => Number.parseFloat(text) * { s: 1, m: 60, h: 3600 }[text.slice(-1) as 's' | 'm' | 'h']),
]);

/** `HH:MM`, 24-hour clock. */
const ClockTime = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day as HH:MM (24-hour clock)');

/**
 * When experiments may start. A window that wraps midnight (22:00–06:00) is allowed; `timezone`
 * is an IANA name (Europe/Berlin) and defaults to UTC.
 */
export const AllowedHours = z.strictObject({
  from: ClockTime,
  to: ClockTime,
  timezone: z
    .string()
    .default('UTC')
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-GB', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as UTC or Europe/Berlin'),
});
export type AllowedHours = z.infer<typeof AllowedHours>;

/** Single faults, then compound faults on one host, then faults across targets (the curriculum's order). */
export const StageKind = z.enum(['single', 'compound', 'cascading']);
export type StageKind = z.infer<typeof StageKind>;

/** One experiment on the schedule: a file named relative to the game-day file (CLI), or the experiment itself (API). */
export const GameDayEntry = z.strictObject({
  experiment: z.union([
    z
      .string()
      .max(512)
      .regex(/^[A-Za-z0-9._/][A-Za-z0-9._/-]*\.ya?ml$/, 'must be a .yaml file, named relative to the game-day file (or absolute)'),
    Experiment,
  ]),
  /** Offset from the window's start (in window time: compressed with the window). */
  at: Duration.default(0),
  /** Overrides the experiment's own `runs`. */
  runs: z.number().int().min(1).max(20).optional(),
});
export type GameDayEntry = z.infer<typeof GameDayEntry>;

export const Stage = z.strictObject({
  name: z.string().min(1).max(120),
  kind: StageKind,
  experiments: z.array(GameDayEntry).min(1).max(50),
});
export type Stage = z.infer<typeof Stage>;

export const GameDay = z
  .strictObject({
    title: z.string().min(1).max(200),
    description: z.string().max(4000).optional(),
    window: z.strictObject({
      duration: Duration.refine((s) => s >= 1, 'must be at least 1 s'),
      /** Rehearse the window in this much real time (every offset scales alike); default: real time. */
      compress_to: Duration.refine((s) => s >= 1, 'must be at least 1 s').optional(),
    }),
    allowed_hours: AllowedHours.optional(),
    max_targets_at_once: z.number().int().min(1).max(64).default(1),
    curriculum: z.array(Stage).min(1).max(20),
  })
  .superRefine((g, ctx) => {
    const order = StageKind.options;
    g.curriculum.forEach((stage, i) => {
      const previous = g.curriculum[i - 1];
      if (previous && order.indexOf(stage.kind) < order.indexOf(previous.kind)) {
        ctx.addIssue({ code: 'custom', path: ['curriculum', i, 'kind'], message: `a ${stage.kind} stage cannot follow a ${previous.kind} one: single faults first, then compound, then cascading` });
      }
      stage.experiments.forEach((entry, j) => {
        if (entry.at > g.window.duration) {
          ctx.addIssue({ code: 'custom', path: ['curriculum', i, 'experiments', j, 'at'], message: `is after the window's end (${g.window.duration} s)` });
        }
      });
    });
    if (g.window.compress_to !== undefined && g.window.compress_to > g.window.duration) {
      ctx.addIssue({ code: 'custom', path: ['window', 'compress_to'], message: 'must not be longer than the window itself' });
    }
  });
export type GameDay = z.infer<typeof GameDay>;

/** `gd-YYYYMMDD-HHMMSS-<10 random>`, like incident and experiment ids: sorts by creation time. */
export const GameDayId = z.string().regex(/^gd-\d{8}-\d{6}-[0-9a-z]{10}$/, 'must look like gd-YYYYMMDD-HHMMSS-xxxxxxxxxx');
export type GameDayId = z.infer<typeof GameDayId>;

export const EntryState = z.enum(['scheduled', 'waiting', 'running', 'completed', 'failed', 'skipped', 'halted']);
export type EntryState = z.infer<typeof EntryState>;

/** One scheduled experiment as it went. */
export const EntryProgress = z.object({
  stage: z.string(),
  kind: StageKind,
  title: z.string(),
  /** What it injects, as the scoreboard groups it: `cpu_spike`, `cpu_spike+disk_fill`. */
  fault: z.string(),
  targets: z.array(z.string()),
  /** Real time at which it was due (the window's offset after compression). */
  due_at: z.string(),
  state: EntryState,
  experiment_id: ExperimentId.nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  /** Why it was skipped or failed. */
  detail: z.string().nullable(),
});
export type EntryProgress = z.infer<typeof EntryProgress>;

/** Per fault kind: how the coordinator and the hosts did. */
export const ScoreRow = z.object({
  fault: z.string(),
  kind: StageKind,
  runs: z.number().int(),
  detected: z.number().int(),
  diagnosed_right: z.number().int(),
  held: z.number().int(),
  mttd_s_p50: z.number().nullable(),
  mttr_s_p50: z.number().nullable(),
});
export type ScoreRow = z.infer<typeof ScoreRow>;

export const GameDayStatus = z.enum(['scheduled', 'running', 'completed', 'halted', 'failed', 'interrupted']);
export type GameDayStatus = z.infer<typeof GameDayStatus>;

export const GameDayRecord = z.object({
  id: GameDayId,
  title: z.string(),
  status: GameDayStatus,
  created_at: z.string(),
  finished_at: z.string().nullable(),
  window: z.object({ duration_s: z.number(), real_s: z.number(), compression: z.number() }),
  entries: z.array(EntryProgress),
  scoreboard: z.array(ScoreRow),
  error: z.string().nullable(),
});
export type GameDayRecord = z.infer<typeof GameDayRecord>;
