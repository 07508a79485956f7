import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AuditStore } from '../../../src/store/audit-store.js';
import { startTestServer, waitForIncident, type TestServer } from '../../fixtures/coordinator.js';

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function replay(server: TestServer, options: Record<string, unknown>): Promise<{ id: string; status: Record<string, unknown> }> {
  const res = await post(`${server.url}/incidents`, { scenario: 'investigate', options: { offline: true, ...options } });
  expect(res.status).toBe(202);
  const { incident_id: id } = (await res.json()) as { incident_id: string };
  return { id, status: await waitForIncident(server.url, id) };
}

type Timings = Record<string, string | number | null>;

describe('Timings and the audit log through the real HTTP stack (offline replays of real recordings)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CHAOS_PDF: 'false' });
  });
  afterAll(() => server?.stop());

  it('when a recording of an injected fault is replayed, then status, report, summary and /metrics carry its MTTD', async () => {
    const { id, status } = await replay(server, { bundle: 'cpu_spike' });
    expect(status).toMatchObject({ status: 'completed', outcome: { category: 'cpu_saturation' } });
    const manifest = JSON.parse(await readFile(path.join('examples', 'cpu_spike', 'manifest.json'), 'utf8')) as { fault_started_at: string };
    const timings = status.timings as Timings;
    expect(timings).toMatchObject({ fault_started_at: manifest.fault_started_at, fault_start_source: 'injected', approved_at: null, mttr_s: null });
    expect(typeof timings.mttd_s).toBe('number');
    expect(timings.mttd_s as number).toBeGreaterThanOrEqual(0);
    expect(timings.mttd_s as number).toBeLessThan(30);
    expect(Date.parse(timings.diagnosed_at as string)).toBeGreaterThan(Date.parse(timings.detected_at as string));

    const report = await (await fetch(`${server.url}/report/${id}`)).text();
    expect(report).toContain('## Timings');
    expect(report).toContain(`**MTTD** ${timings.mttd_s} s`);
    const slack = await (await fetch(`${server.url}/incidents/${id}/artifacts/slack_summary.txt`)).text();
    expect(slack).toContain(`MTTD ${timings.mttd_s} s, MTTR n/a`);

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^# TYPE chaos_mttd_seconds histogram$/m);
    expect(metrics).toMatch(/^chaos_mttd_seconds_count\{category="cpu_saturation"\} 1$/m);
    expect(metrics).toMatch(/^# TYPE chaos_mttr_seconds histogram$/m);
  });

  it('when a healthy host is replayed, then there is no fault to time and no MTTD is observed', async () => {
    const { status } = await replay(server, { bundle: 'healthy' });
    expect(status).toMatchObject({ outcome: { category: 'healthy' } });
    expect(status.timings).toMatchObject({ fault_started_at: null, detected_at: null, mttd_s: null });
    expect(await (await fetch(`${server.url}/metrics`)).text()).not.toMatch(/chaos_mttd_seconds_count\{category="healthy"\}/);
  });

  it('when entries are audited for an incident, then GET /incidents/:id/audit lists them in order; unknown ids are 404', async () => {
    const { id } = await replay(server, { bundle: 'disk_fill' });
    const before = (await (await fetch(`${server.url}/incidents/${id}/audit`)).json()) as { entries: unknown[] };
    expect(before).toEqual({ incident_id: id, entries: [] });

    const audit = new AuditStore(server.coordinator.store);
    await audit.append(id, { actor: 'alice', action: 'approved', detail: 'steps s1' });
    await audit.append(id, { actor: 'coordinator', action: 'step_applied', step_id: 's1', detail: 'free_path /tmp/chaos_fill', output_tail: 'removed 1 file\n' });
    const res = await fetch(`${server.url}/incidents/${id}/audit`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { entries: { actor: string; action: string; step_id?: string; incident_id: string }[] };
    expect(body.entries.map((e) => [e.actor, e.action, e.step_id ?? null, e.incident_id])).toEqual([
      ['alice', 'approved', null, id],
      ['coordinator', 'step_applied', 's1', id],
    ]);
    expect((await audit.readGlobal()).filter((e) => e.incident_id === id)).toHaveLength(2);

    const missing = await fetch(`${server.url}/incidents/inc-20260101-000000-aaaaaaaaaa/audit`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect((await fetch(`${server.url}/incidents/..%2F..%2Fetc/audit`)).status).toBe(404);
  });
});
