import type { FixAction } from '../../../src/agents/findings.js';
import type { Remediation, RemedyAction } from '../../../src/domain/index.js';
import { applyPlan, finishPlan, recoverPlan, verifySteps } from '../../../src/remediation/engine.js';
import type { RemediationHost, RemedyResult, RemedyVerb } from '../../../src/remediation/host.js';
import { buildPlan, pinPlan } from '../../../src/remediation/plan.js';
import { approvePlan } from '../../../src/remediation/state.js';

/** A host that answers each verb from a table and remembers every call. */
class FakeHost implements RemediationHost {
  readonly label = 'fake';
  readonly calls: string[] = [];
  constructor(private readonly answers: Partial<Record<`${RemedyAction}:${RemedyVerb}`, RemedyResult>> = {}) {}
  async run(action: RemedyAction, verb: RemedyVerb, args: readonly string[]): Promise<RemedyResult> {
    this.calls.push(`${action}:${verb} ${args.join(' ')}`);
    return this.answers[`${action}:${verb}`] ?? { outcome: 'exited', exitCode: 0, output: `${verb} ok` };
  }
}

const ok = (output: string): RemedyResult => ({ outcome: 'exited', exitCode: 0, output });
const code = (exitCode: number, output: string): RemedyResult => ({ outcome: 'exited', exitCode, output });

const actions: FixAction[] = [
  { description: 'Stop it', command: 'kill', rollback: 'start it', remedy: { action: 'stop_process', args: ['stress-ng', '41', '42'] } },
  { description: 'Start victim-api', command: 'start', rollback: 'stop', remedy: { action: 'restart_service', args: ['victim-api'] } },
];

function approved(): Remediation {
  const plan = buildPlan(actions, { now: new Date(), mode: 'approve', approvalTtlS: 600, verifyS: 20 });
  return approvePlan(plan, { approver: 'alice' }, new Date());
}

function recorder() {
  const saved: Remediation[] = [];
  return { saved, persist: async (p: Remediation) => void saved.push(structuredClone(p)) };
}

describe('pinning a plan', () => {
  it("when the host pins a process step, then its pids carry their start times; when the process is gone, then the step is skipped with the host's answer", async () => {
    const plan = buildPlan(actions, { now: new Date(), mode: 'approve', approvalTtlS: 600, verifyS: 20 });
    const pinned = await pinPlan(plan, new FakeHost({ 'stop_process:pin': ok('PIN 41:900 42:901') }));
    expect(pinned.steps[0]!.args).toEqual(['stress-ng', '41:900', '42:901']);
    const gone = await pinPlan(plan, new FakeHost({ 'stop_process:pin': code(5, 'no process named stress-ng among pids 41 42') }));
    expect(gone.steps[0]).toMatchObject({ state: 'skipped', reason: 'precondition failed when proposed: no process named stress-ng among pids 41 42' });
  });
});

describe('applying a plan', () => {
  it("when every step applies, then each step's state is saved before and after it runs and the plan is verifying", async () => {
    const host = new FakeHost();
    const { saved, persist } = recorder();
    const plan = await applyPlan(approved(), { host, persist });
    expect(plan.status).toBe('verifying');
    expect(host.calls).toEqual(['stop_process:apply stress-ng 41 42', 'restart_service:apply victim-api']);
    // Saved: applying, s1 running, s1 done, s2 running, s2 done, verifying.
    expect(saved.map((p) => `${p.status} ${p.steps.map((s) => s.state).join(',')}`)).toEqual([
      'applying pending,pending',
      'applying running,pending',
      'applying done,pending',
      'applying done,running',
      'applying done,done',
      'verifying done,done',
    ]);
  });

  it('when the precondition has gone at apply time, then the step is skipped, not failed, and the next step still runs', async () => {
    const host = new FakeHost({ 'stop_process:apply': code(5, 'precondition: none of 41 42 is still stress-ng') });
    const plan = await applyPlan(approved(), { host, persist: async () => undefined });
    expect(plan.steps.map((s) => s.state)).toEqual(['skipped', 'done']);
    expect(plan.steps[0]!.reason).toMatch(/precondition no longer held/);
  });

  it('when a step fails, then the steps after it do not run', async () => {
    const host = new FakeHost({ 'stop_process:apply': code(1, 'still running after SIGKILL') });
    const plan = await applyPlan(approved(), { host, persist: async () => undefined });
    expect(plan).toMatchObject({ status: 'failed' });
    expect(plan.steps.map((s) => s.state)).toEqual(['failed', 'skipped']);
    expect(host.calls).toEqual(['stop_process:apply stress-ng 41 42']);
  });
});

describe('verification and rollback', () => {
  it('when every check passes, then the plan is resolved', async () => {
    const host = new FakeHost();
    const plan = await applyPlan(approved(), { host, persist: async () => undefined });
    const checks = [...(await verifySteps(plan, { host, persist: async () => undefined })), { name: 'metrics', ok: true, detail: 'back in band' }];
    const done = await finishPlan(plan, checks, { host, persist: async () => undefined });
    expect(done).toMatchObject({ status: 'resolved', verification: { ok: true } });
  });

  it('when a check fails, then the applied steps are rolled back last first and the plan failed with the evidence', async () => {
    const host = new FakeHost({ 'restart_service:rollback': ok('rolled back: victim-api stopped again') });
    const plan = await applyPlan(approved(), { host, persist: async () => undefined });
    const done = await finishPlan(plan, [{ name: 'metrics', ok: false, detail: 'CPU still 99%' }], { host, persist: async () => undefined });
    expect(done).toMatchObject({ status: 'failed', reason: 'verification failed: metrics: CPU still 99%' });
    expect(host.calls.slice(-2)).toEqual(['restart_service:rollback victim-api', 'stop_process:rollback stress-ng 41 42']);
    expect(done.steps.map((s) => s.state)).toEqual(['rolled_back', 'rolled_back']);
  });
});

describe('recovery after a crash', () => {
  it('when a step was recorded running, then it is verified, never applied again, and the plan is settled', async () => {
    const crashed: Remediation = { ...approved(), status: 'applying' };
    crashed.steps = [{ ...crashed.steps[0]!, state: 'running', started_at: new Date().toISOString() }, crashed.steps[1]!];
    const host = new FakeHost();
    const settled = await recoverPlan(crashed, { host, persist: async () => undefined });
    expect(host.calls.some((c) => c.includes(':apply'))).toBe(false);
    expect(settled.steps.map((s) => s.state)).toEqual(['done', 'skipped']);
    expect(settled).toMatchObject({ status: 'resolved' });
  });

  it("when the interrupted step's effect is not in place, then the plan is rolled back", async () => {
    const crashed: Remediation = { ...approved(), status: 'applying' };
    crashed.steps = [{ ...crashed.steps[0]!, state: 'done' }, { ...crashed.steps[1]!, state: 'running' }];
    const host = new FakeHost({ 'restart_service:verify': code(6, 'victim-api is not running') });
    const settled = await recoverPlan(crashed, { host, persist: async () => undefined });
    expect(settled.status).toBe('rolled_back');
    expect(host.calls.filter((c) => c.includes(':apply'))).toEqual([]);
    expect(settled.steps.map((s) => s.state)).toEqual(['rolled_back', 'rolled_back']);
  });

  it('when the plan was still awaiting approval, then it expires and nothing runs', async () => {
    const host = new FakeHost();
    const proposed = buildPlan(actions, { now: new Date(), mode: 'approve', approvalTtlS: 600, verifyS: 20 });
    const settled = await recoverPlan(proposed, { host, persist: async () => undefined });
    expect(settled.status).toBe('expired');
    expect(host.calls).toEqual([]);
  });
});
