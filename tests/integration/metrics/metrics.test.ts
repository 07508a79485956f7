import { sshCommandOutcome } from '../../../src/observability/index.js';
import { parsePrometheus, sampleValue, type PromSample } from '../../fixtures/prometheus.js';
import { startTestServer, waitForIncident, type TestServer } from '../../fixtures/coordinator.js';

const AGENTS = ['LogAgent', 'MetricsAgent', 'FixerAgent', 'TesterAgent', 'ReporterAgent'];

async function scrape(server: TestServer, headers: Record<string, string> = {}): Promise<PromSample[]> {
  const res = await fetch(`${server.url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

async function start(server: TestServer, body: unknown): Promise<string> {
  const res = await fetch(`${server.url}/start_incident`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { incident_id: string }).incident_id;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('GET /metrics (Prometheus, one registry per app)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('when the coordinator has just started, then the series and the default process metrics are exposed', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of ['chaos_incidents_started_total', 'chaos_incidents_finished_total', 'chaos_incidents_running', 'chaos_agent_duration_seconds', 'chaos_ssh_commands_total', 'chaos_ssh_command_duration_seconds', 'chaos_report_render_seconds']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    const samples = parsePrometheus(text);
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
    expect(sampleValue(samples, 'chaos_incidents_running', { phase: 'agents' })).toBe(0);
  });

  it('when an offline incident completes, then started, finished, agent durations and report render time move', async () => {
    const before = await scrape(server);
    const id = await start(server, { scenario: 'cpu_spike', options: { offline: true } });
    await waitForIncident(server.url, id);
    const after = await scrape(server);
    const delta = (name: string, labels: Record<string, string>) => sampleValue(after, name, labels) - sampleValue(before, name, labels);

    expect(delta('chaos_incidents_started_total', { scenario: 'cpu_spike', target_kind: 'offline' })).toBe(1);
    expect(delta('chaos_incidents_finished_total', { scenario: 'cpu_spike', status: 'completed', category: 'cpu_saturation' })).toBe(1);
    for (const agent of AGENTS) {
      expect([agent, delta('chaos_agent_duration_seconds_count', { agent, state: 'succeeded' })]).toEqual([agent, 1]);
    }
    expect(delta('chaos_agent_duration_seconds_sum', { agent: 'ReporterAgent', state: 'succeeded' })).toBeGreaterThan(0);
    expect(delta('chaos_report_render_seconds_count', { format: 'pdf', outcome: 'ok' })).toBe(1);
    expect(delta('chaos_report_render_seconds_sum', { format: 'pdf', outcome: 'ok' })).toBeGreaterThan(0);
    expect(after.filter((s) => s.name === 'chaos_incidents_running').map((s) => s.value)).toEqual(expect.arrayContaining([0]));
    expect(after.filter((s) => s.name === 'chaos_incidents_running' && s.value !== 0)).toEqual([]);
  });

  it('when an incident is running, then the running gauge counts it in its phase, and a stop counts it as aborted', async () => {
    const before = await scrape(server);
    // 2x real time: the recorded 19 s baseline takes ~10 s, far longer than this test needs.
    const id = await start(server, { scenario: 'memory_leak', options: { offline: true, replay_speed: 2 } });
    const during = await until(async () => {
      const samples = await scrape(server);
      return sampleValue(samples, 'chaos_incidents_running', { phase: 'baseline' }) === 1 ? samples : undefined;
    });
    expect(during.filter((s) => s.name === 'chaos_incidents_running').reduce((sum, s) => sum + s.value, 0)).toBe(1);

    const stop = await fetch(`${server.url}/incidents/${id}/stop`, { method: 'POST' });
    expect(((await stop.json()) as { status: string }).status).toBe('aborted');
    const after = await scrape(server);
    expect(sampleValue(after, 'chaos_incidents_finished_total', { scenario: 'memory_leak', status: 'aborted', category: 'none' }) - sampleValue(before, 'chaos_incidents_finished_total', { scenario: 'memory_leak', status: 'aborted', category: 'none' })).toBe(1);
    expect(after.filter((s) => s.name === 'chaos_incidents_running' && s.value !== 0)).toEqual([]);
  });

  it('when the SSH layer records commands through the observer, then they are counted by host and outcome', async () => {
    server.metrics.recordSshCommand({ host: '10.213.7.2', outcome: 'ok', durationMs: 12 });
    server.metrics.recordSshCommand({ host: '10.213.7.2', outcome: 'ok', durationMs: 30 });
    server.metrics.recordSshCommand({ host: '10.213.7.2', outcome: 'timeout', durationMs: 5000 });
    const samples = await scrape(server);
    expect(sampleValue(samples, 'chaos_ssh_commands_total', { host: '10.213.7.2', outcome: 'ok' })).toBe(2);
    expect(sampleValue(samples, 'chaos_ssh_commands_total', { host: '10.213.7.2', outcome: 'timeout' })).toBe(1);
    expect(sampleValue(samples, 'chaos_ssh_command_duration_seconds_count', { outcome: 'ok' })).toBe(2);
    expect(sampleValue(samples, 'chaos_ssh_command_duration_seconds_sum', { outcome: 'timeout' })).toBeCloseTo(5, 5);
  });

  it.each([
    [{ outcome: 'exited', exitCode: 0 }, 'ok'],
    [{ outcome: 'exited', exitCode: 2 }, 'failed'],
    [{ outcome: 'signalled', exitCode: null }, 'failed'],
    [{ outcome: 'timeout', exitCode: null }, 'timeout'],
    [{ outcome: 'aborted', exitCode: null }, 'aborted'],
    [{ outcome: 'unknown', exitCode: null }, 'unknown'],
  ] as const)('when an SSH exec result is %j, then it is counted as %s', (result, expected) => {
    expect(sshCommandOutcome(result)).toBe(expected);
  });

  it('when a second server runs in the same process, then it has a registry of its own', async () => {
    const other = await startTestServer();
    try {
      const samples = await scrape(other);
      expect(samples.filter((s) => s.name === 'chaos_incidents_started_total')).toEqual([]);
      expect(samples.filter((s) => s.name === 'chaos_ssh_commands_total')).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});

describe('GET /metrics with a bearer token', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CHAOS_API_TOKEN: 'metrics-token-0123456789' });
  });
  afterAll(() => server?.stop());

  it('when no token is sent, then 401; with the token, then the metrics', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const samples = await scrape(server, { Authorization: 'Bearer metrics-token-0123456789' });
    expect(samples.length).toBeGreaterThan(10);
  });
});
