/**
 * The remediation policy file (`CHAOS_POLICY_FILE`, YAML): which remediation steps may run
 * without a human, which commands may never run, and how many remediations a target may take per
 * hour. Without a file nothing auto-applies (SPEC §10).
 */
import { z } from 'zod';

export const RiskLevel = z.enum(['low', 'medium', 'high']);
export type RiskLevel = z.infer<typeof RiskLevel>;

/** An action kind as the remediation engine names it (`stop_process`), or `*` for every kind. */
const ActionName = z.string().regex(/^(?:\*|[a-z][a-z0-9_]{0,63})$/, 'an action name (lower case, digits, underscores) or "*"');

/** A regular expression matched against the step's rendered command; it must compile. */
const Pattern = z.string().min(1, 'an empty pattern matches every command').max(1000).superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${error instanceof Error ? error.message : String(error)}` });
  }
});

/** `- 'rm\s+-rf'` or `- { pattern: 'rm\s+-rf', reason: 'never' }`. */
export const CommandRule = z.preprocess(
  (value) => (typeof value === 'string' ? { pattern: value } : value),
  z.strictObject({ pattern: Pattern, reason: z.string().min(1).max(200).optional() }).transform((r) => ({ pattern: r.pattern, reason: r.reason ?? null })),
);
export type CommandRule = z.infer<typeof CommandRule>;

export const TargetPolicy = z.strictObject({
  /** Steps that may run without a human: both the action and its risk level must be listed. */
  auto_apply: z
    .strictObject({
      actions: z.array(ActionName).max(64).default([]),
      risks: z.array(RiskLevel).max(3).default([]),
    })
    .optional(),
  /** At most this many remediations of the target in any sliding hour. */
  max_per_hour: z.number().int().min(0).max(10_000).optional(),
});
export type TargetPolicy = z.infer<typeof TargetPolicy>;

/** A target name as enrolled, or `*` for every target without an entry of its own. */
const TargetKey = z.string().regex(/^(?:\*|[A-Za-z0-9][A-Za-z0-9._-]{0,127})$/, 'an enrolled target name or "*"');

export const PolicyFile = z.strictObject({
  version: z.literal(1),
  targets: z.record(TargetKey, TargetPolicy).default({}),
  commands: z
    .strictObject({
      /** A command matching any of these never runs, approved or not. */
      deny: z.array(CommandRule).max(200).default([]),
      /** When given, only commands matching one of these may auto-apply; the others wait for a human. */
      allow: z.array(CommandRule).max(200).default([]),
    })
    .default({ deny: [], allow: [] }),
});
export type PolicyFile = z.infer<typeof PolicyFile>;

/** The policy in force: the file's content and where it came from (null: no file, the defaults). */
export type Policy = PolicyFile & { source: string | null };

/** What `decide` is asked about one remediation step. */
export type StepRequest = { target: string; action: string; risk: RiskLevel; command: string };

export type Verdict = 'auto' | 'needs_approval' | 'denied';

export type Decision = { verdict: Verdict; reason: string };
