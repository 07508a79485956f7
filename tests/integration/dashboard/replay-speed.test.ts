import path from 'node:path';
import { readBundle } from '../../../src/evidence/bundle.js';
import { startTestServer, waitForIncident, type TestServer } from '../../fixtures/coordinator.js';
import { EXAMPLES_DIR } from '../../fixtures/paths.js';

/** `options.replay_speed`: the paced offline replay the dashboard offers to watch an incident live. */
describe('offline replay_speed', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  const start = (body: unknown) => fetch(`${server.url}/start_incident`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('when replay_speed is set, then each recorded window takes its length divided by the speed', async () => {
    const started = Date.now();
    const res = await start({ scenario: 'cpu_spike', options: { offline: true, replay_speed: 16 } });
    const { incident_id } = (await res.json()) as { incident_id: string };
    const status = (await waitForIncident(server.url, incident_id)) as { status: string; phase_ms: Record<string, number>; trace: { content: { summary?: string } }[] };
    // The recording's own windows, whatever length they were recorded with.
    const { manifest } = await readBundle(path.join(EXAMPLES_DIR, 'cpu_spike'));
    const ms = (w: { start: string; end: string }) => Date.parse(w.end) - Date.parse(w.start);
    const [baseline, incident] = [ms(manifest.windows.baseline), ms(manifest.windows.incident)];
    expect(status.status).toBe('completed');
    expect(status.phase_ms.baseline).toBeGreaterThanOrEqual((baseline / 16) * 0.95);
    expect(status.phase_ms.observe).toBeGreaterThanOrEqual((incident / 16) * 0.95);
    expect(Date.now() - started).toBeGreaterThanOrEqual((baseline + incident) / 16);
    expect(status.trace[0]?.content.summary).toContain('(replayed at 16x)');
  }, 20_000);

  it('when replay_speed is not set, then the replay does not wait', async () => {
    const res = await start({ scenario: 'cpu_spike', options: { offline: true } });
    const { incident_id } = (await res.json()) as { incident_id: string };
    const status = (await waitForIncident(server.url, incident_id)) as { phase_ms: Record<string, number> };
    expect(status.phase_ms.baseline).toBeLessThan(500);
    expect(status.phase_ms.observe).toBeLessThan(500);
  });

  it.each([
    [{ scenario: 'cpu_spike', target_vm: { name: 'sandbox' }, options: { replay_speed: 10 } }, 'only applies to offline incidents'],
    [{ scenario: 'cpu_spike', options: { offline: true, replay_speed: 0 } }, ''],
    [{ scenario: 'cpu_spike', options: { offline: true, replay_speed: 'fast' } }, ''],
  ])('when the request is %j, then 400 names options.replay_speed', async (body, message) => {
    const res = await start(body);
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { field: string; message: string }[] };
    const error = problem.errors.find((e) => e.field === 'options.replay_speed');
    expect(error?.message).toContain(message);
  });
});
