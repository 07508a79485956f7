import type { FixAction } from '../../../src/agents/findings.js';
import { ConflictError, InputError } from '../../../src/errors.js';
import type { Remediation } from '../../../src/domain/index.js';
import { buildPlan } from '../../../src/remediation/plan.js';
import { approvePlan, expirePlan, rejectPlan } from '../../../src/remediation/state.js';

const NOW = new Date('2026-12-01T00:00:00Z');
const later = (s: number) => new Date(NOW.getTime() + s * 1000);

const actions: FixAction[] = [
  { description: 'Check what fills /tmp', command: 'df -h /tmp', rollback: 'Read-only' },
  { description: 'Stop stress-ng', command: 'kill', rollback: 'start it', remedy: { action: 'stop_process', args: ['stress-ng', '41'] } },
  { description: 'Remove files', command: 'rm', rollback: 'none', remedy: { action: 'free_path', args: ['/tmp', '/tmp/a.bin'] } },
];

function plan(decide?: Parameters<typeof buildPlan>[1]['decide']): Remediation {
  return buildPlan(actions, { now: NOW, mode: 'approve', approvalTtlS: 60, verifyS: 20, ...(decide ? { decide } : {}) });
}

describe('the remediation plan', () => {
  it('when built from fix.sh actions, then each action with a remedy is one step in fix.sh order, read-only ones none', () => {
    const p = plan();
    expect(p).toMatchObject({ status: 'proposed', expires_at: '2026-12-01T00:01:00.000Z', verify_s: 20 });
    expect(p.steps.map((s) => [s.id, s.action, s.risk, s.state])).toEqual([
      ['s1', 'stop_process', 'medium', 'pending'],
      ['s2', 'free_path', 'high', 'pending'],
    ]);
    expect(p.steps[0]!.policy).toMatchObject({ verdict: 'needs_approval' });
  });

  it('when the policy denies a step, then it is skipped from the start and cannot be approved', () => {
    const p = plan((step) => (step.risk === 'high' ? { verdict: 'denied', reason: 'no deletes' } : { verdict: 'needs_approval', reason: 'ask' }));
    expect(p.steps[1]).toMatchObject({ state: 'skipped', reason: 'denied by the policy: no deletes' });
    expect(() => approvePlan(p, { approver: 'alice', steps: ['s2'] }, later(1))).toThrow(InputError);
  });
});

describe('approval transitions', () => {
  it('when approved without a step list, then every step but the high-risk ones is approved and the approver recorded', () => {
    const p = approvePlan(plan(), { approver: ' alice ' }, later(5));
    expect(p).toMatchObject({ status: 'approved', approver: 'alice', approved_at: later(5).toISOString() });
    expect(p.steps.map((s) => [s.id, s.approved, s.state])).toEqual([
      ['s1', true, 'pending'],
      ['s2', false, 'skipped'],
    ]);
    expect(p.steps[1]!.reason).toMatch(/high risk: needs its own approval/);
  });

  it('when a high-risk step is listed, then it gets its own approval', () => {
    const p = approvePlan(plan(), { approver: 'alice', steps: ['s2'] }, later(5));
    expect(p.steps.map((s) => [s.id, s.approved, s.state])).toEqual([
      ['s1', false, 'skipped'],
      ['s2', true, 'pending'],
    ]);
  });

  it('when only high-risk steps could run and none is listed, then the approval is refused, naming them', () => {
    const only = buildPlan([actions[2]!], { now: NOW, mode: 'approve', approvalTtlS: 60, verifyS: 20 });
    expect(() => approvePlan(only, { approver: 'alice' }, later(1))).toThrow(/list them in steps \(s1\)/);
  });

  it('when the approver is blank or a step unknown, then the error names the field', () => {
    expect(() => approvePlan(plan(), { approver: '  ' }, later(1))).toThrow(expect.objectContaining({ field: 'approver' }));
    expect(() => approvePlan(plan(), { approver: 'a', steps: ['s9'] }, later(1))).toThrow(/no step "s9" in this plan/);
  });

  it('when the plan has expired or was already decided, then a decision is a conflict', () => {
    expect(() => approvePlan(plan(), { approver: 'alice' }, later(60))).toThrow(ConflictError);
    const approved = approvePlan(plan(), { approver: 'alice' }, later(1));
    expect(() => approvePlan(approved, { approver: 'bob' }, later(2))).toThrow(ConflictError);
    expect(() => rejectPlan(approved, { by: 'bob' }, later(2))).toThrow(ConflictError);
  });

  it('when rejected or expired, then no step is left pending and the plan is finished', () => {
    const rejected = rejectPlan(plan(), { by: 'carol', reason: 'not now' }, later(3));
    expect(rejected).toMatchObject({ status: 'rejected', rejected_by: 'carol', reason: 'not now', finished_at: later(3).toISOString() });
    expect(rejected.steps.every((s) => s.state === 'skipped')).toBe(true);
    const expired = expirePlan(plan(), later(61));
    expect(expired).toMatchObject({ status: 'expired' });
    expect(expired.steps.every((s) => s.state === 'skipped' && s.reason === 'plan expired')).toBe(true);
  });
});
