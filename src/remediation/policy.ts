import { readFile } from 'node:fs/promises';
import { formatIssue, validateYaml } from '../config/yaml-file.js';
import type { IncidentRecord } from '../domain/index.js';
import { InputError } from '../errors.js';
import { PolicyFile, type Decision, type Policy, type StepRequest, type TargetPolicy } from './policy-schema.js';

export { type Decision, type Policy, type StepRequest, type Verdict } from './policy-schema.js';

/** No policy file: nothing auto-applies, no command rule, no rate limit (every step waits for a human). */
export const DEFAULT_POLICY: Policy = { version: 1, targets: {}, commands: { deny: [], allow: [] }, source: null };

const MAX_POLICY_BYTES = 256 * 1024;

/**
 * Reads and validates the policy file; without a file, the defaults. Every problem is an
 * InputError naming the file, the YAML path and its line (`policy.yaml:7 targets.sandbox.auto_apply.risks[0]: …`).
 */
export async function loadPolicy(file?: string): Promise<Policy> {
  if (file === undefined || file === '') return DEFAULT_POLICY;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`Policy file ${file} cannot be read (${code === 'ENOENT' ? 'no such file' : (code ?? String(error))}); CHAOS_POLICY_FILE names it`, 'CHAOS_POLICY_FILE', { cause: error });
  }
  return parsePolicy(text, file);
}

/** The policy in `text`; `name` is how errors refer to the file (`p.yaml:8:7: targets.sandbox…: …`). */
export function parsePolicy(text: string, name: string): Policy {
  // An empty file is a policy with every default (nothing auto-applies).
  const result = validateYaml(text.trim() === '' ? '{}' : text, PolicyFile, MAX_POLICY_BYTES);
  if (!result.ok) throw new InputError(`Invalid policy file ${name}:\n${result.errors.map((e) => `  ${formatIssue(name, e)}`).join('\n')}`, 'CHAOS_POLICY_FILE');
  return { ...result.value, source: name };
}

/** The target's entry, each setting falling back to the `*` entry. */
function targetPolicy(policy: Policy, target: string): TargetPolicy & { entry: string | null } {
  const own = Object.hasOwn(policy.targets, target) ? policy.targets[target] : undefined;
  const any = policy.targets['*'];
  const autoApply = own?.auto_apply ?? any?.auto_apply;
  const maxPerHour = own?.max_per_hour ?? any?.max_per_hour;
  return {
    ...(autoApply ? { auto_apply: autoApply } : {}),
    ...(maxPerHour !== undefined ? { max_per_hour: maxPerHour } : {}),
    entry: own ? target : any ? '*' : null,
  };
}

/**
 * What may happen to one remediation step: `denied` (a deny rule matches its command: it never
 * runs, approved or not), `auto` (the target's entry lists both its action and its risk level,
 * and an allow rule matches when there are any), else `needs_approval`.
 */
export function decide(policy: Policy, step: StepRequest): Decision {
  const from = policy.source ? `policy ${policy.source}` : 'no policy file';
  for (const rule of policy.commands.deny) {
    if (new RegExp(rule.pattern).test(step.command)) {
      return { verdict: 'denied', reason: `${from}: the command matches deny rule /${rule.pattern}/${rule.reason ? ` (${rule.reason})` : ''}` };
    }
  }
  const rules = targetPolicy(policy, step.target);
  const auto = rules.auto_apply;
  const entry = rules.entry === '*' ? 'targets.*' : rules.entry ? `targets.${rules.entry}` : null;
  if (!auto || !entry) return { verdict: 'needs_approval', reason: `${from}: nothing auto-applies on ${step.target}` };
  const actionOk = auto.actions.includes('*') || auto.actions.includes(step.action);
  if (!actionOk) return { verdict: 'needs_approval', reason: `${from}: ${entry} does not auto-apply action ${step.action}` };
  if (!auto.risks.includes(step.risk)) return { verdict: 'needs_approval', reason: `${from}: ${entry} does not auto-apply ${step.risk}-risk steps` };
  if (policy.commands.allow.length) {
    const allowed = policy.commands.allow.find((rule) => new RegExp(rule.pattern).test(step.command));
    if (!allowed) return { verdict: 'needs_approval', reason: `${from}: the command matches no allow rule, so it waits for a human` };
    return { verdict: 'auto', reason: `${from}: ${entry} auto-applies ${step.risk}-risk ${step.action}; allowed by /${allowed.pattern}/` };
  }
  return { verdict: 'auto', reason: `${from}: ${entry} auto-applies ${step.risk}-risk ${step.action}` };
}

/** How many remediations the policy lets `target` take per hour; null: no limit. */
export function hourlyLimit(policy: Policy, target: string): number | null {
  return targetPolicy(policy, target).max_per_hour ?? null;
}

const HOUR_MS = 3_600_000;

/**
 * At most `max_per_hour` remediations per target in any sliding hour (no restart loops).
 * In memory: seed it with the remediations the audit log records after a restart.
 */
export class RateLimiter {
  private readonly taken = new Map<string, number[]>();

  constructor(
    private readonly policy: Policy,
    history: { target: string; at: Date }[] = [],
  ) {
    for (const h of history) this.times(h.target).push(h.at.getTime());
    for (const list of this.taken.values()) list.sort((a, b) => a - b);
  }

  /** Counts one remediation of `target` at `now` and returns true, or returns false when the hour is full. */
  take(target: string, now: Date = new Date()): boolean {
    const limit = hourlyLimit(this.policy, target);
    const list = this.recent(target, now);
    if (limit !== null && list.length >= limit) return false;
    list.push(now.getTime());
    return true;
  }

  /** Remediations of `target` in the hour before `now`. */
  used(target: string, now: Date = new Date()): number {
    return this.recent(target, now).length;
  }

  /** When `target` may take its next remediation: `now` when it may at once. */
  nextAllowedAt(target: string, now: Date = new Date()): Date {
    const limit = hourlyLimit(this.policy, target);
    const list = this.recent(target, now);
    if (limit === null || list.length < limit) return now;
    if (limit === 0) return new Date(8.64e15);
    return new Date(list[list.length - limit]! + HOUR_MS);
  }

  private recent(target: string, now: Date): number[] {
    const list = this.times(target);
    const since = now.getTime() - HOUR_MS;
    while (list.length && list[0]! <= since) list.shift();
    return list;
  }

  private times(target: string): number[] {
    let list = this.taken.get(target);
    if (!list) {
      list = [];
      this.taken.set(target, list);
    }
    return list;
  }
}

/**
 * What the rate limiter must remember across a restart: each remediation applied on a live
 * target within the hour before `now`, read from the incident records (their `remediation`).
 */
export function remediationHistory(records: Pick<IncidentRecord, 'target' | 'remediation'>[], now: Date = new Date()): { target: string; at: Date }[] {
  const since = now.getTime() - HOUR_MS;
  return records.flatMap((r) => {
    const applied = r.remediation?.applied_at ? new Date(r.remediation.applied_at) : null;
    if (r.target.kind !== 'ssh' || !applied || Number.isNaN(applied.getTime()) || applied.getTime() <= since) return [];
    return [{ target: r.target.name, at: applied }];
  });
}
