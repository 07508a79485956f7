import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureSandbox } from '../../fixtures/sandbox.js';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';
import { decide, ensureRemediationScripts, finished, getRemediation, waitForProposal } from './harness.js';

const run = promisify(execFile);
const NS = 'chsbx';
const IFACE = 'eth0';

function tc(...args: string[]) {
  return run('ip', ['netns', 'exec', NS, 'tc', ...args], { timeout: 10_000 });
}

/**
 * A wrong shaping rule on the sandbox's link (this kernel has no netem, so no net_latency
 * script): an htb root whose default class feeds a 32 kbit/s token bucket, SSH classified
 * around it (as tests/integration/live/network.test.ts builds it).
 */
async function throttle(): Promise<void> {
  await tc('qdisc', 'add', 'dev', IFACE, 'root', 'handle', '1:', 'htb', 'default', '2');
  for (const id of ['1:1', '1:2']) await tc('class', 'add', 'dev', IFACE, 'parent', '1:', 'classid', id, 'htb', 'rate', '1gbit', 'quantum', '1514');
  for (const dir of ['sport', 'dport']) {
    await tc('filter', 'add', 'dev', IFACE, 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'protocol', '6', '0xff', 'match', 'ip', dir, '22', '0xffff', 'flowid', '1:1');
  }
  await tc('qdisc', 'add', 'dev', IFACE, 'parent', '1:2', 'handle', '20:', 'tbf', 'rate', '32kbit', 'burst', '1600', 'latency', '100ms');
}

/** The victim's users: requests in a loop (4 s timeout each), so the throttle shows in the evidence. */
function startUsers(clients: number) {
  let stopped = false;
  const loops = Array.from({ length: clients }, async () => {
    while (!stopped) {
      await fetch('http://10.213.7.2:8080/items?limit=200', { signal: AbortSignal.timeout(4000) })
        .then((r) => r.arrayBuffer())
        .catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  return async () => {
    stopped = true;
    await Promise.all(loops);
  };
}

async function rootQdisc(): Promise<string> {
  return (await tc('qdisc', 'show', 'dev', IFACE, 'root')).stdout.trim();
}

let server: TestServer;

describe('a throttled link fixed by an approved remediation', () => {
  beforeAll(async () => {
    const sandbox = await ensureSandbox();
    await ensureRemediationScripts();
    await tc('qdisc', 'del', 'dev', IFACE, 'root').catch(() => undefined);
    server = await startTestServer({ CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false' });
  }, 660_000);
  afterAll(async () => {
    await tc('qdisc', 'del', 'dev', IFACE, 'root').catch(() => undefined);
    await server?.stop();
  });

  it('when investigate finds the shaping qdisc and the removal is approved, then the qdisc is gone because of the fix and the verification passes', async () => {
    await throttle();
    const stopUsers = startUsers(3);
    try {
      await fixedByApproval();
    } finally {
      await stopUsers();
    }
  }, 240_000);
});

async function fixedByApproval(): Promise<void> {
    const res = await fetch(`${server.url}/start_incident`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ scenario: 'investigate', target_vm: { name: 'sandbox' }, options: { baseline_s: 6, observe_s: 10, remediation: 'approve', verify_s: 40 } }),
    });
    expect(res.status).toBe(202);
    const { incident_id: id } = (await res.json()) as { incident_id: string };
    const proposed = await waitForProposal(server.url, id);
    expect(proposed.remediation!.steps).toEqual([expect.objectContaining({ action: 'remove_qdisc', risk: 'low', args: [IFACE, 'tbf'] })]);
    // Nothing but the fix touches the link: the qdisc is still there until the approval.
    expect(await rootQdisc()).toMatch(/^qdisc htb 1: /);
    expect((await decide(server.url, id, 'approve', { approver: 'grace' })).status).toBe(200);
    const status = await finished(server.url, id);
    const { remediation } = await getRemediation(server.url, id);
    if (remediation?.status !== 'resolved') throw new Error(`remediation ${remediation?.status}: ${JSON.stringify({ steps: remediation?.steps, verification: remediation?.verification })}`);
    expect(remediation.steps[0]!.output_tail).toMatch(/tree before removal:\nqdisc htb 1: root/);
    expect(status).toMatchObject({ outcome: { category: 'network_degradation', culprit: IFACE }, chaos: { state: 'not_applicable' } });
    expect(await rootQdisc()).toMatch(/^qdisc noqueue 0: /);
}
