import { ensureSandbox, onSandbox } from '../../fixtures/sandbox.js';
import { startTestServer, waitForIncident, type TestServer } from '../../fixtures/coordinator.js';
import { parsePrometheus, sampleValue } from '../../fixtures/prometheus.js';

/** Live incidents on the sandbox host through the real HTTP API, SSH and chaos scripts. */
describe('live incidents on the sandbox host', () => {
  let server: TestServer;
  beforeAll(async () => {
    const sandbox = await ensureSandbox();
    server = await startTestServer({ CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false' });
  }, 660_000);
  afterAll(async () => {
    await server?.stop();
    await onSandbox('sudo -n /opt/chaos-scripts/cleanup_all.sh');
  });

  async function runLive(scenario: string, options: Record<string, unknown>) {
    const res = await fetch(`${server.url}/start_incident`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ scenario, target_vm: { name: 'sandbox' }, options: { baseline_s: 6, observe_s: 10, ...options } }),
    });
    expect(res.status).toBe(202);
    const { incident_id } = (await res.json()) as { incident_id: string };
    return waitForIncident(server.url, incident_id, {}, 180_000);
  }

  // First, before any fault: the host at rest.
  it('when investigate runs on the healthy sandbox, then it is healthy', async () => {
    const status = await runLive('investigate', {});
    expect(status).toMatchObject({ status: 'completed', chaos: { state: 'not_applicable' } });
    // The whole root cause, so a failure shows the evidence it rested on.
    const fix = (await (await fetch(`${server.url}/incidents/${String(status.incident_id)}/artifacts/fix_suggestion.json`)).json()) as { root_cause: unknown };
    expect(fix.root_cause).toMatchObject({ category: 'healthy' });
  }, 120_000);

  it.each([
    ['cpu_spike', 'cpu_saturation', 'stress-ng-cpu', { duration: 60, load: 2 }],
    ['memory_leak', 'memory_pressure', 'python3', { target_mb: 1500, duration: 15 }],
    ['disk_fill', 'disk_full', '/tmp', { size_mb: 700 }],
    ['service_kill', 'service_down', 'victim-api', { service_name: 'victim-api' }],
    ['db_conn_exhaust', 'db_connection_exhaustion', 'report-batch', { clients: 95, duration: 60 }],
  ] as const)('when %s runs live, then the diagnosis is %s with culprit %s and the chaos is reverted', async (scenario, category, culprit, options) => {
    const status = await runLive(scenario, options);
    expect(status).toMatchObject({ status: 'completed', outcome: { category, culprit }, chaos: { state: 'reverted' } });
    const check = await onSandbox(`sudo -n /opt/chaos-scripts/${scenario}.sh status`);
    expect(JSON.parse(check.stdout)).toMatchObject({ state: 'stopped' });
    // After the revert the host was watched until it was back inside its normal band.
    const metrics = (await (await fetch(`${server.url}/incidents/${String(status.incident_id)}/artifacts/metrics.json`)).json()) as {
      findings: { recovery: { recovered: boolean; recovery_s: number | null; samples: number } | null };
    };
    expect(metrics.findings.recovery).toMatchObject({ recovered: true, recovery_s: expect.any(Number) });
    expect(metrics.findings.recovery!.recovery_s).toBeLessThan(30);
    expect(Object.keys(status.phase_ms as object)).toContain('recovery');
  }, 240_000);

  it('when live incidents have run, then /metrics counts their SSH commands by host and outcome', async () => {
    const samples = parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
    expect(sampleValue(samples, 'chaos_ssh_commands_total', { host: 'sandbox', outcome: 'ok' })).toBeGreaterThan(0);
  });

  it('when net_latency runs where the kernel lacks netem, then the incident fails saying so and nothing is left', async () => {
    const status = await runLive('net_latency', { iface: 'eth0', delay_ms: 200, loss_pct: 5, duration: 30 });
    expect(status).toMatchObject({ status: 'failed', chaos: { state: 'reverted' } });
    expect(String(status.error)).toMatch(/no netem qdisc/);
  }, 120_000);
});
