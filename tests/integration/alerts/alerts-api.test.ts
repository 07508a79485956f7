import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';
import { alertmanagerPayload } from '../../fixtures/alert-payloads.js';
import { tempDir } from '../../fixtures/paths.js';

const TOKEN = 'alerts-api-test-token-41c2';
const MAPPING = { alerts: '/incidents', name: '/title', instance: '/tags/host', status: '/state', fingerprint: '/id' };

/** The alert and watch routes through the real HTTP stack, with no host behind them. */
describe('the alert and watch routes', () => {
  let server: TestServer;
  let temp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    temp = await tempDir('alerts-api');
    const targetsFile = path.join(temp.dir, 'targets.json');
    await writeFile(targetsFile, JSON.stringify({ targets: [{ name: 'web-1', host: '203.0.113.10', user: 'ops', key: 'web1_ed25519' }] }));
    server = await startTestServer({ CHAOS_API_TOKEN: TOKEN, CHAOS_TARGETS_FILE: targetsFile, CHAOS_KEYS_DIR: temp.dir, CHAOS_ALERT_GENERIC_MAPPING: JSON.stringify(MAPPING) });
  });
  afterAll(async () => {
    await server?.stop();
    await temp?.cleanup();
  });

  const post = (route: string, body: unknown, token: string | null = TOKEN) =>
    fetch(`${server.url}${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });

  it('when Alertmanager posts without the bearer token, then 401 and nothing is read', async () => {
    expect((await post('/alerts', alertmanagerPayload(), null)).status).toBe(401);
  });

  it('when the payload is not version 4, then 400 problem+json names the field', async () => {
    const res = await post('/alerts', { ...alertmanagerPayload(), version: '3' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe('version');
  });

  it('when the alert is about a host that is not enrolled, then 202 says why no incident opened', async () => {
    const res = await post('/alerts', alertmanagerPayload({ instance: '10.9.9.9:9100' }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      received: 1,
      opened: [],
      outcomes: [{ fingerprint: 'a1b2c3d4e5f60718', alertname: 'HostCpuBusy', status: 'firing', outcome: 'unmapped', incident_id: null, target: null, reason: 'instance "10.9.9.9:9100" is not an enrolled target (enrolled: web-1)' }],
    });
  });

  it('when another source posts through the configured mapping, then its alerts are read by pointer, and a bad one is refused naming the pointer', async () => {
    const ok = await post('/alerts/generic', { incidents: [{ id: 'p-1', title: 'Disk', tags: { host: 'db-7' }, state: 'triggered' }] });
    expect(ok.status).toBe(202);
    expect(((await ok.json()) as { outcomes: unknown[] }).outcomes).toEqual([expect.objectContaining({ fingerprint: 'p-1', alertname: 'Disk', outcome: 'unmapped' })]);
    const bad = await post('/alerts/generic', { incidents: [{ id: 'p-2', tags: {}, state: 'triggered' }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toBe('alert 0: /title is missing');
  });

  it('when a watch is asked with bad options or of a target that is not enrolled, then 400 or 404, and nothing is listed', async () => {
    const badOptions = await post('/targets/web-1/watch', { interval_s: 0 });
    expect(badOptions.status).toBe(400);
    expect(((await badOptions.json()) as { detail: string }).detail).toMatch(/^interval_s: /);
    const unknown = await post('/targets/db-9/watch', {});
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { detail: string }).detail).toBe('No enrolled target "db-9" (chaos-handler targets lists them)');
    const auth = { Authorization: `Bearer ${TOKEN}` };
    expect(await (await fetch(`${server.url}/watches`, { headers: auth })).json()).toEqual({ watches: [] });
    expect((await fetch(`${server.url}/targets/web-1/watch`, { method: 'DELETE', headers: auth })).status).toBe(404);
  });
});
