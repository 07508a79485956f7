import { ensureSandbox, onSandbox } from '../../fixtures/sandbox.js';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';
import { decide, ensureRemediationScripts, finished, getRemediation, lastRun, startIncident, waitForProposal } from './harness.js';

/**
 * Closed loop on the sandbox host (SPEC §10): inject, diagnose, approve through the API, apply,
 * verify. The chaos is never reverted by the coordinator first: the fix has to end the fault.
 */
describe('approval-gated remediation on the sandbox host', () => {
  let server: TestServer;
  beforeAll(async () => {
    const sandbox = await ensureSandbox();
    await ensureRemediationScripts();
    server = await startTestServer({ CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false' });
  }, 660_000);
  afterAll(async () => {
    await server?.stop();
    await onSandbox('sudo -n /opt/chaos-scripts/cleanup_all.sh');
  });

  it('when a CPU runaway is approved through the API, then the fix stops it, the verification passes and the chaos script never had to stop it', async () => {
    const id = await startIncident(server.url, 'cpu_spike', { duration: 120, load: 2, remediation: 'approve' });
    const proposed = await waitForProposal(server.url, id);
    expect(proposed.remediation).toMatchObject({ status: 'proposed', steps: [{ id: 's1', action: 'stop_process', risk: 'medium', state: 'pending' }] });
    // Pinned when proposed: every pid carries its start time.
    expect(proposed.remediation!.steps[0]!.args.slice(1).every((a) => /^\d+:\d+$/.test(a))).toBe(true);

    const refused = await decide(server.url, id, 'approve', { approver: '' });
    expect(refused.status).toBe(400);
    const approved = await decide(server.url, id, 'approve', { approver: 'alice' });
    expect(approved.status).toBe(200);

    const status = await finished(server.url, id);
    const { remediation } = await getRemediation(server.url, id);
    // A failure shows what the verification saw.
    if (remediation?.status !== 'resolved') throw new Error(`remediation ${remediation?.status}: ${JSON.stringify({ steps: remediation?.steps, verification: remediation?.verification })}`);
    expect(remediation).toMatchObject({ status: 'resolved', approver: 'alice', steps: [{ state: 'done' }], verification: { ok: true }, chaos_cleanup: { ran: false } });
    expect(status).toMatchObject({ status: 'completed', outcome: { category: 'cpu_saturation' }, chaos: { state: 'reverted' } });
    expect(status.timings).toMatchObject({ approved_at: expect.any(String), mitigated_at: expect.any(String), recovered_at: expect.any(String) });
    // The host ended the run itself once the fault's processes were gone: its stop never ran.
    expect(await lastRun('cpu_spike')).toMatch(/watchdog: fault process ended/);
  }, 240_000);

  it('when a killed service is approved through the API, then the fix starts it again and the verification passes before the chaos script cleans up its holder', async () => {
    const id = await startIncident(server.url, 'service_kill', { service_name: 'victim-api', remediation: 'approve' });
    const proposed = await waitForProposal(server.url, id);
    expect(proposed.remediation!.steps).toEqual([expect.objectContaining({ id: 's1', action: 'restart_service', args: ['victim-api'], risk: 'medium' })]);
    expect((await decide(server.url, id, 'approve', { approver: 'bob', steps: ['s1'] })).status).toBe(200);
    // A second decision finds nothing awaiting one.
    expect((await decide(server.url, id, 'reject', { approver: 'carol' })).status).toBe(409);

    const status = await finished(server.url, id);
    const { remediation } = await getRemediation(server.url, id);
    if (remediation?.status !== 'resolved') throw new Error(`remediation ${remediation?.status}: ${JSON.stringify({ steps: remediation?.steps, verification: remediation?.verification })}`);
    expect(remediation.steps[0]!.output_tail).toMatch(/victim-api was stopped; start/);
    expect(status).toMatchObject({ status: 'completed', outcome: { category: 'service_down', culprit: 'victim-api' } });
    // The holder of a host-change fault outlives the fix: its stop ran only after the verification passed.
    expect(remediation.chaos_cleanup).toMatchObject({ ran: true });
    expect(Date.parse(remediation.chaos_cleanup!.at)).toBeGreaterThan(Date.parse(remediation.finished_at!));
    expect(await lastRun('service_kill')).toMatch(/stop requested/);
  }, 240_000);
});
