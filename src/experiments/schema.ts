/**
 * The experiment file (SPEC §11), after Chaos Toolkit: a steady state described by probes with
 * tolerances, load against the service while the experiment runs, an ordered method (inject a
 * scenario, wait, probe), safeguards that abort and revert, rollbacks, and how many runs to make.
 * Validated before anything runs; `parse.ts` maps every issue back to its YAML line.
 */
import { z } from 'zod';
import { ScenarioOptions } from '../incidents/schema.js';
import { DbConnString, EnrolledTarget } from '../ssh/schema.js';

/** An enrolled target, by the name it was enrolled under. */
export const TargetName = EnrolledTarget.shape.name;
export type TargetName = z.infer<typeof TargetName>;

/** A probe's name: what the method's `probe` steps and the safeguards refer to; a JUnit test case name. */
export const ProbeName = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'must be lower-case letters, digits, ".", "_" or "-" (at most 64)');
export type ProbeName = z.infer<typeof ProbeName>;

/** `exp-YYYYMMDD-HHMMSS-<10 random>`, like incident ids: sorts by creation time. */
export const ExperimentId = z.string().regex(/^exp-\d{8}-\d{6}-[0-9a-z]{10}$/, 'must look like exp-YYYYMMDD-HHMMSS-xxxxxxxxxx');
export type ExperimentId = z.infer<typeof ExperimentId>;

/** An http(s) URL with a host, no credentials, no spaces or quotes. Where it may point is checked by load/. */
export const HttpUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s/'"@]+(\/[^\s'"]*)?$/, 'must be an http:// or https:// URL without credentials, spaces or quotes');

const Seconds = (min: number, max: number) => z.number().min(min).max(max);

const ProbeBase = {
  name: ProbeName,
  description: z.string().max(500).optional(),
  weight: z.number().positive().max(100).default(1).describe('How much this probe counts in the resilience score (weighted share of probe checks that held)'),
};

/** Three-digit HTTP status codes; one or a list. */
const HttpStatus = z.number().int().min(100).max(599);

export const LatencyTolerance = z.strictObject({
  p: z.union([z.literal(50), z.literal(95), z.literal(99)]).describe('Which latency percentile is held to `max`'),
  max: z.number().positive().max(600_000).describe('Milliseconds the percentile may reach'),
});
export type LatencyTolerance = z.infer<typeof LatencyTolerance>;

/** Requests to a URL: the status must be expected, and (when given) a latency percentile bounded. */
export const HttpProbe = z.strictObject({
  ...ProbeBase,
  type: z.literal('http'),
  url: HttpUrl,
  method: z.enum(['GET', 'HEAD']).default('GET'),
  expect_status: z.union([HttpStatus, z.array(HttpStatus).min(1).max(16)]).describe('The status (or statuses) a healthy answer has'),
  latency_ms: LatencyTolerance.optional(),
  /** Requests per evaluation: the percentile is taken over them. */
  requests: z.number().int().min(1).max(100).default(5),
  timeout_ms: z.number().int().min(1).max(60_000).default(2000),
});
export type HttpProbe = z.infer<typeof HttpProbe>;

/**
 * A read-only SQL query run on the target with psql (the session is read-only: a write fails).
 * One statement that reads; the result's first column of the first row, or its row count, is held
 * to `expect`.
 */
export const SqlQuery = z
  .string()
  .min(1)
  .max(4000)
  .regex(/^\s*(?:select|with|show|values)\b/i, 'must be one read-only statement (SELECT, WITH, SHOW or VALUES)')
  .refine((q) => !q.trim().replace(/;\s*$/, '').includes(';'), 'must be a single statement (no ";" inside)');

export const SqlExpectation = z
  .strictObject({
    /** The first column of the first row, compared as text ("1", "t", "ok"). */
    equals: z.union([z.string().max(1000), z.number(), z.boolean()]).optional(),
    /** The first column of the first row, as a number, within [min, max]. */
    min: z.number().optional(),
    max: z.number().optional(),
    /** The number of rows returned within [rows_min, rows_max]. */
    rows_min: z.number().int().min(0).optional(),
    rows_max: z.number().int().min(0).optional(),
  })
  .refine((e) => Object.values(e).some((v) => v !== undefined), 'must say what is expected: equals, min, max, rows_min or rows_max');
export type SqlExpectation = z.infer<typeof SqlExpectation>;

export const SqlProbe = z.strictObject({
  ...ProbeBase,
  type: z.literal('sql'),
  target: TargetName.optional().describe('Default: the experiment\'s only target'),
  db: DbConnString.describe('libpq URI as seen from the host, without a password (~/.pgpass on the host)'),
  query: SqlQuery,
  expect: SqlExpectation,
  timeout_ms: z.number().int().min(100).max(60_000).default(5000),
});
export type SqlProbe = z.infer<typeof SqlProbe>;

/** A systemd unit or pid-file service name. */
const ServiceName = z.string().regex(/^[A-Za-z0-9@._-]{1,64}$/, 'must be a service (unit) name');

/**
 * The commands a `command` probe may run on a host: fixed programs, arguments validated here and
 * quoted by ssh/ (never a shell line from the file). `commandArgv` turns one into argv.
 */
export const HostCommand = z.discriminatedUnion('run', [
  /** `systemctl is-active --quiet <service>`: 0 when the unit is active. */
  z.strictObject({ run: z.literal('service_active'), service: ServiceName }),
  /** `/etc/chaos-handler/services/<service>.sh status`: the pid-file service contract (0 running, 3 stopped). */
  z.strictObject({ run: z.literal('service_status'), service: ServiceName }),
  /** `pg_isready -d <db> -t 3`: 0 accepting, 1 rejecting, 2 no response. */
  z.strictObject({ run: z.literal('pg_isready'), db: DbConnString }),
  /** `curl -fsS -o /dev/null -m 5 <url>` from the host itself: 0 when it answered 2xx/3xx. */
  z.strictObject({ run: z.literal('http_get'), url: HttpUrl }),
  /** `test -d|-f <path>`-like check that a path exists. */
  z.strictObject({
    run: z.literal('path_exists'),
    path: z
      .string()
      .max(1024)
      .regex(/^\/(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]*$/, 'must be an absolute path of plain segments')
      .refine((p) => !p.split('/').includes('..'), 'must not contain ..'),
  }),
]);
export type HostCommand = z.infer<typeof HostCommand>;

export const CommandProbe = z.strictObject({
  ...ProbeBase,
  type: z.literal('command'),
  target: TargetName.optional().describe('Default: the experiment\'s only target'),
  command: HostCommand,
  expect_exit: z.number().int().min(0).max(255).default(0),
  timeout_ms: z.number().int().min(100).max(60_000).default(5000),
});
export type CommandProbe = z.infer<typeof CommandProbe>;

/** What the host's sampler measures each second, by the name a metric probe uses. */
export const MetricName = z.enum([
  'cpu.busy_pct',
  'cpu.iowait_pct',
  'load1',
  'mem.used_pct',
  'mem.available_mb',
  'mem.swap_used_mb',
  'disk.used_pct',
  'disk.inodes_used_pct',
  'db.connections',
  'db.connections_pct',
]);
export type MetricName = z.infer<typeof MetricName>;

export const MetricProbe = z
  .strictObject({
    ...ProbeBase,
    type: z.literal('metric'),
    target: TargetName.optional().describe('Default: the experiment\'s only target'),
    metric: MetricName,
    /** Disk metrics: this mount point only (default: the fullest filesystem). */
    mount: z.string().max(256).regex(/^\//, 'must be a mount point').optional(),
    /** db.* metrics: the instance whose connections the sampler counts (it measures none without one). */
    db: DbConnString.optional().describe('db.* metrics: the PostgreSQL instance to count connections of (libpq URI as seen from the host, without a password)'),
    max: z.number().optional(),
    min: z.number().optional(),
  })
  .refine((p) => p.max !== undefined || p.min !== undefined, { message: 'must have a bound: max, min or both', path: ['max'] })
  .refine((p) => !p.metric.startsWith('db.') || p.db !== undefined, { message: 'db.* metrics need db: the PostgreSQL instance to count connections of', path: ['db'] });
export type MetricProbe = z.infer<typeof MetricProbe>;

export const SteadyStateProbe = z.discriminatedUnion('type', [HttpProbe, SqlProbe, CommandProbe, MetricProbe]);
export type SteadyStateProbe = z.infer<typeof SteadyStateProbe>;

/**
 * HTTP requests at a fixed rate for the run's duration (open model: the schedule holds whatever
 * the latency, see load/). Only to loopback or an address of an enrolled target.
 */
export const LoadSpec = z.strictObject({
  url: HttpUrl,
  method: z.enum(['GET', 'HEAD']).default('GET'),
  rps: z.number().min(0.1).max(5000).describe('Requests per second, issued on schedule'),
  duration_s: Seconds(1, 86_400).optional().describe('Default: the whole run (steady state before, method, steady state after)'),
  timeout_ms: z.number().int().min(1).max(120_000).default(2000),
  connections: z.number().int().min(1).max(4096).optional().describe('Default: enough for the rate at the timeout'),
});
export type LoadSpec = z.infer<typeof LoadSpec>;

/**
 * The scenario's own arguments and its host-side failsafe, without the options every incident
 * takes (windows, replay, remediation): the experiment owns those. A unit test checks these lists
 * against the scenarios' options, so an argument added to a scenario is not silently refused here.
 */
export const INJECT_ARG_KEYS = {
  cpu_spike: { duration: true, load: true, max_runtime_s: true },
  memory_leak: { duration: true, target_mb: true, max_runtime_s: true },
  disk_fill: { size_mb: true, path: true, max_runtime_s: true },
  net_latency: { duration: true, iface: true, delay_ms: true, loss_pct: true, max_runtime_s: true },
  service_kill: { service_name: true, max_runtime_s: true },
  db_conn_exhaust: { duration: true, clients: true, conn_string: true, max_runtime_s: true },
} as const;

const injectStep = <S extends string, A extends z.ZodObject>(scenario: S, args: A) =>
  z.strictObject({
    type: z.literal('inject'),
    scenario: z.literal(scenario),
    target: TargetName.optional().describe('Default: the experiment\'s only target'),
    args: args.prefault({} as z.input<A>),
  });

/** Inject a scenario through the incident pipeline; its args are the scenario's (SPEC §2). */
export const InjectStep = z.discriminatedUnion('scenario', [
  injectStep('cpu_spike', ScenarioOptions.cpu_spike.pick(INJECT_ARG_KEYS.cpu_spike)),
  injectStep('memory_leak', ScenarioOptions.memory_leak.pick(INJECT_ARG_KEYS.memory_leak)),
  injectStep('disk_fill', ScenarioOptions.disk_fill.pick(INJECT_ARG_KEYS.disk_fill)),
  injectStep('net_latency', ScenarioOptions.net_latency.pick(INJECT_ARG_KEYS.net_latency)),
  injectStep('service_kill', ScenarioOptions.service_kill.pick(INJECT_ARG_KEYS.service_kill)),
  injectStep('db_conn_exhaust', ScenarioOptions.db_conn_exhaust.pick(INJECT_ARG_KEYS.db_conn_exhaust)),
]);
export type InjectStep = z.infer<typeof InjectStep>;

export const WaitStep = z.strictObject({ type: z.literal('wait'), seconds: Seconds(0, 3600) });
export type WaitStep = z.infer<typeof WaitStep>;

export const ProbeStep = z.strictObject({ type: z.literal('probe'), name: ProbeName });
export type ProbeStep = z.infer<typeof ProbeStep>;

export const MethodStep = z.discriminatedUnion('type', [InjectStep, WaitStep, ProbeStep]);
export type MethodStep = z.infer<typeof MethodStep>;

/** Abort the run and revert every fault once the probe has been out of tolerance for `leave_for_s`. */
export const Safeguard = z.strictObject({
  probe: ProbeName,
  leave_for_s: Seconds(0, 3600).describe('Seconds out of tolerance before the abort (0: at once)'),
});
export type Safeguard = z.infer<typeof Safeguard>;

/**
 * What runs after the method, whatever happened (faults the method injected are reverted by the
 * coordinator in any case): `cleanup_all` stops every chaos on the host and restores services.
 */
export const Rollback = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('cleanup_all'), target: TargetName.optional().describe('Default: every target of the experiment') }),
  WaitStep,
]);
export type Rollback = z.infer<typeof Rollback>;

export const RemediationMode = z.enum(['none', 'approve', 'policy']);
export type RemediationMode = z.infer<typeof RemediationMode>;

export const CompareTo = z.union([z.literal('baseline'), ExperimentId]);
export type CompareTo = z.infer<typeof CompareTo>;

const ExperimentShape = z.strictObject({
  title: z.string().min(1).max(200),
  description: z.string().max(4000).optional(),
  targets: z.array(TargetName).min(1).max(16),
  steady_state: z.array(SteadyStateProbe).min(1).max(64),
  load: LoadSpec.optional(),
  method: z.array(MethodStep).min(1).max(64),
  safeguards: z.array(Safeguard).max(64).default([]),
  rollbacks: z.array(Rollback).max(64).default([]),
  remediation: RemediationMode.default('none').describe('none: the coordinator reverts; approve: a human approves the fix; policy: the policy file decides'),
  runs: z.number().int().min(1).max(100).default(1),
  settle_s: Seconds(0, 3600).default(10).describe('Seconds between runs for the host to settle'),
  compare_to: CompareTo.optional().describe('baseline: also run the experiment without its faults and compare; or an earlier experiment id'),
});

/** Every reference in the file points at something it declares; targets are named when ambiguous. */
export const Experiment = ExperimentShape.superRefine((e, ctx) => {
  const probes = new Set<string>();
  e.steady_state.forEach((p, i) => {
    if (probes.has(p.name)) ctx.addIssue({ code: 'custom', path: ['steady_state', i, 'name'], message: `duplicate probe name "${p.name}"` });
    probes.add(p.name);
  });
  const targets = new Set<string>();
  e.targets.forEach((t, i) => {
    if (targets.has(t)) ctx.addIssue({ code: 'custom', path: ['targets', i], message: `duplicate target "${t}"` });
    targets.add(t);
  });
  const checkTarget = (target: string | undefined, path: (string | number)[]) => {
    if (target === undefined) {
      if (targets.size > 1) ctx.addIssue({ code: 'custom', path, message: 'must name one of the experiment\'s targets (there are several)' });
    } else if (!targets.has(target)) {
      ctx.addIssue({ code: 'custom', path: [...path, 'target'], message: `"${target}" is not one of the experiment's targets (${[...targets].join(', ')})` });
    }
  };
  e.steady_state.forEach((p, i) => {
    if (p.type !== 'http') checkTarget(p.target, ['steady_state', i]);
  });
  e.method.forEach((step, i) => {
    if (step.type === 'inject') checkTarget(step.target, ['method', i]);
    if (step.type === 'probe' && !probes.has(step.name)) {
      ctx.addIssue({ code: 'custom', path: ['method', i, 'name'], message: `no steady_state probe is named "${step.name}"` });
    }
  });
  if (!e.method.some((s) => s.type === 'inject')) {
    ctx.addIssue({ code: 'custom', path: ['method'], message: 'must inject at least one scenario' });
  }
  e.safeguards.forEach((g, i) => {
    if (!probes.has(g.probe)) ctx.addIssue({ code: 'custom', path: ['safeguards', i, 'probe'], message: `no steady_state probe is named "${g.probe}"` });
  });
  e.rollbacks.forEach((r, i) => {
    if (r.type === 'cleanup_all' && r.target !== undefined && !targets.has(r.target)) {
      ctx.addIssue({ code: 'custom', path: ['rollbacks', i, 'target'], message: `"${r.target}" is not one of the experiment's targets (${[...targets].join(', ')})` });
    }
  });
});
export type Experiment = z.infer<typeof Experiment>;
/** The experiment as written, before defaults (what `POST /experiments` accepts). */
export type ExperimentInput = z.input<typeof Experiment>;

/** The JSON Schema of the file, as written (defaults make fields optional). Published at /schemas/experiment.json. */
export function experimentJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Experiment, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  return {
    ...schema,
    title: 'Chaos-Handler experiment',
    description: 'A repeatable chaos experiment (SPEC §11): steady state, load, method, safeguards, rollbacks, runs.',
  };
}
