import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, waitForIncident, type TestServer } from '../../fixtures/coordinator.js';
import { ensureSandbox, onSandbox } from '../../fixtures/sandbox.js';

/** What the test fills: the sandbox's /tmp is a 1 GB filesystem of its own. */
const FILL = '/tmp/watch-test-fill';
/** The leaking process the test starts on the sandbox, as `ps` names it. */
const LEAKER = 'watch-leaker';
/**
 * Grows to 450 MB 25 MB at a time (written, so resident) over some 4-5 s, so that the watch's
 * samples a second apart see a climb, then holds it idle; it ends by itself after a minute
 * should the test's kill never come.
 */
const LEAK_PROGRAM = 'import time\nheld = []\nfor _ in range(18):\n    held.append(b"\\x01" * (25 << 20))\n    time.sleep(0.15)\ntime.sleep(60)\n';

type WatchView = { state: string; samples: number; detections: { detected_at: string; first_out_at: string; breaches: string[]; incident_id: string | null; error: string | null }[] };

async function poll<T>(what: string, timeoutMs: number, check: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Watch mode against the real sandbox: the test fills its /tmp as a runaway job would (no chaos
 * script, no incident asked for); the watch must notice by itself and open the investigation.
 */
describe('watch mode on the sandbox host', () => {
  let server: TestServer;
  /** The leaker's pid while it may be running. */
  let leakerPid: number | null = null;
  const killLeaker = async () => {
    if (leakerPid === null) return;
    await onSandbox(`kill -KILL ${leakerPid} 2>/dev/null; true`);
    leakerPid = null;
  };
  beforeAll(async () => {
    const sandbox = await ensureSandbox();
    await onSandbox(`rm -f ${FILL}`);
    server = await startTestServer({ CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false' });
  }, 660_000);
  afterAll(async () => {
    await killLeaker();
    await onSandbox(`rm -f ${FILL}`);
    await server?.stop();
  });

  it('when /tmp fills up while watched, then one investigate incident opens by itself with its detection time, diagnosed disk_full on /tmp', async () => {
    const started = await fetch(`${server.url}/targets/sandbox/watch`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ interval_s: 1, consecutive: 3, cooldown_s: 600 }) });
    expect(started.status).toBe(201);
    const watch = async () => (await (await fetch(`${server.url}/targets/sandbox/watch`)).json()) as WatchView;
    // A few samples in band first: without a reference, they are the watch's normal.
    await poll('three samples', 30_000, async () => ((await watch()).samples >= 3 ? true : null));
    expect((await watch()).detections).toEqual([]);

    const faultAt = Date.now();
    try {
      const filled = await onSandbox(`fallocate -l 900M ${FILL} && df -P /tmp | tail -1`);
      expect(filled.code).toBe(0);
      const detection = await poll('the watch to open an investigation', 30_000, async () => (await watch()).detections.find((d) => d.incident_id !== null) ?? null);
      const mttdS = (Date.parse(detection.detected_at) - faultAt) / 1000;
      expect(mttdS).toBeGreaterThan(0);
      expect(mttdS).toBeLessThan(20);
      expect(detection.breaches).toEqual(expect.arrayContaining([expect.stringMatching(/^\/tmp 9\d(\.\d)?% full/)]));

      const status = await waitForIncident(server.url, detection.incident_id!, {}, 90_000);
      expect(status).toMatchObject({ status: 'completed', scenario: 'investigate', outcome: { category: 'disk_full', culprit: expect.stringContaining('/tmp') } });
      const record = JSON.parse(await readFile(path.join(server.incidentsDir, detection.incident_id!, 'incident.json'), 'utf8')) as { trigger: string; detected_at: string };
      expect(record).toMatchObject({ trigger: 'watch', detected_at: detection.detected_at });
      const report = await readFile(path.join(server.incidentsDir, detection.incident_id!, 'report.md'), 'utf8');
      expect(report).toContain(`| Opened by | watch mode: the host left its known-good band; detected ${detection.detected_at} |`);
    } finally {
      await onSandbox(`rm -f ${FILL}`);
    }
    // Still out of band until the file went, but within the cooldown: one incident only.
    expect((await readdir(server.incidentsDir)).filter((n) => n.startsWith('inc-'))).toHaveLength(1);

    const stopped = await fetch(`${server.url}/targets/sandbox/watch`, { method: 'DELETE' });
    expect(await stopped.json()).toMatchObject({ state: 'stopped' });
    const list = (await (await fetch(`${server.url}/watches`)).json()) as { watches: WatchView[] };
    expect(list.watches).toEqual([expect.objectContaining({ target: 'sandbox', state: 'stopped' })]);
  }, 150_000);

  it('when a process leaks 450 MB and then holds it while watched, then the investigation gets the climb from the watch and says memory_pressure naming that process', async () => {
    const started = await fetch(`${server.url}/targets/sandbox/watch`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ interval_s: 1, consecutive: 3, cooldown_s: 600 }) });
    expect(started.status).toBe(201);
    const watch = async () => (await (await fetch(`${server.url}/targets/sandbox/watch`)).json()) as WatchView;
    // The host in band first: the baseline the watch will hand over.
    await poll('three samples', 30_000, async () => ((await watch()).samples >= 3 ? true : null));
    const before = (await readdir(server.incidentsDir)).filter((n) => n.startsWith('inc-'));
    try {
      const spawned = await onSandbox(`setsid nohup bash -c 'exec -a ${LEAKER} python3 -c "$1"' ${LEAKER} '${LEAK_PROGRAM}' </dev/null >/dev/null 2>&1 & echo $!`);
      expect(spawned.code).toBe(0);
      leakerPid = Number(spawned.stdout.trim());
      expect(leakerPid).toBeGreaterThan(1);
      const detection = await poll('the watch to open an investigation', 30_000, async () => (await watch()).detections.find((d) => d.incident_id !== null) ?? null);
      expect(detection.breaches).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${LEAKER} \\(pid ${leakerPid}\\) grew by \\d+ MB`))]));

      const id = detection.incident_id!;
      const status = await waitForIncident(server.url, id, {}, 60_000);
      expect(status).toMatchObject({ status: 'completed', scenario: 'investigate', outcome: { category: 'memory_pressure', culprit: LEAKER } });
      const folder = path.join(server.incidentsDir, id);
      const fix = JSON.parse(await readFile(path.join(folder, 'fix_suggestion.json'), 'utf8')) as { root_cause: { culprit: { pid: number } } };
      expect(fix.root_cause.culprit.pid).toBe(leakerPid);

      // Where the climb came from: the trace says so, and the recorded bundle keeps the watch's samples.
      const trace = JSON.parse(await readFile(path.join(folder, 'trace.json'), 'utf8')) as { content: { summary?: string; prior?: { baseline: { samples: number }; incident: { samples: number; since: string } } } }[];
      const handed = trace.find((e) => e.content.summary?.startsWith('this investigation includes '))?.content.prior;
      expect(handed?.baseline.samples).toBeGreaterThanOrEqual(2);
      expect(handed?.incident.samples).toBeGreaterThanOrEqual(3);
      const samples = (await readFile(path.join(folder, 'bundle', 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { t: string; phase: string; top: { pid: number; rss_mb: number }[] });
      const times = samples.map((s) => Date.parse(s.t));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(samples.filter((s) => s.phase === 'baseline')).toHaveLength(handed!.baseline.samples);
      expect(samples.filter((s) => s.phase === 'baseline').every((s) => !s.top.some((p) => p.pid === leakerPid))).toBe(true);
      const climb = samples.filter((s) => s.phase === 'incident').flatMap((s) => s.top.filter((p) => p.pid === leakerPid).map((p) => p.rss_mb));
      expect(Math.max(...climb) - climb[0]!).toBeGreaterThan(256);

      // The fault's start estimated from the watch's samples: an MTTD for an incident nobody injected.
      const record = JSON.parse(await readFile(path.join(folder, 'incident.json'), 'utf8')) as { timings: { fault_started_at: string; fault_start_source: string; mttd_s: number } };
      expect(record.timings.fault_start_source).toBe('estimated');
      expect(Date.parse(record.timings.fault_started_at)).toBeLessThanOrEqual(Date.parse(detection.first_out_at));
      expect(record.timings.mttd_s).toBeGreaterThan(0);
      expect(record.timings.mttd_s).toBeLessThan(20);
    } finally {
      await killLeaker();
      await fetch(`${server.url}/targets/sandbox/watch`, { method: 'DELETE' });
    }
    expect((await readdir(server.incidentsDir)).filter((n) => n.startsWith('inc-') && !before.includes(n))).toHaveLength(1);
  }, 60_000);

  it('when the coordinator restarts while watching, then the new one watches the sandbox again by itself', async () => {
    const sandbox = await ensureSandbox();
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'chaos-watch-restart-'));
    const env = { CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false', CHAOS_STATE_DIR: stateDir };
    let second: TestServer | undefined;
    try {
      const first = await startTestServer(env);
      const started = await fetch(`${first.url}/targets/sandbox/watch`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ interval_s: 1, cooldown_s: 900 }) });
      expect(started.status).toBe(201);
      const { started_at: startedAt } = (await started.json()) as { started_at: string };
      await first.stop();

      second = await startTestServer(env);
      const url = second.url;
      const resumed = await poll('the watch to resume', 30_000, async () => {
        const view = (await (await fetch(`${url}/targets/sandbox/watch`)).json()) as WatchView & { started_at: string; options: { cooldown_s: number } };
        return view.state === 'watching' && view.samples >= 1 ? view : null;
      });
      expect(resumed).toMatchObject({ started_at: startedAt, options: { interval_s: 1, cooldown_s: 900 } });
    } finally {
      await second?.stop();
      await rm(stateDir, { recursive: true, force: true });
    }
  }, 90_000);
});
