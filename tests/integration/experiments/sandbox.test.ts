/**
 * Experiments on the sandbox host through the real HTTP API, SSH, chaos scripts, load and
 * Chromium (run under the live lock: flock /tmp/chaos-live.lock). One experiment repeated with
 * short windows writes every output; a safeguard aborts a run within its tolerance window and
 * the host is clean afterwards. Two runs, not the example's three: a second run on a host that
 * just recovered is what repetition adds (settle, a new incident, each linked); three runs and
 * their statistics are the in-process runner test's (local-runner.test.ts), and every example
 * with runs: 3 is `npm run bench -- --only experiments`. Budget: about 2 minutes.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, type TestSuites } from 'junit2json';
import { parseExperiment } from '../../../src/experiments/parse.js';
import type { ExperimentSummary } from '../../../src/experiments/result-schema.js';
import { REPO_ROOT } from '../../fixtures/paths.js';
import { ensureSandbox, onSandbox } from '../../fixtures/sandbox.js';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';

const API = 'http://10.213.7.2:8080/health';

describe('experiments on the sandbox host', () => {
  let server: TestServer;
  beforeAll(async () => {
    const sandbox = await ensureSandbox();
    server = await startTestServer({ CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir });
  }, 660_000);
  afterAll(async () => {
    await server?.stop();
    await onSandbox('sudo -n /opt/chaos-scripts/cleanup_all.sh');
  });

  async function runExperiment(body: unknown, timeoutMs: number): Promise<ExperimentSummary> {
    const res = await fetch(`${server.url}/experiments`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(202);
    const { experiment_id } = (await res.json()) as { experiment_id: string };
    // The SSE feed ends when the experiment does: no polling.
    const events = await fetch(`${server.url}/experiments/${experiment_id}/events`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await events.text();
    expect(text).toContain('event: end');
    return (await (await fetch(`${server.url}/experiments/${experiment_id}`)).json()) as ExperimentSummary;
  }

  it('when the service_kill example runs twice under load, then every run is linked to its incident and every output is written', async () => {
    // The example as a user runs it, with fewer runs and a shorter settle to stay within the budget.
    const example = parseExperiment(await readFile(path.join(REPO_ROOT, 'examples', 'experiments', 'service_kill.yaml'), 'utf8'), 'service_kill.yaml');
    const runs = 2;
    const summary = await runExperiment({ ...example, runs, settle_s: 1 }, 170_000);
    expect(summary).toMatchObject({ status: 'completed', aggregate: { runs } });
    expect(summary.runs).toHaveLength(runs);
    for (const run of summary.runs) {
      expect(run.incident_id).toMatch(/^inc-/);
      expect(run.steady_state.before.met).toBe(true);
      expect(run.fault.injected_at).not.toBeNull();
      expect(run.load?.during?.requests).toBeGreaterThan(0);
      // Linked both ways: the incident names its experiment and run.
      const status = (await (await fetch(`${server.url}/status/${run.incident_id}`)).json()) as { experiment?: unknown; options: unknown; status: string };
      expect(status.status).toBe('completed');
      const record = JSON.parse(await readFile(path.join(server.incidentsDir, run.incident_id!, 'incident.json'), 'utf8')) as { experiment: unknown };
      expect(record.experiment).toEqual({ id: summary.experiment_id, run: run.run });
    }
    const files = (await (await fetch(`${server.url}/experiments/${summary.experiment_id}/files`)).json()) as { files: { name: string }[] };
    expect(files.files.map((f) => f.name)).toEqual(expect.arrayContaining(['summary.json', 'experiment.yaml', 'events.jsonl', 'load.csv', 'runs.csv', 'runs.json', 'junit.xml', 'report.md', 'report.pdf', 'charts/throughput.svg']));
    const junit = (await parse(await (await fetch(`${server.url}/experiments/${summary.experiment_id}/files/junit.xml`)).text())) as TestSuites;
    expect(junit.testsuite).toHaveLength(runs);
    expect(junit.tests).toBe(runs * (1 + example.steady_state.length));
    const csv = await (await fetch(`${server.url}/experiments/${summary.experiment_id}/files/load.csv`)).text();
    expect(csv.split('\n')[0]).toBe('timestamp,latency_ms,ok,status,error');
    expect(csv.trim().split('\n').length).toBeGreaterThan(example.load!.rps * 30);
    for (const run of summary.runs) expect(run.diagnosis).toMatchObject({ category: 'service_down', culprit: 'victim-api', matched: true });
    const check = await onSandbox('sudo -n /opt/chaos-scripts/service_kill.sh status');
    expect(JSON.parse(check.stdout)).toMatchObject({ state: 'stopped' });
  }, 180_000);

  it('when a probe leaves its tolerance longer than its safeguard allows, then the run is aborted within that window and the host is clean', async () => {
    const leaveForS = 2;
    const summary = await runExperiment(
      {
        title: 'Killing the API trips the safeguard',
        targets: ['sandbox'],
        steady_state: [{ name: 'api-health', type: 'http', url: API, expect_status: 200, requests: 1, timeout_ms: 1000 }],
        load: { url: API, rps: 10 },
        method: [{ type: 'inject', scenario: 'service_kill', args: { service_name: 'victim-api' } }, { type: 'wait', seconds: 20 }],
        safeguards: [{ probe: 'api-health', leave_for_s: leaveForS }],
        runs: 1,
      },
      120_000,
    );
    const [run] = summary.runs;
    expect(run!.safeguard).toMatchObject({ probe: 'api-health' });
    // Tripped once out of tolerance for leave_for_s, at most one probe interval (and one probe) later.
    expect(run!.safeguard!.out_for_s).toBeGreaterThanOrEqual(leaveForS);
    expect(run!.safeguard!.out_for_s).toBeLessThan(leaveForS + 2.5);
    // The abort came long before the method's 20 s wait would have ended.
    const trippedAfter = (Date.parse(run!.safeguard!.at) - Date.parse(run!.fault.injected_at!)) / 1000;
    expect(trippedAfter).toBeLessThan(leaveForS + 4);
    expect(run!.held).toBe(false);
    expect(run!.incident_status).toBe('aborted');
    expect(summary.aggregate?.all_held).toBe(false);
    const incident = (await (await fetch(`${server.url}/status/${run!.incident_id}`)).json()) as { chaos: { state: string } };
    expect(incident.chaos.state).toBe('reverted');
    // Clean: the service answers again and the chaos script reports nothing running.
    expect(run!.steady_state.after.met).toBe(true);
    expect((await fetch(API)).status).toBe(200);
    const check = await onSandbox('sudo -n /opt/chaos-scripts/service_kill.sh status');
    expect(JSON.parse(check.stdout)).toMatchObject({ state: 'stopped' });
  }, 120_000);
});
