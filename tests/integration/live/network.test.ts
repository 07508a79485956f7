import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../fixtures/paths.js';
import { ensureSandbox, onSandbox, SANDBOX } from '../../fixtures/sandbox.js';
import { startTestServer, waitForIncident, type TestServer } from '../../fixtures/coordinator.js';

const run = promisify(execFile);

/** The sandbox host's network namespace and its one interface (scripts/sandbox/lib.sh). */
const NS = 'chsbx';
const IFACE = 'eth0';
/** What the victim's users fetch: ~5 KB, so a throttled link shows in their response times. */
const VICTIM_URL = `http://${SANDBOX.address}:8080/items?limit=200`;

function tc(...args: string[]) {
  return run('ip', ['netns', 'exec', NS, 'tc', ...args], { timeout: 10_000 });
}

/**
 * Misconfigures the sandbox's interface the way a wrong shaping rule would: everything leaving
 * eth0 goes through a 32 kbit/s token bucket, except SSH (TCP port 22), which is classified
 * around it so the coordinator can still reach the host. The kernel has no prio qdisc, so the
 * classifying root is an htb whose two classes are far faster than the link; the tbf under the
 * default class is the fault.
 */
async function throttleSandboxLink(): Promise<void> {
  await tc('qdisc', 'add', 'dev', IFACE, 'root', 'handle', '1:', 'htb', 'default', '2');
  for (const id of ['1:1', '1:2']) await tc('class', 'add', 'dev', IFACE, 'parent', '1:', 'classid', id, 'htb', 'rate', '1gbit', 'quantum', '1514');
  for (const dir of ['sport', 'dport']) {
    await tc('filter', 'add', 'dev', IFACE, 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'protocol', '6', '0xff', 'match', 'ip', dir, '22', '0xffff', 'flowid', '1:1');
  }
  await tc('qdisc', 'add', 'dev', IFACE, 'parent', '1:2', 'handle', '20:', 'tbf', 'rate', '32kbit', 'burst', '1600', 'latency', '100ms');
}

/** Deletes whatever root qdisc the test put on eth0; the interface is back to its default. */
async function restoreSandboxLink(): Promise<string> {
  await tc('qdisc', 'del', 'dev', IFACE, 'root').catch(() => undefined);
  return (await tc('qdisc', 'show', 'dev', IFACE, 'root')).stdout.trim();
}

/** One request as the victim's users make it: milliseconds, or null when it failed or took over 4 s. */
async function userRequest(): Promise<number | null> {
  const t0 = performance.now();
  try {
    const res = await fetch(VICTIM_URL, { signal: AbortSignal.timeout(4000) });
    await res.arrayBuffer();
    return res.ok ? performance.now() - t0 : null;
  } catch {
    return null;
  }
}

/** The victim's users: a few clients requesting in a loop until stopped, as real traffic would. */
function startUsers(clients: number) {
  let stopped = false;
  const results: (number | null)[] = [];
  const loops = Array.from({ length: clients }, async () => {
    while (!stopped) {
      results.push(await userRequest());
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  return {
    results,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/**
 * The qdisc counters this diagnosis rests on come from the host's snapshot.py: a sandbox
 * provisioned from an older checkout is re-provisioned (up.sh is idempotent and keeps it running).
 */
async function ensureCurrentCollectors(): Promise<void> {
  const local = createHash('sha256').update(await readFile(path.join(REPO_ROOT, 'chaos-scripts/collect/snapshot.py'))).digest('hex');
  const installed = (await onSandbox('sha256sum /opt/chaos-scripts/collect/snapshot.py')).stdout.split(' ')[0];
  if (installed !== local) await run('bash', [path.join(REPO_ROOT, 'scripts/sandbox/up.sh')], { cwd: REPO_ROOT, timeout: 600_000 });
}

/** Waits (at most 60 s) until three user requests in a row are answered within a second. */
async function victimServesAgain(): Promise<void> {
  const deadline = Date.now() + 60_000;
  let inARow = 0;
  while (inARow < 3) {
    if (Date.now() > deadline) throw new Error(`the victim did not serve its users again within 60 s of the throttle's removal (${VICTIM_URL})`);
    const ms = await userRequest();
    inARow = ms !== null && ms < 1000 ? inARow + 1 : 0;
    if (inARow < 3) await new Promise((r) => setTimeout(r, 500));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

type RootCause = { category: string; confidence: number; culprit: { kind: string; name: string; detail?: string } | null; evidence: { kind: string; ref: string; detail: string }[] };

/**
 * A real network fault on the sandbox, diagnosed by `investigate`: no chaos script runs, the test
 * itself throttles the host's link, and the coordinator has to find out why from the evidence.
 */
describe('a throttled network link on the sandbox host, investigated live', () => {
  let server: TestServer;
  beforeAll(async () => {
    const sandbox = await ensureSandbox();
    await ensureCurrentCollectors();
    // A leftover from an interrupted run would be mistaken for the fault (or refuse the add).
    expect(await restoreSandboxLink()).toMatch(/^qdisc noqueue 0: /);
    server = await startTestServer({ CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false' });
  }, 660_000);
  afterAll(async () => {
    await restoreSandboxLink();
    await server?.stop();
  });

  async function investigate(): Promise<{ status: Record<string, unknown>; rootCause: RootCause }> {
    const res = await fetch(`${server.url}/start_incident`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ scenario: 'investigate', target_vm: { name: 'sandbox' }, options: { baseline_s: 6, observe_s: 10 } }),
    });
    expect(res.status).toBe(202);
    const { incident_id } = (await res.json()) as { incident_id: string };
    const status = await waitForIncident(server.url, incident_id, {}, 120_000);
    const fix = (await (await fetch(`${server.url}/incidents/${incident_id}/artifacts/fix_suggestion.json`)).json()) as { root_cause: RootCause };
    return { status, rootCause: fix.root_cause };
  }

  it('when the link carries a 32 kbit/s token bucket for everything but SSH, then investigate names network_degradation on eth0 from the qdisc and its drops', async () => {
    const healthy = (await Promise.all([userRequest(), userRequest(), userRequest()])).filter((v): v is number => v !== null);
    expect(healthy).toHaveLength(3);

    let users: ReturnType<typeof startUsers> | undefined;
    try {
      await throttleSandboxLink();
      users = startUsers(3);
      const { status, rootCause } = await investigate();
      await users.stop();

      // The fault is real: the victim's users waited seconds for what took milliseconds, or gave up.
      const answered = users.results.filter((v): v is number => v !== null);
      expect(users.results.length).toBeGreaterThanOrEqual(6);
      expect(answered.length < users.results.length / 2 || median(answered) > 10 * median(healthy) + 500).toBe(true);

      expect(status).toMatchObject({ status: 'completed', outcome: { category: 'network_degradation' }, chaos: { state: 'not_applicable' } });
      expect(rootCause).toMatchObject({ category: 'network_degradation', culprit: { kind: 'interface', name: IFACE } });
      expect(rootCause.culprit?.detail).toMatch(/^tbf qdisc: .*"rate":4000/);
      expect(rootCause.confidence).toBeGreaterThanOrEqual(0.6);
      // It rests on the shaper found on eth0 and on that shaper's own drop counters.
      expect(rootCause.evidence).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'qdisc', ref: `qdisc:${IFACE}` }),
          expect.objectContaining({ kind: 'qdisc', ref: `qdisc:${IFACE}:stats`, detail: expect.stringMatching(/^tbf on eth0 dropped [1-9]\d* of \d+ packets/) }),
        ]),
      );
    } finally {
      await users?.stop();
      expect(await restoreSandboxLink()).toMatch(/^qdisc noqueue 0: /);
    }
  }, 150_000);

  it('when the throttle is removed, then investigate finds the host healthy again', async () => {
    expect(await restoreSandboxLink()).toMatch(/^qdisc noqueue 0: /);
    // The aftermath first: requests the throttle held up are still being retransmitted or failed
    // by the victim for a while. "Healthy again" is claimed once its users are served again.
    await victimServesAgain();
    const { status, rootCause } = await investigate();
    expect(status).toMatchObject({ status: 'completed', chaos: { state: 'not_applicable' } });
    // The whole root cause, so a failure shows the evidence it rested on.
    expect(rootCause).toMatchObject({ category: 'healthy' });
  }, 120_000);
});
