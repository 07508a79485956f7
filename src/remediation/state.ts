import { ConflictError, InputError } from '../errors.js';
import type { Remediation, RemediationStep } from '../domain/index.js';

/**
 * The approval transitions of SPEC §10, pure: proposed → approved | rejected | expired. Applying,
 * verifying and their ends are the engine's (engine.ts).
 */

export type Approval = { approver: string; steps?: readonly string[] | undefined };

function assertOpen(plan: Remediation, now: Date): void {
  if (plan.status !== 'proposed') throw new ConflictError(`The remediation is ${plan.status}, not awaiting approval`);
  if (now.getTime() >= Date.parse(plan.expires_at)) throw new ConflictError(`The remediation expired at ${plan.expires_at}`);
}

/**
 * A person approves: the steps listed, or without a list every step but the high-risk ones
 * (those need their own approval: they must be listed). Denied or skipped steps cannot be
 * approved. Steps left out are skipped.
 */
export function approvePlan(plan: Remediation, approval: Approval, now: Date): Remediation {
  assertOpen(plan, now);
  const approver = approval.approver.trim();
  if (!approver) throw new InputError('approver is required: the name of the person approving', 'approver');
  const ids = new Set(plan.steps.map((s) => s.id));
  const listed = approval.steps ? [...new Set(approval.steps)] : null;
  for (const id of listed ?? []) {
    if (!ids.has(id)) throw new InputError(`steps: no step ${JSON.stringify(id)} in this plan (its steps: ${[...ids].join(', ') || 'none'})`, 'steps');
    const step = plan.steps.find((s) => s.id === id)!;
    if (step.state !== 'pending') throw new InputError(`steps: ${id} cannot be approved: ${step.reason ?? step.state}`, 'steps');
  }
  const chosen = (s: RemediationStep) => s.state === 'pending' && (listed ? listed.includes(s.id) : s.risk !== 'high');
  const steps = plan.steps.map((s): RemediationStep => {
    if (chosen(s)) return { ...s, approved: true };
    if (s.state !== 'pending') return s;
    return { ...s, state: 'skipped', reason: s.risk === 'high' && !listed ? 'high risk: needs its own approval (list it in steps)' : 'not approved' };
  });
  if (!steps.some((s) => s.approved)) {
    const high = plan.steps.filter((s) => s.state === 'pending' && s.risk === 'high').map((s) => s.id);
    throw new InputError(
      high.length && !listed ? `no step approved: high-risk steps need their own approval; list them in steps (${high.join(', ')})` : 'no step approved: the plan has no step that can run',
      'steps',
    );
  }
  return { ...plan, status: 'approved', approver, approved_at: now.toISOString(), steps };
}

export function rejectPlan(plan: Remediation, rejection: { by: string; reason?: string | undefined }, now: Date): Remediation {
  assertOpen(plan, now);
  const by = rejection.by.trim();
  if (!by) throw new InputError('approver is required: the name of the person rejecting', 'approver');
  return {
    ...plan,
    status: 'rejected',
    rejected_by: by,
    reason: rejection.reason?.trim() || 'rejected',
    finished_at: now.toISOString(),
    steps: plan.steps.map((s) => (s.state === 'pending' ? { ...s, state: 'skipped', reason: 'plan rejected' } : s)),
  };
}

export function expirePlan(plan: Remediation, now: Date, reason = `not approved before ${plan.expires_at}`): Remediation {
  return {
    ...plan,
    status: 'expired',
    reason,
    finished_at: now.toISOString(),
    steps: plan.steps.map((s) => (s.state === 'pending' ? { ...s, state: 'skipped', reason: 'plan expired' } : s)),
  };
}

/** Whether a plan may still change by a decision. */
export function isAwaitingApproval(plan: Remediation | null | undefined): plan is Remediation {
  return plan?.status === 'proposed';
}
