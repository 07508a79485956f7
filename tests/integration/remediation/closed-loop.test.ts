import { spawn } from 'node:child_process';
import { runCli } from '../../../src/cli/run-cli.js';
import { ensureSandbox, onSandbox } from '../../fixtures/sandbox.js';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';
import { decide, ensureRemediationScripts, finished, getRemediation, lastRun, rootOnSandboxArgv, sandboxSql, startIncident, waitForProposal } from './harness.js';

/**
 * Closed loop on the sandbox host (SPEC §10): inject, diagnose, approve through the API, apply,
 * verify. The chaos is never reverted by the coordinator first: the fix has to end the fault.
 */
describe('approval-gated remediation on the sandbox host', () => {
  let server: TestServer;
  beforeAll(async () => {
    const sandbox = await ensureSandbox();
    await ensureRemediationScripts();
    // A short lease: a closed loop holds its fault through the approval only by renewing it
    // (db_conn_exhaust's start alone takes longer than this).
    server = await startTestServer({ CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false', CHAOS_LEASE_S: '10' });
  }, 660_000);
  afterAll(async () => {
    await server?.stop();
    await onSandbox('sudo -n /opt/chaos-scripts/cleanup_all.sh');
  });

  it('when a filled disk is approved through the API with its high-risk step listed, then the fix frees it and the verification passes before the chaos script cleans up its holder', async () => {
    const id = await startIncident(server.url, 'disk_fill', { size_mb: 700, remediation: 'approve' });
    const proposed = await waitForProposal(server.url, id);
    expect(proposed.remediation!.steps).toEqual([expect.objectContaining({ id: 's1', action: 'free_path', risk: 'high', state: 'pending' })]);
    expect((await decide(server.url, id, 'approve', { approver: '' })).status).toBe(400);
    // Deleting files is high risk: an approval without the step listed is refused.
    const unlisted = await decide(server.url, id, 'approve', { approver: 'alice' });
    expect(unlisted.status).toBe(400);
    expect(await unlisted.text()).toMatch(/high-risk steps need their own approval/);
    expect((await decide(server.url, id, 'approve', { approver: 'alice', steps: ['s1'] })).status).toBe(200);

    const status = await finished(server.url, id);
    const { remediation } = await getRemediation(server.url, id);
    if (remediation?.status !== 'resolved') throw new Error(`remediation ${remediation?.status}: ${JSON.stringify({ steps: remediation?.steps, verification: remediation?.verification })}`);
    expect(remediation).toMatchObject({ approver: 'alice', steps: [{ state: 'done' }], verification: { ok: true } });
    expect(remediation.steps[0]!.output_tail).toMatch(/deleted \/tmp\/chaos_fill\/chaos_fill_0001\.bin/);
    // The postmortem says what the closed loop did.
    expect(await (await fetch(`${server.url}/report/${id}`)).text()).toMatch(/## Remediation\n\nStatus: \*\*resolved\*\*, approved by alice[\s\S]*Verification \(within 25 s of the fix\): \*\*passed\*\*/);
    expect(status).toMatchObject({ status: 'completed', outcome: { category: 'disk_full' }, chaos: { state: 'reverted' } });
    expect(status.timings).toMatchObject({ approved_at: expect.any(String), mitigated_at: expect.any(String), recovered_at: expect.any(String) });
    // The fill's holder outlives the fix: its stop ran only after the verification had passed.
    expect(remediation.chaos_cleanup).toMatchObject({ ran: true });
    expect(Date.parse(remediation.chaos_cleanup!.at)).toBeGreaterThan(Date.parse(remediation.finished_at!));
  }, 240_000);

  it('when PostgreSQL connections are exhausted and the plan is approved, then the fix terminates the application\'s sessions but never a superuser\'s, and the fault held until the fix', async () => {
    // A superuser session under the same application_name: the fix must leave it alone.
    const [file, ...args] = await rootOnSandboxArgv(['runuser', '-u', 'postgres', '--', 'env', 'PGAPPNAME=report-batch', 'psql', '-X', '-q', '-p', '5432', '-d', 'postgres', '-c', 'SELECT pg_sleep(300)']);
    const superuser = spawn(file!, args, { stdio: 'ignore' });
    const superuserPid = async () => (await sandboxSql("SELECT pid FROM pg_stat_activity WHERE application_name = 'report-batch' AND usename = 'postgres' AND query LIKE 'SELECT pg_sleep%'")).trim();
    try {
      const started = Date.now();
      while (!(await superuserPid()) && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 200));
      const held = await superuserPid();
      expect(held).toMatch(/^\d+$/);

      const id = await startIncident(server.url, 'db_conn_exhaust', { clients: 60, remediation: 'approve' });
      const proposed = await waitForProposal(server.url, id);
      expect(proposed.remediation!.steps).toEqual([expect.objectContaining({ id: 's1', action: 'terminate_db_backends', risk: 'medium', args: ['report-batch'], state: 'pending' })]);
      // Until the approval the fault holds: its run is still leased on the host, its clients connected.
      const before = JSON.parse((await onSandbox('sudo -n /opt/chaos-scripts/db_conn_exhaust.sh status')).stdout) as { state: string; lease_expires_at: string; detail: string };
      expect(before).toMatchObject({ state: 'running', detail: expect.stringMatching(/^\d+\/60 clients connected/) });
      expect(Date.parse(before.lease_expires_at)).toBeGreaterThan(Date.now());
      expect((await decide(server.url, id, 'approve', { approver: 'heidi' })).status).toBe(200);

      const status = await finished(server.url, id);
      const { remediation } = await getRemediation(server.url, id);
      if (remediation?.status !== 'resolved') throw new Error(`remediation ${remediation?.status}: ${JSON.stringify({ steps: remediation?.steps, verification: remediation?.verification, chaos: status.chaos })}`);
      expect(remediation).toMatchObject({ approver: 'heidi', steps: [{ state: 'done' }], verification: { ok: true } });
      expect(remediation.steps[0]!.output_tail).toMatch(/^terminated [1-9]\d* session\(s\) of application report-batch/);
      // The fix ended the fault: its clients went with their sessions, the host watchdog tidied up
      // after them, and the chaos script's stop never ran.
      expect(remediation.chaos_cleanup).toMatchObject({ ran: false });
      expect(await lastRun('db_conn_exhaust')).toMatch(/watchdog: fault process ended$/);
      expect(status).toMatchObject({ outcome: { category: 'db_connection_exhaustion', culprit: 'report-batch' }, chaos: { state: 'reverted' } });
      expect(status.timings).toMatchObject({ approved_at: expect.any(String), mitigated_at: expect.any(String), recovered_at: expect.any(String), mttr_s: expect.any(Number) });
      // The superuser's session of the same application is still there.
      expect(await superuserPid()).toBe(held);
    } finally {
      await sandboxSql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'report-batch' AND usename = 'postgres' AND query LIKE 'SELECT pg_sleep%'").catch(() => '');
      await new Promise((r) => (superuser.exitCode === null ? superuser.once('exit', r) : r(null)));
    }
  }, 240_000);

  it('when a memory leak is approved, then the fix stops the leaking process pinned by pid and start time, and the fault held until the fix', async () => {
    const id = await startIncident(server.url, 'memory_leak', { target_mb: 3000, duration: 60, remediation: 'approve' });
    const proposed = await waitForProposal(server.url, id);
    const leak = JSON.parse((await onSandbox('sudo -n /opt/chaos-scripts/memory_leak.sh status')).stdout) as { state: string; pid: number };
    expect(leak).toMatchObject({ state: 'running', pid: expect.any(Number) });
    // One step, aimed at the leaking process alone (never the victim-api's python3), pinned to its start time.
    expect(proposed.remediation!.steps).toEqual([expect.objectContaining({ id: 's1', action: 'stop_process', risk: 'medium', state: 'pending', args: ['python3', expect.stringMatching(new RegExp(`^${leak.pid}:\\d+$`))] })]);
    expect((await decide(server.url, id, 'approve', { approver: 'ivan' })).status).toBe(200);

    const status = await finished(server.url, id);
    const { remediation } = await getRemediation(server.url, id);
    if (remediation?.status !== 'resolved') throw new Error(`remediation ${remediation?.status}: ${JSON.stringify({ outcome: status.outcome, steps: remediation?.steps, verification: remediation?.verification, chaos: status.chaos })}`);
    expect(remediation).toMatchObject({ approver: 'ivan', steps: [{ state: 'done' }], verification: { ok: true } });
    expect(remediation.steps[0]!.output_tail).toMatch(new RegExp(`^stopping pid ${leak.pid} \\(python3, started at tick \\d+\\): python3 /opt/chaos-scripts/lib/memory_leak\\.py`));
    expect(remediation.chaos_cleanup).toMatchObject({ ran: false });
    expect(await lastRun('memory_leak')).toMatch(/watchdog: fault process ended$/);
    expect(status).toMatchObject({ outcome: { category: 'memory_pressure', culprit: 'python3' }, chaos: { state: 'reverted' } });
    expect(status.timings).toMatchObject({ mitigated_at: expect.any(String), recovered_at: expect.any(String), mttr_s: expect.any(Number) });
    // The victim's own python3 served on throughout.
    expect((await fetch('http://10.213.7.2:8080/health', { signal: AbortSignal.timeout(5000) })).status).toBe(200);
  }, 240_000);

  it('when the plan is rejected, then no remediation step runs on the host and the chaos is reverted as usual', async () => {
    const before = (await onSandbox('wc -l < /var/log/chaos-remediate.log 2>/dev/null || echo 0')).stdout.trim();
    // recovery_s 0: how fast the service comes back after the script's stop is not what this case is about.
    const id = await startIncident(server.url, 'service_kill', { service_name: 'victim-api', remediation: 'approve', recovery_s: 0 });
    await waitForProposal(server.url, id);
    expect((await decide(server.url, id, 'reject', { approver: 'dave', reason: 'not during the demo' })).status).toBe(200);
    const status = await finished(server.url, id);
    const { remediation } = await getRemediation(server.url, id);
    expect(remediation).toMatchObject({ status: 'rejected', rejected_by: 'dave', applied_at: null, steps: [{ state: 'skipped', started_at: null }] });
    expect(status).toMatchObject({ chaos: { state: 'reverted' } });
    expect((await onSandbox('wc -l < /var/log/chaos-remediate.log 2>/dev/null || echo 0')).stdout.trim()).toBe(before);
    expect(await lastRun('service_kill')).toMatch(/stop requested/);
  }, 240_000);

  it('when the verification does not pass within verify_s, then the applied step is rolled back and the remediation failed with evidence', async () => {
    // One second after the fix holds too few samples to show the filesystem back in its band:
    // the verification fails whatever the fix did. Pre-approved from the start (high risk included).
    const id = await startIncident(server.url, 'disk_fill', { size_mb: 700, remediation: 'auto', approver: 'erin', approve_high_risk: true, verify_s: 1 });
    const status = await finished(server.url, id);
    const { remediation } = await getRemediation(server.url, id);
    expect(remediation).toMatchObject({ status: 'failed', approver: 'erin', verification: { ok: false }, steps: [{ action: 'free_path', state: 'rolled_back' }] });
    expect(remediation!.reason).toMatch(/^verification failed: metrics: only \d sample\(s\) within 1 s of the fix/);
    // The rollback ran and said what it could undo.
    expect(remediation!.steps[0]!.output_tail).toMatch(/--- rollback\nnothing to roll back: deleted files cannot be restored/);
    expect(status).toMatchObject({ chaos: { state: 'reverted' } });
  }, 240_000);

  it('when the plan is approved with the CLI, then the fix is applied as through the API', async () => {
    const id = await startIncident(server.url, 'service_kill', { service_name: 'victim-api', remediation: 'approve' });
    await waitForProposal(server.url, id);
    const out: string[] = [];
    const err: string[] = [];
    const cli = (args: string[]) => runCli(args, {}, { write: (t: string) => out.push(t) }, { write: (t: string) => err.push(t) });
    expect(await cli(['approve', id, '--url', server.url])).toBe(2);
    expect(err.join('')).toMatch(/--approver NAME is required/);
    expect(await cli(['approve', id, '--approver', 'frank', '--steps', 's1', '--url', server.url])).toBe(0);
    expect(out.join('')).toMatch(/Remediation approved by frank\n {2}s1 \[medium\] restart_service victim-api: pending \(approved\)/);
    await finished(server.url, id);
    const { remediation } = await getRemediation(server.url, id);
    expect(remediation).toMatchObject({ status: 'resolved', approver: 'frank', steps: [{ state: 'done' }] });
    // Nothing awaits a decision any more: the CLI says so and fails.
    expect(await cli(['reject', id, '--approver', 'frank', '--url', server.url])).toBe(1);
    expect(err.join('')).toMatch(/409: .*no remediation awaiting a decision/);
  }, 240_000);
});
