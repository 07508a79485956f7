import type { FixAction } from '../../../src/agents/findings.js';
import type { Remediation, RemedyAction } from '../../../src/domain/index.js';
import { ApprovalDesk } from '../../../src/remediation/approval-desk.js';
import { runRemediation, type RemediationContext, type RemediationServices } from '../../../src/remediation/closed-loop.js';
import type { RemediationHost, RemedyResult, RemedyVerb } from '../../../src/remediation/host.js';

class FakeHost implements RemediationHost {
  readonly label = 'fake';
  readonly calls: string[] = [];
  async run(action: RemedyAction, verb: RemedyVerb, args: readonly string[]): Promise<RemedyResult> {
    this.calls.push(`${action}:${verb}`);
    return { outcome: 'exited', exitCode: 0, output: verb === 'pin' ? `PIN ${args[1]}:77` : `${verb} ok` };
  }
}

const lowRisk: FixAction[] = [{ description: 'Remove the tbf', command: 'tc', rollback: 're-add', remedy: { action: 'remove_qdisc', args: ['eth0', 'tbf'] } }];

function context(overrides: Partial<RemediationContext> & { services: RemediationServices }): { ctx: RemediationContext; host: FakeHost; saved: Remediation[] } {
  const host = new FakeHost();
  const saved: Remediation[] = [];
  const ctx: RemediationContext = {
    incidentId: 'inc-20261201-000000-aaaaaaaaaa',
    target: 'sandbox',
    options: { remediation: 'approve', verify_s: 5, approval_timeout_s: 600 },
    actions: lowRisk,
    host,
    save: async (p) => void saved.push(p),
    trace: async () => undefined,
    verifyHealth: async () => [{ name: 'metrics', ok: true, detail: 'back in band' }],
    signal: new AbortController().signal,
    ...overrides,
  };
  return { ctx, host, saved };
}

describe('the closed loop', () => {
  it('when the policy lets every step auto-apply, then it is approved by the policy, applied and resolved without a person', async () => {
    const audit: string[] = [];
    const { ctx, host } = context({
      options: { remediation: 'auto', verify_s: 5, approval_timeout_s: 600 },
      services: { desk: new ApprovalDesk(), decide: (_t, step) => (step.risk === 'low' ? { verdict: 'auto', reason: 'low risk auto-applies on sandbox' } : { verdict: 'needs_approval', reason: 'ask' }), audit: async (_id, e) => void audit.push(`${e.actor} ${e.action}`) },
    });
    const plan = await runRemediation(ctx);
    expect(plan).toMatchObject({ status: 'resolved', approver: 'policy' });
    expect(host.calls).toEqual(['remove_qdisc:apply', 'remove_qdisc:verify']);
    expect(audit).toEqual(['policy approved', 'coordinator step_applied', 'coordinator verification_passed']);
  });

  it('when a step needs a person, then the plan waits at the desk and the approval there applies it', async () => {
    const desk = new ApprovalDesk();
    const { ctx } = context({ services: { desk } });
    const running = runRemediation(ctx);
    while (!desk.isWaiting(ctx.incidentId)) await new Promise((r) => setTimeout(r, 1));
    await expect(desk.submit(ctx.incidentId, { kind: 'approve', approver: '' })).rejects.toThrow(/approver is required/);
    expect((await desk.submit(ctx.incidentId, { kind: 'approve', approver: 'alice' })).status).toBe('approved');
    await expect(desk.submit(ctx.incidentId, { kind: 'reject', by: 'bob' })).rejects.toThrow(/no remediation awaiting a decision/);
    expect(await running).toMatchObject({ status: 'resolved', approver: 'alice' });
  });

  it('when nobody decides before the plan expires, then it is expired and nothing runs', async () => {
    // 50 ms: the API's minimum is 10 s, the mechanism is the same.
    const { ctx, host } = context({ options: { remediation: 'approve', verify_s: 5, approval_timeout_s: 0.05 }, services: { desk: new ApprovalDesk() } });
    expect(await runRemediation(ctx)).toMatchObject({ status: 'expired' });
    expect(host.calls).toEqual([]);
    expect(ctx.services.desk.isWaiting(ctx.incidentId)).toBe(false);
  });

  it("when the target's hourly limit is reached, then an approved plan is not applied", async () => {
    const { ctx, host } = context({ options: { remediation: 'auto', approver: 'ops-bot', verify_s: 5, approval_timeout_s: 600 }, services: { desk: new ApprovalDesk(), take: () => false } });
    const plan = await runRemediation(ctx);
    expect(plan).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^rate limit/) });
    expect(host.calls).toEqual([]);
  });

  it('when the fix has no runnable step, then there is no remediation', async () => {
    const { ctx } = context({ actions: [{ description: 'Look', command: 'uptime', rollback: 'Read-only' }], services: { desk: new ApprovalDesk() } });
    expect(await runRemediation(ctx)).toBeNull();
  });
});
