import type { FixAction } from '../agents/findings.js';
import { errorMessage } from '../errors.js';
import type { Remediation, TraceEntryType, VerificationCheck } from '../domain/index.js';
import type { ApprovalDesk, Decision } from './approval-desk.js';
import { applyPlan, describeStep, finishPlan, verifySteps } from './engine.js';
import type { RemediationHost } from './host.js';
import { buildPlan, pinPlan, type PolicyVerdict } from './plan.js';
import { approvePlan, expirePlan, rejectPlan } from './state.js';

/** What a closed-loop run was asked for (the start request's options). */
export type RemediationOptions = {
  remediation: 'approve' | 'auto';
  /** Pre-approval by this person (`run --approve`); without it `auto` means "as the policy allows". */
  approver?: string | undefined;
  /** With a pre-approval: high-risk steps too (they otherwise need their own approval). */
  approve_high_risk?: boolean | undefined;
  verify_s: number;
  approval_timeout_s: number;
};

/** The coordinator's side of remediation, shared by every incident. */
export type RemediationServices = {
  desk: ApprovalDesk;
  /** The policy's word on a step of `target`. */
  decide?: (target: string, step: { action: string; risk: 'low' | 'medium' | 'high'; command: string }) => PolicyVerdict;
  /** Counts one remediation of `target`; false when its hourly limit is reached. */
  take?: (target: string, now: Date) => boolean;
  /** The audit log (audit.jsonl): every decision, step and verification, with who approved it. */
  audit?: (incidentId: string, entry: { actor: string; action: string; step_id?: string; detail: string; output_tail?: string }) => Promise<unknown>;
};

export type RemediationContext = {
  incidentId: string;
  target: string;
  options: RemediationOptions;
  actions: readonly FixAction[];
  host: RemediationHost;
  services: RemediationServices;
  /** Writes the plan into incident.json (through the pipeline, the record's only writer). */
  save: (plan: Remediation) => Promise<void>;
  trace: (type: TraceEntryType, content: object) => Promise<void>;
  /**
   * After the steps are applied: follows the host for at most `verifyS` seconds and says
   * whether its probes pass and every anomalous metric is back inside its known-good band.
   */
  verifyHealth: (verifyS: number) => Promise<VerificationCheck[]>;
  signal: AbortSignal;
};

/**
 * Propose → (approve | reject | expire) → apply → verify → resolved | failed. Returns null when
 * the fix has no step the coordinator can run (fix.sh is then for a person alone).
 */
export async function runRemediation(ctx: RemediationContext): Promise<Remediation | null> {
  const { options, services } = ctx;
  const decide = services.decide;
  let plan = buildPlan(ctx.actions, {
    now: new Date(),
    mode: options.remediation,
    approvalTtlS: options.approval_timeout_s,
    verifyS: options.verify_s,
    ...(decide ? { decide: (step) => decide(ctx.target, step) } : {}),
  });
  if (!plan.steps.length) {
    await ctx.trace('info', { summary: `no remediation: ${plan.reason}` });
    return null;
  }
  plan = await pinPlan(plan, ctx.host, ctx.signal);
  await ctx.save(plan);
  await ctx.trace('info', { summary: `remediation proposed: ${plan.steps.length} step(s)`, steps: plan.steps.map(describeStep), expires_at: plan.expires_at });

  plan = await decideOn(plan, ctx);
  if (plan.status !== 'approved') return plan;

  if (services.take && !services.take(ctx.target, new Date())) {
    plan = { ...plan, status: 'failed', reason: `rate limit: the policy allows no more remediations of ${ctx.target} this hour`, finished_at: new Date().toISOString() };
    await ctx.save(plan);
    await ctx.trace('warning', { summary: `remediation not applied: ${plan.reason}` });
    return plan;
  }

  const engine = { host: ctx.host, persist: ctx.save, signal: ctx.signal };
  plan = await applyPlan(plan, engine);
  for (const step of plan.steps.filter((s) => s.started_at)) {
    await ctx.trace(step.state === 'done' ? 'info' : 'warning', { summary: `remediation step ${step.id} ${step.action}: ${step.state}${step.reason ? ` (${step.reason})` : ''}`, output_tail: step.output_tail });
    await audit(ctx, { actor: 'coordinator', action: step.state === 'done' ? 'step_applied' : `step_${step.state}`, step_id: step.id, detail: `${step.action} ${step.args.join(' ')}${step.reason ? `: ${step.reason}` : ''}`, output_tail: step.output_tail });
  }
  if (plan.status !== 'verifying') return plan;

  const checks = [...(await verifySteps(plan, engine))];
  try {
    checks.push(...(await ctx.verifyHealth(plan.verify_s)));
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    checks.push({ name: 'health', ok: false, detail: `could not watch the host: ${errorMessage(error)}` });
  }
  plan = await finishPlan(plan, checks, engine);
  await audit(ctx, { actor: 'coordinator', action: plan.status === 'resolved' ? 'verification_passed' : 'verification_failed', detail: checks.map((c) => `${c.ok ? 'ok' : 'FAILED'} ${c.name}: ${c.detail}`).join('; ') });
  for (const step of plan.steps.filter((s) => s.state === 'rolled_back' || s.state === 'rollback_failed')) {
    await audit(ctx, { actor: 'coordinator', action: step.state === 'rolled_back' ? 'step_rolled_back' : 'rollback_failed', step_id: step.id, detail: step.reason ?? step.state });
  }
  await ctx.trace(plan.status === 'resolved' ? 'info' : 'error', {
    summary: `remediation ${plan.status}${plan.status === 'resolved' ? '' : `: ${plan.reason}`}`,
    verification: plan.verification,
  });
  return plan;
}

/** Audit entries never stop a remediation: a failed append is traced instead. */
async function audit(ctx: RemediationContext, entry: Parameters<NonNullable<RemediationServices['audit']>>[1]): Promise<void> {
  if (!ctx.services.audit) return;
  await ctx.services.audit(ctx.incidentId, entry).catch((error: unknown) => ctx.trace('warning', { summary: `audit log not written: ${errorMessage(error)}` }));
}

/** Pre-approved, auto-applied by the policy, or a person's decision before the plan expires. */
async function decideOn(proposed: Remediation, ctx: RemediationContext): Promise<Remediation> {
  const decided = await decideOnce(proposed, ctx);
  const approved = decided.steps.filter((s) => s.approved).map((s) => s.id).join(', ');
  if (decided.status === 'approved') await audit(ctx, { actor: decided.approver ?? 'unknown', action: 'approved', detail: `steps ${approved} (${decided.mode})` });
  else if (decided.status === 'rejected') await audit(ctx, { actor: decided.rejected_by ?? 'unknown', action: 'rejected', detail: decided.reason ?? 'rejected' });
  else await audit(ctx, { actor: 'coordinator', action: decided.status, detail: decided.reason ?? decided.status });
  return decided;
}

async function decideOnce(proposed: Remediation, ctx: RemediationContext): Promise<Remediation> {
  const { options } = ctx;
  const pending = proposed.steps.filter((s) => s.state === 'pending');
  if (!pending.length) {
    const plan = { ...proposed, status: 'failed' as const, reason: 'no step can run: every step was denied or its precondition had gone', finished_at: new Date().toISOString() };
    await ctx.save(plan);
    return plan;
  }
  if (options.remediation === 'auto' && options.approver) {
    const plan = approvePlan(proposed, { approver: options.approver, ...(options.approve_high_risk ? { steps: pending.map((s) => s.id) } : {}) }, new Date());
    await ctx.save(plan);
    await ctx.trace('info', { summary: `remediation pre-approved by ${plan.approver}: ${plan.steps.filter((s) => s.approved).map((s) => s.id).join(', ')}` });
    return plan;
  }
  if (options.remediation === 'auto' && pending.every((s) => s.policy?.verdict === 'auto')) {
    const plan = approvePlan(proposed, { approver: 'policy', steps: pending.map((s) => s.id) }, new Date());
    await ctx.save(plan);
    await ctx.trace('info', { summary: `remediation approved by the policy: ${pending.map((s) => `${s.id} (${s.policy?.reason})`).join(', ')}` });
    return plan;
  }
  return waitForPerson(proposed, ctx);
}

function waitForPerson(proposed: Remediation, ctx: RemediationContext): Promise<Remediation> {
  let plan = proposed;
  return new Promise<Remediation>((resolve, reject) => {
    let settled = false;
    const finish = (error: unknown, result?: Remediation) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      close();
      if (error) reject(error);
      else resolve(result!);
    };
    const close = ctx.services.desk.open(ctx.incidentId, async (decision: Decision) => {
      // Decided synchronously, saved after: a second decision sees the first one's status.
      plan = decision.kind === 'approve' ? approvePlan(plan, decision, new Date()) : rejectPlan(plan, decision, new Date());
      const decided = plan;
      await ctx.save(decided);
      await ctx.trace(decided.status === 'approved' ? 'info' : 'warning', {
        summary:
          decided.status === 'approved'
            ? `remediation approved by ${decided.approver}: ${decided.steps.filter((s) => s.approved).map((s) => s.id).join(', ')}`
            : `remediation rejected by ${decided.rejected_by}: ${decided.reason}`,
      });
      finish(null, decided);
      return decided;
    });
    const onAbort = () => finish(ctx.signal.reason);
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      if (plan.status !== 'proposed') return;
      plan = expirePlan(plan, new Date());
      const expired = plan;
      void ctx.save(expired).then(
        () => ctx.trace('warning', { summary: `remediation expired: ${expired.reason}` }).then(() => finish(null, expired)),
        (error: unknown) => finish(error),
      );
    }, Math.max(0, Date.parse(proposed.expires_at) - Date.now()));
  });
}
