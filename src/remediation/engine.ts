import { errorMessage } from '../errors.js';
import type { Remediation, RemediationStep, VerificationCheck } from '../domain/index.js';
import { REMEDIES } from './catalog.js';
import { REMEDY_EXIT, type RemediationHost, type RemedyResult } from './host.js';
import { tail } from './plan.js';

/**
 * Saves the remediation in incident.json (atomically) before the engine goes on: every step's
 * state is on disk before its command is sent and again after it returns.
 */
export type PersistRemediation = (plan: Remediation) => Promise<void>;

/** What the coordinator checks besides each step's own verification (probes, metric bands). */
export type HealthVerifier = () => Promise<VerificationCheck[]>;

type Engine = { host: RemediationHost; persist: PersistRemediation; now?: () => Date; signal?: AbortSignal };

function stamp(engine: Engine): string {
  return (engine.now?.() ?? new Date()).toISOString();
}

async function runVerb(engine: Engine, step: RemediationStep, verb: 'apply' | 'verify' | 'rollback' | 'check'): Promise<RemedyResult> {
  try {
    return await engine.host.run(step.action, verb, step.args, engine.signal);
  } catch (error) {
    return { outcome: 'error', exitCode: null, output: `${verb} could not run: ${errorMessage(error)}` };
  }
}

function replaceStep(plan: Remediation, step: RemediationStep): Remediation {
  return { ...plan, steps: plan.steps.map((s) => (s.id === step.id ? step : s)) };
}

/**
 * approved → applying → verifying: runs each approved step once, in order. A step whose
 * precondition no longer holds is skipped; a step that fails stops the apply (the steps after it
 * do not run). Returns the plan in `verifying` (or `failed` when nothing was applied).
 */
export async function applyPlan(plan: Remediation, engine: Engine): Promise<Remediation> {
  let current: Remediation = { ...plan, status: 'applying' };
  await engine.persist(current);
  let failed = false;
  for (const original of plan.steps) {
    if (!original.approved || original.state !== 'pending') continue;
    if (failed) {
      current = replaceStep(current, { ...original, state: 'skipped', reason: 'an earlier step failed' });
      continue;
    }
    let step: RemediationStep = { ...original, state: 'running', started_at: stamp(engine) };
    current = replaceStep(current, step);
    await engine.persist(current);
    const result = await runVerb(engine, step, 'apply');
    const ok = result.exitCode === REMEDY_EXIT.ok;
    const gone = result.exitCode === REMEDY_EXIT.precondition;
    step = {
      ...step,
      state: ok ? 'done' : gone ? 'skipped' : 'failed',
      ...(ok ? {} : { reason: gone ? `precondition no longer held: ${lastLine(result.output)}` : `apply ${describeExit(result)}: ${lastLine(result.output)}` }),
      finished_at: stamp(engine),
      exit_code: result.exitCode,
      output_tail: tail(result.output),
    };
    current = replaceStep(current, step);
    await engine.persist(current);
    failed = step.state === 'failed';
  }
  const applied = current.steps.some((s) => s.state === 'done');
  current = applied
    ? { ...current, status: 'verifying', applied_at: stamp(engine) }
    : { ...current, status: 'failed', reason: failed ? 'a step failed before any was applied' : 'no step was applied: every precondition had gone', finished_at: stamp(engine) };
  await engine.persist(current);
  return current;
}

/** Each applied step's own verification on the host (the effect is in place). */
export async function verifySteps(plan: Remediation, engine: Engine): Promise<VerificationCheck[]> {
  const checks: VerificationCheck[] = [];
  for (const step of plan.steps.filter((s) => s.state === 'done' || s.state === 'interrupted')) {
    const result = await runVerb(engine, step, 'verify');
    checks.push({ name: `step ${step.id} (${step.action})`, ok: result.exitCode === REMEDY_EXIT.ok, detail: lastLine(result.output) || describeExit(result) });
  }
  return checks;
}

/**
 * verifying → resolved, or the rollbacks of the applied steps (last first) and `failed` with the
 * checks that did not pass as evidence (`rolled_back` when the ending is a recovery's).
 */
export async function finishPlan(plan: Remediation, checks: VerificationCheck[], engine: Engine, ending: 'failed' | 'rolled_back' = 'failed'): Promise<Remediation> {
  const at = stamp(engine);
  const ok = checks.length > 0 && checks.every((c) => c.ok);
  let current: Remediation = { ...plan, verification: { ok, at, checks } };
  if (ok) {
    current = { ...current, status: 'resolved', finished_at: at };
    await engine.persist(current);
    return current;
  }
  await engine.persist(current);
  current = await rollbackPlan(current, engine);
  const failedChecks = checks.filter((c) => !c.ok);
  current = {
    ...current,
    status: ending,
    reason: `verification failed: ${failedChecks.map((c) => `${c.name}: ${c.detail}`).join('; ') || 'nothing was checked'}`,
    finished_at: stamp(engine),
  };
  await engine.persist(current);
  return current;
}

/** Runs the rollback of every applied step, last first; each state is saved as it changes. */
export async function rollbackPlan(plan: Remediation, engine: Engine): Promise<Remediation> {
  let current = plan;
  for (const step of [...plan.steps].reverse()) {
    if (step.state !== 'done' && step.state !== 'interrupted') continue;
    const result = await runVerb(engine, step, 'rollback');
    const ok = result.exitCode === REMEDY_EXIT.ok;
    const next: RemediationStep = {
      ...step,
      state: ok ? 'rolled_back' : 'rollback_failed',
      reason: ok ? `rollback: ${lastLine(result.output)}` : `rollback ${describeExit(result)}: ${lastLine(result.output)}`,
      output_tail: tail(`${step.output_tail}\n--- rollback\n${result.output}`),
    };
    current = replaceStep(current, next);
    await engine.persist(current);
  }
  return current;
}

/**
 * After a crash: a plan left `applying` or `verifying` is settled without running any apply
 * again. A step recorded `running` may or may not have acted: its verification decides (`done`
 * when its effect is in place, else `interrupted`); steps never started stay unapplied. Then every
 * applied step is verified: all in place → `resolved`; otherwise the applied steps are rolled back
 * → `rolled_back`. A plan still awaiting approval (or approved, not started) expires.
 */
export async function recoverPlan(plan: Remediation, engine: Engine): Promise<Remediation> {
  if (plan.status === 'proposed' || plan.status === 'approved') {
    const current = {
      ...plan,
      status: 'expired' as const,
      reason: 'the coordinator stopped before the fix was applied; nothing ran',
      finished_at: stamp(engine),
      steps: plan.steps.map((s) => (s.state === 'pending' ? { ...s, state: 'skipped' as const, reason: 'coordinator restarted' } : s)),
    };
    await engine.persist(current);
    return current;
  }
  if (plan.status !== 'applying' && plan.status !== 'verifying') return plan;
  let current = plan;
  for (const step of plan.steps) {
    if (step.state === 'running') {
      const result = await runVerb(engine, step, 'verify');
      const acted = result.exitCode === REMEDY_EXIT.ok;
      current = replaceStep(current, {
        ...step,
        state: acted ? 'done' : 'interrupted',
        reason: `interrupted by a coordinator restart; ${acted ? 'its effect is in place' : 'its effect is not in place'}: ${lastLine(result.output)}`,
        finished_at: stamp(engine),
      });
    } else if (step.state === 'pending' && step.approved) {
      current = replaceStep(current, { ...step, state: 'skipped', reason: 'not started before the coordinator restarted; never run after it' });
    }
  }
  current = { ...current, status: 'verifying', applied_at: current.applied_at ?? stamp(engine) };
  await engine.persist(current);
  const applied = current.steps.filter((s) => s.state === 'done');
  const checks = applied.length ? await verifySteps({ ...current, steps: applied }, engine) : [{ name: 'applied steps', ok: false, detail: 'no step had acted before the restart' }];
  if (current.steps.some((s) => s.state === 'interrupted')) checks.push({ name: 'interrupted steps', ok: false, detail: 'a step was cut off before its effect was in place' });
  checks.push({ name: 'recovery', ok: true, detail: 'verified after a coordinator restart: the steps\' own checks only (no metric window)' });
  return finishPlan(current, checks, engine, 'rolled_back');
}

function describeExit(result: RemedyResult): string {
  if (result.exitCode === null) return `did not finish (${result.outcome})`;
  return `exit ${result.exitCode}`;
}

function lastLine(output: string): string {
  return output.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
}

/** For the approver: what the plan would do, one line per step. */
export function describeStep(step: RemediationStep): string {
  return `${step.id} [${step.risk}] ${step.action} ${step.args.join(' ')}: ${REMEDIES[step.action].label}`;
}
