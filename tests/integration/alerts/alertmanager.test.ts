import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { startAlertingStack, type AlertingStack } from '../../fixtures/alerting-stack.js';
import { startTestServer, waitForIncident, type TestServer } from '../../fixtures/coordinator.js';
import { tempDir } from '../../fixtures/paths.js';
import { ensureSandbox, onSandbox, SANDBOX } from '../../fixtures/sandbox.js';

const TOKEN = 'alertmanager-test-token-7f3a9c';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

type Record = {
  id: string;
  status: string;
  trigger?: string;
  outcome: { category: string; culprit: string | null } | null;
  alert?: { fingerprint: string; name: string; runbook_url: string | null; fired_at: string | null; resolved_at: string | null; labels: { [k: string]: string } };
};

async function incidentIds(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('inc-'));
}

async function poll<T>(what: string, timeoutMs: number, check: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The wiring a user would do (examples/alerting/): node-exporter on the sandbox, Prometheus
 * with a CPU rule, Alertmanager posting to POST /alerts with the bearer token. The CPU is pinned
 * by the sandbox's own cpu_spike script; nothing calls the coordinator but Alertmanager.
 */
describe('a real Alertmanager firing on a real Prometheus rule about the sandbox', () => {
  let server: TestServer;
  let stack: AlertingStack | undefined;
  let temp: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    const sandbox = await ensureSandbox();
    await onSandbox('sudo -n /opt/chaos-scripts/cpu_spike.sh stop');
    temp = await tempDir('alerting');
    server = await startTestServer({ CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false', CHAOS_API_TOKEN: TOKEN });
    // Alertmanager repeats the firing notification every 2 s: the dedup is exercised for real.
    stack = await startAlertingStack({ dir: temp.dir, netns: 'chsbx', exporterAddress: SANDBOX.address, webhookUrl: `${server.url}/alerts`, token: TOKEN, repeatInterval: '2s' });
  }, 660_000);

  afterAll(async () => {
    await onSandbox('sudo -n /opt/chaos-scripts/cpu_spike.sh stop').catch(() => undefined);
    await stack?.stop();
    await server?.stop();
    await temp?.cleanup();
  });

  it('when the CPU is pinned, then exactly one investigate incident opens, diagnosed cpu_saturation, and the resolution is recorded on it once the fault is gone', async () => {
    expect(await incidentIds(server.incidentsDir)).toEqual([]);
    const started = await onSandbox('sudo -n /opt/chaos-scripts/cpu_spike.sh start --max-runtime 120 --lease 120 90 4');
    expect(started.code).toBe(0);
    let stopped = false;
    try {
      const [id] = await poll('the alert to open an incident', 60_000, async () => {
        const ids = await incidentIds(server.incidentsDir);
        return ids.length ? ids : null;
      });
      const status = await waitForIncident(server.url, id!, AUTH, 90_000);
      expect(status).toMatchObject({ status: 'completed', scenario: 'investigate', outcome: { category: 'cpu_saturation' } });

      await onSandbox('sudo -n /opt/chaos-scripts/cpu_spike.sh stop');
      stopped = true;
      const file = path.join(server.incidentsDir, id!, 'incident.json');
      const record = await poll('the resolved notification to be recorded', 60_000, async () => {
        const r = JSON.parse(await readFile(file, 'utf8')) as Record;
        return r.alert?.resolved_at ? r : null;
      });
      expect(record).toMatchObject({
        trigger: 'alert',
        alert: {
          name: 'HostCpuBusy',
          runbook_url: 'https://runbooks.example.com/host-cpu-busy',
          labels: { alertname: 'HostCpuBusy', instance: `${SANDBOX.address}:9100`, severity: 'page' },
        },
      });
      expect(Date.parse(record.alert!.resolved_at!)).toBeGreaterThan(Date.parse(record.alert!.fired_at!));
      const trace = JSON.parse(await readFile(path.join(server.incidentsDir, id!, 'trace.json'), 'utf8')) as { content: { summary?: string } }[];
      expect(trace.some((e) => e.content.summary?.startsWith('alert HostCpuBusy resolved at '))).toBe(true);
      const report = await readFile(path.join(server.incidentsDir, id!, 'report.md'), 'utf8');
      expect(report).toContain('| Runbook | `https://runbooks.example.com/host-cpu-busy` |');
      // Every repeat while the incident ran, and after, was the same alert: still one incident.
      expect(await incidentIds(server.incidentsDir)).toEqual([id]);
    } finally {
      if (!stopped) await onSandbox('sudo -n /opt/chaos-scripts/cpu_spike.sh stop');
    }
  }, 150_000);
});
