import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestServer, waitForIncident, type TestServer } from '../../fixtures/coordinator.js';
import { tempDir } from '../../fixtures/paths.js';

const run = promisify(execFile);

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('HTTP API (real server, offline incidents, real Chromium)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('when an offline incident is posted, then status reaches completed and report.md and report.pdf download', async () => {
    const res = await post(`${server.url}/start_incident`, { scenario: 'memory_leak', options: { offline: true } });
    expect(res.status).toBe(202);
    const started = (await res.json()) as { incident_id: string; status: string };
    expect(started).toMatchObject({ status: 'started' });
    expect(started.incident_id).toMatch(/^inc-\d{8}-\d{6}-[0-9a-z]{10}$/);

    const status = await waitForIncident(server.url, started.incident_id);
    expect(status).toMatchObject({ status: 'completed', phase: 'done', outcome: { category: 'memory_pressure', culprit: 'python3' } });
    const agents = status.agents as { name: string; state: string }[];
    expect(agents.map((a) => [a.name, a.state])).toEqual([
      ['LogAgent', 'succeeded'],
      ['MetricsAgent', 'succeeded'],
      ['FixerAgent', 'succeeded'],
      ['TesterAgent', 'succeeded'],
      ['ReporterAgent', 'succeeded'],
    ]);
    const trace = status.trace as { agent: string; type: string; timestamp: string }[];
    expect(new Set(trace.map((t) => t.agent))).toEqual(new Set(['Coordinator', 'LogAgent', 'MetricsAgent', 'FixerAgent', 'TesterAgent', 'ReporterAgent']));
    expect([...trace].sort((a, b) => a.timestamp.localeCompare(b.timestamp))).toEqual(trace);

    const md = await fetch(`${server.url}/report/${started.incident_id}`);
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toMatch(/text\/markdown/);
    expect(await md.text()).toMatch(/# Incident inc-.*: Memory pressure/);

    const pdf = await fetch(`${server.url}/report/${started.incident_id}?format=pdf`);
    expect(pdf.status).toBe(200);
    const bytes = Buffer.from(await pdf.arrayBuffer());
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    const { dir, cleanup } = await tempDir('pdf');
    try {
      await writeFile(path.join(dir, 'report.pdf'), bytes);
      await run('pdftoppm', ['-png', '-r', '40', '-f', '1', '-l', '1', path.join(dir, 'report.pdf'), path.join(dir, 'page')]);
      const { stdout } = await run('pdftotext', [path.join(dir, 'report.pdf'), '-']);
      expect(stdout).toContain('Memory pressure');
    } finally {
      await cleanup();
    }

    for (const name of ['trace.json', 'fix.sh', 'fix_suggestion.json', 'metrics.json', 'raw_logs.txt', 'slack_summary.txt']) {
      const a = await fetch(`${server.url}/incidents/${started.incident_id}/artifacts/${name}`);
      expect([name, a.status]).toEqual([name, 200]);
    }
    const list = (await (await fetch(`${server.url}/incidents`)).json()) as { incidents: { incident_id: string }[] };
    expect(list.incidents.map((i) => i.incident_id)).toContain(started.incident_id);
  });

  it('when a bundle is replayed under another scenario name, then the diagnosis follows the evidence', async () => {
    const res = await post(`${server.url}/incidents`, { scenario: 'cpu_spike', options: { offline: true, bundle: 'disk_fill' } });
    const { incident_id } = (await res.json()) as { incident_id: string };
    const status = await waitForIncident(server.url, incident_id);
    expect(status).toMatchObject({ scenario: 'cpu_spike', outcome: { category: 'disk_full', culprit: '/tmp' } });
  });

  it('when the body is invalid, then 400 problem+json names each bad field', async () => {
    const res = await post(`${server.url}/start_incident`, { scenario: 'disk_fill', options: { offline: true, size_mb: 'lots', colour: 'red' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const problem = (await res.json()) as { status: number; errors: { field: string }[] };
    expect(problem.status).toBe(400);
    expect(problem.errors.map((e) => e.field).sort()).toEqual(['options.colour', 'options.size_mb']);
  });

  it('when the body is not JSON or too large, then it is refused with 400 or 413', async () => {
    const bad = await post(`${server.url}/start_incident`, '{"scenario": ');
    expect(bad.status).toBe(400);
    const huge = await post(`${server.url}/start_incident`, { scenario: 'cpu_spike', options: { offline: true }, pad: 'x'.repeat(200_000) });
    expect(huge.status).toBe(413);
  });

  it.each(['..%2F..%2Fetc%2Fpasswd', 'inc-20261122-100000-aaaaaaaaaa', '%2e%2e', 'inc-20261122-100000-AAAAAAAAAA'])('when the id is %s, then 404', async (id) => {
    for (const route of [`/status/${id}`, `/report/${id}`, `/incidents/${id}/artifacts`, `/incidents/${id}/events`]) {
      const res = await fetch(`${server.url}${route}`);
      expect([route, res.status]).toEqual([route, 404]);
    }
    expect((await post(`${server.url}/incidents/${id}/stop`, {})).status).toBe(404);
  });

  it('when an artifact name tries to leave the incident folder, then 404', async () => {
    const res = await post(`${server.url}/start_incident`, { scenario: 'cpu_spike', options: { offline: true } });
    const { incident_id } = (await res.json()) as { incident_id: string };
    await waitForIncident(server.url, incident_id);
    for (const name of ['..%2F..%2Fpackage.json', '%2e%2e/%2e%2e/package.json', 'artifacts/..%2F..%2Fx', '.trace.json.tmp', 'does-not-exist.txt']) {
      const a = await fetch(`${server.url}/incidents/${incident_id}/artifacts/${name}`);
      expect([name, a.status]).toEqual([name, 404]);
    }
  });

  it('when an incident is stopped twice and halt is called twice, then every call succeeds and nothing changes', async () => {
    const res = await post(`${server.url}/start_incident`, { scenario: 'service_kill', options: { offline: true } });
    const { incident_id } = (await res.json()) as { incident_id: string };
    const first = await post(`${server.url}/incidents/${incident_id}/stop`, {});
    const second = await post(`${server.url}/incidents/${incident_id}/stop`, {});
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const body = (await second.json()) as { stopped: boolean; status: string };
    expect(body.stopped).toBe(false);
    expect(['aborted', 'completed']).toContain(body.status);
    const h1 = await post(`${server.url}/halt`, {});
    const h2 = await post(`${server.url}/halt`, {});
    expect(h1.status).toBe(200);
    expect(await h2.json()).toEqual({ halted: [] });
  });

  it('when a client follows the events stream, then it gets every trace entry and an end event', async () => {
    const res = await post(`${server.url}/start_incident`, { scenario: 'net_latency', options: { offline: true } });
    const { incident_id } = (await res.json()) as { incident_id: string };
    const events = await fetch(`${server.url}/incidents/${incident_id}/events`);
    expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await events.text();
    const traces = text.split('\n\n').filter((b) => b.startsWith('event: trace'));
    expect(traces.length).toBeGreaterThan(10);
    expect(text).toMatch(/event: end\ndata: \{"status":"completed"\}/);
    const status = await waitForIncident(server.url, incident_id);
    expect(traces.length).toBe((status.trace as unknown[]).length);
  });

  it('when /openapi.json is fetched, then it is OpenAPI 3.1 with the request schema from zod', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/start_incident', '/status/{id}', '/report/{id}', '/halt', '/incidents/{id}/stop']));
    expect(JSON.stringify(doc.components.schemas.StartIncidentRequest)).toContain('db_conn_exhaust');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('HTTP API with a bearer token', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CHAOS_API_TOKEN: 'correct-horse-battery-staple' });
  });
  afterAll(() => server.stop());

  it('when no or a wrong token is sent, then 401; with the token, then the API answers', async () => {
    expect((await fetch(`${server.url}/incidents`)).status).toBe(401);
    expect((await fetch(`${server.url}/incidents`, { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await post(`${server.url}/halt`, {})).status).toBe(401);
    expect((await fetch(`${server.url}/incidents`, { headers: { Authorization: 'Bearer correct-horse-battery-staple' } })).status).toBe(200);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
