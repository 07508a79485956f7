import type { FixAction } from '../agents/findings.js';
import type { Remediation, RemediationStep } from '../domain/index.js';
import { REMEDIES } from './catalog.js';
import { REMEDY_EXIT, type RemediationHost } from './host.js';

export type PolicyVerdict = { verdict: 'auto' | 'needs_approval' | 'denied'; reason: string };

export type PlanOptions = {
  now: Date;
  mode: Remediation['mode'];
  /** Seconds an unapproved plan stays open. */
  approvalTtlS: number;
  verifyS: number;
  /** The policy's word on one step (default: every step needs a human). */
  decide?: (step: { action: string; risk: RemediationStep['risk']; command: string }) => PolicyVerdict;
};

/**
 * The remediation plan: the fix.sh actions that carry a runnable remedy, in fix.sh's order, so
 * fix.sh stays the readable form of the same plan. Read-only actions have no remedy and no step.
 */
export function buildPlan(actions: readonly FixAction[], options: PlanOptions): Remediation {
  const steps: RemediationStep[] = [];
  for (const action of actions) {
    if (!action.remedy) continue;
    const kind = REMEDIES[action.remedy.action];
    const policy = options.decide?.({ action: action.remedy.action, risk: kind.risk, command: `${kind.script} apply ${action.remedy.args.join(' ')}` }) ?? {
      verdict: 'needs_approval' as const,
      reason: 'no policy: every step needs a human approval',
    };
    steps.push({
      id: `s${steps.length + 1}`,
      action: action.remedy.action,
      args: action.remedy.args,
      description: `${action.description} (${kind.label})`,
      risk: kind.risk,
      rollback: kind.rollback,
      policy,
      approved: false,
      state: policy.verdict === 'denied' ? 'skipped' : 'pending',
      ...(policy.verdict === 'denied' ? { reason: `denied by the policy: ${policy.reason}` } : {}),
      started_at: null,
      finished_at: null,
      exit_code: null,
      output_tail: '',
    });
  }
  return {
    status: 'proposed',
    mode: options.mode,
    proposed_at: options.now.toISOString(),
    expires_at: new Date(options.now.getTime() + options.approvalTtlS * 1000).toISOString(),
    approver: null,
    approved_at: null,
    rejected_by: null,
    reason: steps.length ? null : 'no step of the fix can be applied by the coordinator: fix.sh is for a person',
    verify_s: options.verifyS,
    steps,
    applied_at: null,
    verification: null,
    finished_at: null,
    chaos_cleanup: null,
  };
}

/**
 * Pins each process step to the identity of its pids right now (pid:starttime), so the apply
 * can tell a reused pid from the process the evidence named. A step whose processes are already
 * gone is skipped with the host's answer.
 */
export async function pinPlan(plan: Remediation, host: RemediationHost, signal?: AbortSignal): Promise<Remediation> {
  const steps: RemediationStep[] = [];
  for (const step of plan.steps) {
    if (!REMEDIES[step.action].pins || step.state !== 'pending') {
      steps.push(step);
      continue;
    }
    const [name, ...rest] = step.args;
    // raise_limit: NAME PID NOFILE; stop_process: NAME PID...
    const pids = step.action === 'raise_limit' ? rest.slice(0, 1) : rest;
    const result = await host.run(step.action, 'pin', [name!, ...pids, ...(step.action === 'raise_limit' ? rest.slice(1) : [])], signal);
    const pinned = /^PIN (.+)$/m.exec(result.output)?.[1]?.trim().split(/\s+/);
    if (result.exitCode !== REMEDY_EXIT.ok || !pinned?.length) {
      steps.push({ ...step, state: 'skipped', reason: `precondition failed when proposed: ${tail(result.output)}`, output_tail: tail(result.output) });
      continue;
    }
    steps.push({ ...step, args: step.action === 'raise_limit' ? [name!, pinned[0]!, ...rest.slice(1)] : [name!, ...pinned] });
  }
  return { ...plan, steps };
}

/** The last lines of a step's output, as the record keeps them. */
export function tail(output: string, maxChars = 2000): string {
  const text = output.trim();
  return text.length > maxChars ? `…${text.slice(-maxChars)}` : text;
}
