/**
 * The incident contract: what a user may ask for (validated before anything runs, like a
 * chaostoolkit experiment) and the record the coordinator keeps of each run.
 */
import { z } from 'zod';
import { DbConnString, TargetRequest } from '../ssh/schema.js';
import type { ScenarioName } from '../domain/index.js';

const Seconds = (min: number, max: number) => z.number().int().min(min).max(max);

/** Options every scenario takes. Windows are short by default so a demo takes a minute. */
const CommonOptions = {
  baseline_s: Seconds(1, 600).default(10).describe('Seconds of steady state recorded before the fault'),
  observe_s: Seconds(1, 3600).default(20).describe('Seconds the incident is observed after injection'),
  recovery_s: Seconds(0, 600)
    .default(30)
    .describe('After the revert, watch the host for at most this long (less once every anomalous metric is back in its normal band) to measure the recovery time; 0 skips it'),
  max_runtime_s: Seconds(10, 3600)
    .default(300)
    .describe('Host-side failsafe: the fault is reverted by the host itself after this long'),
  offline: z.boolean().default(false).describe('Replay a recorded evidence bundle instead of connecting'),
  bundle: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be the name of a bundle in the examples directory')
    .optional()
    .describe('Offline only: which recorded bundle to replay (default: the scenario\'s own)'),
  record: z.boolean().default(false).describe('Live only: save the evidence collected as an offline bundle'),
  replay_speed: z
    .number()
    .min(0.1)
    .max(1000)
    .optional()
    .describe('Offline only: replay the recorded windows in real time sped up by this factor (10: a 30 s window takes 3 s); default: at once'),
  remediation: z
    .enum(['none', 'approve', 'auto'])
    .default('none')
    .describe("Closed loop (SPEC §10), live only: 'approve' proposes the fix and waits for a person's approval; 'auto' applies it pre-approved by `approver`, or as far as the policy allows. The chaos is not reverted first: the fix must remove the fault"),
  approver: z.string().trim().min(1).max(128).optional().describe("With remediation 'auto': the person pre-approving the fix (recorded)"),
  approve_high_risk: z.boolean().default(false).describe('With a pre-approval: high-risk steps too (otherwise they need their own approval)'),
  verify_s: Seconds(1, 600).default(30).describe('After the fix: seconds the probes and anomalous metrics have to be back inside the known-good band'),
  approval_timeout_s: Seconds(10, 86_400).default(600).describe('An unapproved plan expires after this many seconds'),
};

const Duration = Seconds(1, 3600).describe('Seconds the fault lasts (the failsafe still caps it)');

/** Scenario arguments: numbers and enums, or strings held to a strict pattern (never a shell). */
export const ScenarioOptions = {
  cpu_spike: z
    .object({ ...CommonOptions, duration: Duration.default(60), load: z.number().int().min(1).max(64).default(2).describe('Busy workers') })
    .strict(),
  memory_leak: z
    .object({
      ...CommonOptions,
      duration: Duration.default(60),
      target_mb: z.number().int().min(16).max(262_144).default(512).describe('Memory the leak grows to'),
    })
    .strict(),
  disk_fill: z
    .object({
      ...CommonOptions,
      size_mb: z.number().int().min(1).max(1_048_576).default(512),
      path: z
        .string()
        .regex(/^\/(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]+$/, 'must be an absolute path of plain segments')
        .refine((p) => !p.split('/').includes('..'), 'must not contain ..')
        .default('/tmp/chaos_fill'),
    })
    .strict(),
  net_latency: z
    .object({
      ...CommonOptions,
      duration: Duration.default(60),
      iface: z.string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, 'must be an interface name').default('eth0'),
      delay_ms: z.number().int().min(1).max(10_000).default(200),
      loss_pct: z.number().min(0).max(100).default(0),
    })
    .strict(),
  service_kill: z
    .object({
      ...CommonOptions,
      service_name: z.string().regex(/^[A-Za-z0-9@._-]{1,64}$/, 'must be a service (unit) name').default('victim-api'),
    })
    .strict(),
  db_conn_exhaust: z
    .object({
      ...CommonOptions,
      duration: Duration.default(60),
      clients: z.number().int().min(1).max(10_000).default(100),
      conn_string: DbConnString.max(512)
        .optional()
        .describe('Default: the enrolled target\'s database'),
    })
    .strict(),
  // Nothing is injected, so there is no fault to settle: two short looks at the host answer
  // "what is wrong right now" within seconds of an alert (the reference holds its normal).
  investigate: z
    .object({
      ...CommonOptions,
      baseline_s: Seconds(1, 600).default(4).describe('Seconds of the first look at the host'),
      observe_s: Seconds(1, 3600).default(8).describe('Seconds of the second look at the host'),
    })
    .strict(),
} satisfies Record<ScenarioName, z.ZodType>;

/** `target_vm`: an enrolled target by name, or by host (and port, user, key name). */
export const TargetVm = TargetRequest;
export type TargetVm = z.infer<typeof TargetVm>;

function request<S extends ScenarioName, O extends z.ZodObject>(scenario: S, options: O) {
  return z
    .object({ scenario: z.literal(scenario), target_vm: TargetVm.optional(), options: options.prefault({} as z.input<O>) })
    .strict();
}

export const StartIncidentRequest = z
  .discriminatedUnion('scenario', [
    request('cpu_spike', ScenarioOptions.cpu_spike),
    request('memory_leak', ScenarioOptions.memory_leak),
    request('disk_fill', ScenarioOptions.disk_fill),
    request('net_latency', ScenarioOptions.net_latency),
    request('service_kill', ScenarioOptions.service_kill),
    request('db_conn_exhaust', ScenarioOptions.db_conn_exhaust),
    request('investigate', ScenarioOptions.investigate),
  ])
  .superRefine((r, ctx) => {
    if (!r.options.offline && r.target_vm === undefined) {
      ctx.addIssue({ code: 'custom', path: ['target_vm'], message: 'is required unless options.offline is true' });
    }
    if (r.options.offline && r.options.record) {
      ctx.addIssue({ code: 'custom', path: ['options', 'record'], message: 'only applies to live incidents' });
    }
    if (r.options.offline && r.options.remediation !== 'none') {
      ctx.addIssue({ code: 'custom', path: ['options', 'remediation'], message: 'only applies to live incidents: a recording has no host to fix' });
    }
    if (r.options.approver !== undefined && r.options.remediation !== 'auto') {
      ctx.addIssue({ code: 'custom', path: ['options', 'approver'], message: "only applies with remediation 'auto' (a pre-approval)" });
    }
    if (!r.options.offline && r.options.replay_speed !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['options', 'replay_speed'], message: 'only applies to offline incidents' });
    }
  });
export type StartIncidentRequest = z.infer<typeof StartIncidentRequest>;

