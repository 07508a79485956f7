import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../../fixtures/paths.js';
import { ensureSandbox, onSandbox } from '../../fixtures/sandbox.js';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';
import { decide, ensureRemediationScripts, finished, getRemediation, lastRun, startIncident, waitForProposal } from './harness.js';

/**
 * The policy file (CHAOS_POLICY_FILE) on the sandbox host: low-risk steps of the listed actions
 * run without a person, a high-risk one waits for a person, and at most one remediation of the
 * sandbox per hour. The tests run in order: the first auto-apply takes the hour's only slot.
 */
const POLICY = `version: 1
targets:
  sandbox:
    auto_apply:
      actions: [raise_limit, free_path]
      risks: [low]
    max_per_hour: 1
`;

/** Investigations are short: the fault is there before they begin, and the limit is absolute. */
const INVESTIGATE = { baseline_s: 3, observe_s: 5, verify_s: 15, remediation: 'auto' };

/**
 * A process at its open-files limit, made by the test on the sandbox (as the login user): a soft
 * limit of 64 (the hard one as the login has it), then it opens /dev/null until EMFILE and sleeps.
 * Its argv[0] is `fd-hog`.
 */
async function startFdHog(): Promise<{ pid: number; hard: string; nofile: () => Promise<string>; stop: () => Promise<void> }> {
  const program = 'import os, time\nfds = []\ntry:\n    while True: fds.append(os.open("/dev/null", os.O_RDONLY))\nexcept OSError:\n    pass\ntime.sleep(300)';
  const started = await onSandbox(`ulimit -Sn 64; setsid nohup bash -c 'exec -a fd-hog python3 -c "$1"' fd-hog '${program}' </dev/null >/dev/null 2>&1 & echo $!`);
  const pid = Number(started.stdout.trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`the fd hog did not start: ${started.stdout}`);
  const nofile = async () => (await onSandbox(`awk '/^Max open files/ { print $4 ":" $5 }' /proc/${pid}/limits`)).stdout.trim();
  const hard = (await onSandbox('ulimit -Hn')).stdout.trim();
  // At its limit before the investigation begins.
  for (let i = 0; i < 50; i++) {
    if (Number((await onSandbox(`ls /proc/${pid}/fd | wc -l`)).stdout.trim()) >= 64) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid, hard, nofile, stop: async () => void (await onSandbox(`kill ${pid} 2>/dev/null || true`)) };
}

const remediateLogLines = async () => Number((await onSandbox('wc -l < /var/log/chaos-remediate.log 2>/dev/null || echo 0')).stdout.trim());

describe('the remediation policy file on the sandbox host', () => {
  let server: TestServer;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const sandbox = await ensureSandbox();
    await ensureRemediationScripts();
    const dir = await tempDir('policy');
    cleanup = dir.cleanup;
    const file = path.join(dir.dir, 'policy.yaml');
    await writeFile(file, POLICY);
    server = await startTestServer({ CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false', CHAOS_POLICY_FILE: file });
  }, 660_000);
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
    await onSandbox('sudo -n /opt/chaos-scripts/cleanup_all.sh');
  });

  it('when a process is at its open-files limit, then the policy auto-applies the low-risk raise_limit and the limit is raised in place', async () => {
    const hog = await startFdHog();
    try {
      expect(await hog.nofile()).toBe(`64:${hog.hard}`);
      const id = await startIncident(server.url, 'investigate', INVESTIGATE);
      const status = await finished(server.url, id);
      const { remediation } = await getRemediation(server.url, id);
      if (remediation?.status !== 'resolved') throw new Error(`remediation ${remediation?.status}: ${JSON.stringify({ outcome: status.outcome, reason: remediation?.reason, steps: remediation?.steps, verification: remediation?.verification })}`);
      expect(status).toMatchObject({ outcome: { category: 'resource_limit', culprit: 'fd-hog' } });
      expect(remediation).toMatchObject({
        approver: 'policy',
        steps: [{ action: 'raise_limit', risk: 'low', state: 'done', args: ['fd-hog', expect.stringMatching(new RegExp(`^${hog.pid}:\\d+$`)), '65536'] }],
        verification: { ok: true },
      });
      expect(remediation.steps[0]!.policy).toMatchObject({ verdict: 'auto' });
      // 65536 where root may raise the hard limit; else (no CAP_SYS_RESOURCE, as on this machine)
      // the soft limit up to the hard one, set as the process's own user.
      const raised = `(65536:65536|${Math.min(65536, Number(hog.hard))}:${hog.hard})`;
      expect(remediation.steps[0]!.output_tail).toMatch(new RegExp(`^open files limit of fd-hog \\(pid ${hog.pid}\\): 64:${hog.hard} -> ${raised}`));
      // The same process, still running, with the larger limit: no restart was needed.
      expect(await hog.nofile()).toMatch(new RegExp(`^${raised}$`));
      const audit = (await (await fetch(`${server.url}/incidents/${id}/audit`)).json()) as { entries: { actor: string; action: string }[] };
      expect(audit.entries.map((e) => `${e.actor} ${e.action}`)).toEqual(expect.arrayContaining(['policy approved', 'coordinator step_applied', 'coordinator verification_passed']));
      expect(status.timings).toMatchObject({ approved_at: expect.any(String), mitigated_at: expect.any(String), recovered_at: expect.any(String) });
    } finally {
      await hog.stop();
    }
  }, 180_000);

  it('when the fix is a high-risk step, then the policy does not auto-apply it: it waits for a person, and nothing runs until then', async () => {
    const logBefore = await remediateLogLines();
    const id = await startIncident(server.url, 'disk_fill', { size_mb: 700, remediation: 'auto', recovery_s: 0 });
    const proposed = await waitForProposal(server.url, id);
    expect(proposed.remediation).toMatchObject({ status: 'proposed', approver: null });
    expect(proposed.remediation!.steps).toEqual([expect.objectContaining({ action: 'free_path', risk: 'high', state: 'pending', policy: expect.objectContaining({ verdict: 'needs_approval', reason: expect.stringMatching(/does not auto-apply high-risk steps$/) }) })]);
    // The fill is still there, and no remediation script has run.
    expect(JSON.parse((await onSandbox('sudo -n /opt/chaos-scripts/disk_fill.sh status')).stdout)).toMatchObject({ state: 'running' });
    expect(await remediateLogLines()).toBe(logBefore);
    expect((await decide(server.url, id, 'reject', { approver: 'judy', reason: 'not without a look at the files' })).status).toBe(200);
    const status = await finished(server.url, id);
    expect(status).toMatchObject({ chaos: { state: 'reverted' } });
    expect((await getRemediation(server.url, id)).remediation).toMatchObject({ status: 'rejected', rejected_by: 'judy', applied_at: null });
    expect(await lastRun('disk_fill')).toMatch(/stop requested$/);
  }, 180_000);

  it('when a second low-risk fix comes within the hour, then the rate limit keeps the policy from applying it', async () => {
    const hog = await startFdHog();
    try {
      const logBefore = await remediateLogLines();
      const id = await startIncident(server.url, 'investigate', INVESTIGATE);
      const status = await finished(server.url, id);
      const { remediation } = await getRemediation(server.url, id);
      expect(status).toMatchObject({ outcome: { category: 'resource_limit', culprit: 'fd-hog' } });
      // The policy would auto-apply it; the hour's one remediation of the sandbox is taken.
      expect(remediation).toMatchObject({ status: 'failed', applied_at: null, steps: [{ action: 'raise_limit', started_at: null, policy: { verdict: 'auto' } }] });
      expect(remediation!.reason).toBe('rate limit: the policy allows no more remediations of sandbox this hour');
      expect(await hog.nofile()).toBe(`64:${hog.hard}`);
      // Only the plan's pin looked at the process; nothing was applied.
      expect(await remediateLogLines()).toBe(logBefore);
    } finally {
      await hog.stop();
    }
  }, 180_000);
});
