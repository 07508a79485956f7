/**
 * The experiment runner end to end without a shared host: the victim is a real HTTP server in
 * this process, "killed" (its listener closed) and brought back by the incident's chaos
 * controller; the incident's evidence is the recorded service_kill bundle replayed in time; the
 * load is real undici traffic, the probes real requests, the report real Chromium. What only a
 * live host can show (SSH probes, chaos scripts, cleanup_all) is covered by sandbox.test.ts.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse, type TestSuites } from 'junit2json';
import { loadConfig } from '../../../src/config/index.js';
import { createCoordinator, type Coordinator } from '../../../src/coordinator.js';
import { OfflineEvidenceSource } from '../../../src/evidence/offline/offline-source.js';
import type { ChaosController } from '../../../src/incidents/chaos.js';
import type { OpenedTarget, TargetConnector } from '../../../src/incidents/incident-service.js';
import { Experiment } from '../../../src/experiments/schema.js';
import { createApp, startWebServer, type WebServer } from '../../../src/http/create-app.js';
import { createLogger } from '../../../src/logger.js';
import { EXAMPLES_DIR, tempDir } from '../../fixtures/paths.js';

/** The victim: answers 200 on /health until its listener is closed. */
class Victim {
  private server: Server | null = null;
  port = 0;

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get running(): boolean {
    return this.server !== null;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/health`;
  }
}

/** service_kill on the in-process victim: its listener closed, then opened again on the same port. */
class VictimKill implements ChaosController {
  readonly description = 'service_kill on the in-process victim';
  constructor(private readonly victim: Victim) {}
  async inject(): Promise<string> {
    await this.victim.stop();
    return 'victim listener closed';
  }
  async revert(): Promise<{ ok: boolean; detail: string }> {
    if (!this.victim.running) await this.victim.start();
    return { ok: true, detail: 'victim listening again' };
  }
}

/** Every incident on "local": the recorded service_kill evidence at 8x, the victim's own chaos. */
class LocalConnector implements TargetConnector {
  constructor(private readonly victim: Victim) {}
  async open(): Promise<OpenedTarget> {
    return {
      target: { kind: 'ssh', name: 'local', host: '127.0.0.1', port: 22, user: 'test' },
      source: new OfflineEvidenceSource(path.join(EXAMPLES_DIR, 'service_kill'), { replaySpeed: 8 }),
      chaos: new VictimKill(this.victim),
    };
  }
}

describe('experiment runner on an in-process victim', () => {
  const victim = new Victim();
  let coordinator: Coordinator;
  let web: WebServer;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    await victim.start();
    const temp = await tempDir('experiment-runner');
    cleanup = temp.cleanup;
    const targetsFile = path.join(temp.dir, 'targets.json');
    await writeFile(targetsFile, JSON.stringify({ targets: [{ name: 'local', host: '127.0.0.1', port: 22, user: 'test', key: 'none' }] }));
    const config = loadConfig({
      CHAOS_INCIDENTS_DIR: path.join(temp.dir, 'incidents'),
      CHAOS_EXPERIMENTS_DIR: path.join(temp.dir, 'experiments'),
      CHAOS_STATE_DIR: path.join(temp.dir, 'state'),
      CHAOS_TARGETS_FILE: targetsFile,
      CHAOS_LOG_LEVEL: 'silent',
    });
    coordinator = await createCoordinator(config, createLogger('silent'), { connector: new LocalConnector(victim) });
    const app = createApp({ incidents: coordinator.incidents, store: coordinator.store, log: createLogger('silent'), maxBodyBytes: 65_536, version: 'test', experiments: coordinator.experiments });
    web = await startWebServer(app, 0, '127.0.0.1');
  }, 30_000);
  afterAll(async () => {
    await web?.stop();
    await coordinator?.close();
    await victim.stop();
    await cleanup?.();
  });

  const experiment = (patch: Record<string, unknown>) =>
    Experiment.parse({
      title: 'Killing the victim',
      targets: ['local'],
      steady_state: [{ name: 'health', type: 'http', url: victim.url, expect_status: 200, requests: 2, timeout_ms: 500 }],
      load: { url: victim.url, rps: 50, timeout_ms: 500 },
      method: [{ type: 'inject', scenario: 'service_kill' }, { type: 'wait', seconds: 2 }, { type: 'probe', name: 'health' }],
      ...patch,
    });

  it('when the experiment runs three times after a baseline run, then each run has its incident, figures and verdict, and the outputs say the same', async () => {
    const { done } = await coordinator.experiments.start(experiment({ runs: 3, settle_s: 0, compare_to: 'baseline' }));
    const summary = await done;
    expect(summary).toMatchObject({ status: 'completed', aggregate: { runs: 3, all_held: true, detection_rate: 1, diagnosis_accuracy: 1 } });
    expect(summary.baseline).toMatchObject({ kind: 'baseline', incident_id: null, held: true, steady_state: { during: { met: true } } });
    for (const run of summary.runs) {
      expect(run).toMatchObject({ kind: 'experiment', held: true, incident_status: 'completed', mttd_source: expect.stringMatching(/^(incident_timings|trace)$/), mttr_source: expect.stringMatching(/^(incident_timings|trace)$/) });
      expect(run.diagnosis).toMatchObject({ expected_category: 'service_down', category: 'service_down', culprit: 'victim-api', matched: true });
      // The probe step during the fault found the victim down; the load saw it too.
      expect(run.steady_state.during).toMatchObject({ met: false });
      expect(run.change!.error_rate_pp).toBeGreaterThan(50);
      expect(run.anomaly_windows.some((w) => w.severity === 'high')).toBe(true);
      expect(run.mttr_s).toBeGreaterThan(0);
      const record = await coordinator.store.loadRecord(run.incident_id!);
      expect(record.experiment).toEqual({ id: summary.experiment_id, run: run.run });
      // And over HTTP, where the dashboard and scripts read it.
      const status = (await (await fetch(`${web.url}/status/${run.incident_id}`)).json()) as { experiment: unknown };
      expect(status.experiment).toEqual({ id: summary.experiment_id, run: run.run });
    }
    expect(summary.aggregate!.mttr_s.p50).not.toBeNull();
    expect(summary.incidents).toHaveLength(3);

    const store = coordinator.experiments.store;
    const junit = (await parse((await store.readOutput(summary.experiment_id, 'junit.xml')).toString())) as TestSuites;
    expect(junit.testsuite!.map((s) => s.name)).toEqual(['baseline (no fault)', 'run 1', 'run 2', 'run 3']);
    expect(junit.failures).toBe(0);
    const csv = (await store.readOutput(summary.experiment_id, 'load.csv')).toString().trim().split('\n');
    expect(csv[0]).toBe('timestamp,latency_ms,ok,status,error');
    expect(csv.some((l) => l.endsWith(',false,,ECONNREFUSED'))).toBe(true);
    const names = (await store.listOutputs(summary.experiment_id)).map((o) => o.name);
    expect(names).toEqual(expect.arrayContaining(['summary.json', 'experiment.yaml', 'events.jsonl', 'runs.csv', 'runs.json', 'report.md', 'charts/throughput.svg', 'charts/compare-throughput.svg']));
    // The report states the verdict it belongs to, not the "running" of the moment it was written.
    expect((await store.readOutput(summary.experiment_id, 'report.md')).toString()).toContain('status **completed**');
    const events = await store.readEvents(summary.experiment_id);
    expect(events.map((e) => e.step)).toEqual(expect.arrayContaining(['steady_state_before', 'inject', 'probe', 'incident', 'steady_state_after', 'run_done', 'done']));
  }, 90_000);

  it('when the probe stays out of tolerance past its safeguard, then the incident is stopped within the window, its revert runs and the run is not held', async () => {
    const leaveForS = 1;
    const { done } = await coordinator.experiments.start(
      experiment({ runs: 1, method: [{ type: 'inject', scenario: 'service_kill' }, { type: 'wait', seconds: 30 }], safeguards: [{ probe: 'health', leave_for_s: leaveForS }] }),
    );
    const started = Date.now();
    const summary = await done;
    const [run] = summary.runs;
    expect(run!.safeguard).toMatchObject({ probe: 'health' });
    expect(run!.safeguard!.out_for_s).toBeGreaterThanOrEqual(leaveForS);
    expect(run!.safeguard!.out_for_s).toBeLessThan(leaveForS + 2);
    expect((Date.parse(run!.safeguard!.at) - Date.parse(run!.fault.injected_at!)) / 1000).toBeLessThan(leaveForS + 2);
    // The method's 30 s wait was cut short.
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(run).toMatchObject({ held: false, incident_status: 'aborted', steady_state: { after: { met: true } } });
    expect((await coordinator.store.loadRecord(run!.incident_id!)).chaos.state).toBe('reverted');
    expect(victim.running).toBe(true);
    expect(summary.aggregate!.all_held).toBe(false);
  }, 60_000);

  it('when everything is halted while a fault is in place, then the experiment stops, its incident is reverted and its outputs are still written', async () => {
    const { summary: started, done } = await coordinator.experiments.start(experiment({ runs: 2, method: [{ type: 'inject', scenario: 'service_kill' }, { type: 'wait', seconds: 60 }] }));
    const id = started.experiment_id;
    await new Promise<void>((resolve) => {
      const unsubscribe = coordinator.experiments.subscribe(
        id,
        (event) => {
          if (event.step === 'inject' && event.message.startsWith('fault in place')) {
            unsubscribe();
            resolve();
          }
        },
        () => resolve(),
      );
    });
    const halted = await coordinator.incidents.halt();
    expect(halted).toHaveLength(1);
    const summary = await done;
    expect(summary.status).toBe('aborted');
    expect(summary.error).toMatch(/halted by request/);
    // The stopped run keeps its figures: its incident, the fault's window, not held.
    expect(summary.runs).toHaveLength(1);
    expect(summary.runs[0]).toMatchObject({ run: 1, held: false, error: expect.stringMatching(/^stopped: halted by request/) });
    const [incident] = summary.incidents;
    expect(summary.runs[0]!.incident_id).toBe(incident);
    const record = await coordinator.store.loadRecord(incident!);
    expect(record).toMatchObject({ status: 'aborted', chaos: { state: 'reverted' } });
    expect(victim.running).toBe(true);
    const names = (await coordinator.experiments.store.listOutputs(id)).map((o) => o.name);
    expect(names).toEqual(expect.arrayContaining(['summary.json', 'junit.xml', 'report.md', 'load.csv']));
    const report = (await coordinator.experiments.store.readOutput(id, 'report.md')).toString();
    expect(report).toContain('status **aborted**');
    expect(report).toMatch(/The experiment aborted: .*halted by request/);
  }, 60_000);
});
