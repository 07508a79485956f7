import { z } from 'zod';
import { GenericAlertMapping } from '../alerts/schema.js';
import { SelfTestFaultList } from '../selftest/schema.js';

/** Booleans from the environment: only these spellings, so a typo fails loudly. */
const EnvBoolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Every setting the coordinator reads, from the environment, validated once at start-up.
 * Documented in .env.example and the README.
 */
export const Config = z
  .object({
    CHAOS_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    CHAOS_BIND: z.string().min(1).default('127.0.0.1'),
    CHAOS_INCIDENTS_DIR: z.string().min(1).default('incidents'),
    /** Where experiment folders are written (experiments/<id>/: summary, load.csv, junit.xml, report). */
    CHAOS_EXPERIMENTS_DIR: z.string().min(1).default('experiments'),
    /** Where game days are recorded (gamedays/<id>/: the game day as submitted, its schedule and scoreboard). */
    CHAOS_GAMEDAYS_DIR: z.string().min(1).default('gamedays'),
    /** Required when CHAOS_BIND is not a loopback address. */
    CHAOS_API_TOKEN: z.string().min(16, 'CHAOS_API_TOKEN must be at least 16 characters').optional(),
    CHAOS_CHROMIUM_PATH: z.string().min(1).optional(),
    CHAOS_SLACK_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
    CHAOS_KEYS_DIR: z.string().min(1).default('config/keys'),
    CHAOS_TARGETS_FILE: z.string().min(1).default('config/targets.json'),
    CHAOS_EXAMPLES_DIR: z.string().min(1).default('examples'),
    /** The coordinator's own state: the known-good reference of each target (references/<target>.json). */
    CHAOS_STATE_DIR: z.string().min(1).default('config/state'),
    CHAOS_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_000_000).default(65_536),
    CHAOS_MAX_CONCURRENT_INCIDENTS: z.coerce.number().int().min(1).max(100).default(4),
    CHAOS_AGENT_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(120_000),
    /** Dead man's switch: the host reverts a fault by itself when not renewed for this long. */
    CHAOS_LEASE_S: z.coerce.number().int().min(5).max(600).default(30),
    CHAOS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    CHAOS_PDF: EnvBoolean.default(true),
    /** POST /alerts: the alert label naming the host an alert is about (its value: host, host:port or a target name). */
    CHAOS_ALERT_INSTANCE_LABEL: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/, 'must be a Prometheus label name').default('instance'),
    /** A repeat of an alert within this many seconds of the incident it opened opens nothing. */
    CHAOS_ALERT_COOLDOWN_S: z.coerce.number().int().min(0).max(604_800).default(900),
    /** POST /alerts/generic: JSON pointers to each alert's name, instance, status (and fingerprint, runbook_url…), as JSON. */
    CHAOS_ALERT_GENERIC_MAPPING: z
      .string()
      .transform((text, ctx) => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          ctx.addIssue({ code: 'custom', message: 'CHAOS_ALERT_GENERIC_MAPPING must be JSON, e.g. {"name":"/title","instance":"/host","status":"/state"}' });
          return z.NEVER;
        }
        const parsed = GenericAlertMapping.safeParse(json);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          ctx.addIssue({ code: 'custom', message: `CHAOS_ALERT_GENERIC_MAPPING: ${issue.path.join('.') || 'mapping'}: ${issue.message}` });
          return z.NEVER;
        }
        return parsed.data;
      })
      .optional(),
    /** Remediation policy (YAML): what may auto-apply per target, command rules, a rate limit. Unset: every step waits for a human. */
    CHAOS_POLICY_FILE: z.string().min(1).optional(),
    /** A failed, timed-out or rejected agent run is tried again this many times, after a pause doubling from the backoff. */
    CHAOS_AGENT_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
    CHAOS_AGENT_RETRY_BACKOFF_MS: z.coerce.number().int().min(0).max(60_000).default(250),
    /** Self-test: faults injected into the coordinator's own agents, `Agent:kind:probability,…` (kinds: crash, delay, timeout, corrupt). */
    CHAOS_SELFTEST_FAULTS: SelfTestFaultList.optional(),
    /** Seed of the self-test's draws: the same seed injects the same faults in the same places. */
    CHAOS_SELFTEST_SEED: z.coerce.number().int().min(0).max(4_294_967_295).default(1),
    /** Optional narrative by a language model: an OpenAI-compatible base URL (e.g. http://127.0.0.1:1234/v1). Unset: off. */
    CHAOS_LLM_URL: z.url({ protocol: /^https?$/ }).optional(),
    CHAOS_LLM_MODEL: z.string().min(1).max(200).optional(),
    /** Sent as a bearer token; never logged. Local servers (LM Studio, Ollama) need none. */
    CHAOS_LLM_API_KEY: z.string().min(1).optional(),
    /** How long the report waits for the model before it goes on without the narrative. */
    CHAOS_LLM_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(20_000),
  })
  .superRefine((c, ctx) => {
    if (!isLoopback(c.CHAOS_BIND) && !c.CHAOS_API_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['CHAOS_API_TOKEN'],
        message: `CHAOS_API_TOKEN is required when CHAOS_BIND (${c.CHAOS_BIND}) is not a loopback address`,
      });
    }
    if (c.CHAOS_LLM_URL && !c.CHAOS_LLM_MODEL) {
      ctx.addIssue({ code: 'custom', path: ['CHAOS_LLM_MODEL'], message: 'CHAOS_LLM_MODEL is required when CHAOS_LLM_URL is set (the model name the endpoint serves)' });
    }
  });
export type Config = z.infer<typeof Config>;

export function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}
