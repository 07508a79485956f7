/**
 * What a hostile client or a hostile neighbour on the disk can try against `serve`: oversized
 * URLs, and symlinks planted in an incident folder for the artifact route to follow.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { hasInvisibleControl } from '../../../src/evidence/sanitize.js';
import { startTestServer, waitForIncident, type TestServer } from '../../fixtures/coordinator.js';
import { tempDir } from '../../fixtures/paths.js';

/**
 * Writes a request line of `bytes` in one go (more than the kernel buffers hold, so much of it is
 * still unsent when the server answers); resolves with what came back and the socket error.
 */
function hugeRequest(url: string, bytes: number): Promise<{ response: string; error: string | null }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let response = '';
    const socket = net.connect(Number(port), hostname, () => socket.write(`GET /healthz?${'a'.repeat(bytes)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ response, error: error.code ?? error.message }));
    socket.once('close', () => resolve({ response, error: null }));
  });
}

describe('serve against hostile requests and planted files', () => {
  let server: TestServer;
  let incidentsDir: string;
  let work: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    work = await tempDir('hardening');
    incidentsDir = path.join(work.dir, 'incidents');
    server = await startTestServer({ CHAOS_INCIDENTS_DIR: incidentsDir, CHAOS_STATE_DIR: path.join(work.dir, 'state'), CHAOS_PDF: 'false' });
  });
  afterAll(async () => {
    await server.stop();
    await work.cleanup();
  });

  it('when the URL is 10 KB, then 414', async () => {
    const res = await fetch(`${server.url}/status/inc-x?${'a'.repeat(10_000)}`);
    expect(res.status).toBe(414);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('when the URL is 100 KB, then 431, not a reset connection', async () => {
    const res = await fetch(`${server.url}/status/inc-x?${'a'.repeat(100_000)}`);
    expect(res.status).toBe(431);
  });

  it('when a client writes megabytes of request line in one go, then it reads the 431 and the connection closes without a reset', async () => {
    const { response, error } = await hugeRequest(server.url, 16_000_000);
    expect({ status: response.split('\r\n')[0], error }).toEqual({ status: 'HTTP/1.1 431 Request Header Fields Too Large', error: null });
  });

  it('when a trace holds C1 and bidi characters from a host, then /status and the event stream carry them only as \\u escapes', async () => {
    const id = 'inc-20261130-080000-bidibidibi';
    const hostile = 'burn\u202eexe.sh\u009b31m\u2066';
    const at = '2026-11-30T08:00:00.000Z';
    const record = { id, scenario: 'investigate', target: { kind: 'offline', bundle: 'x' }, options: {}, status: 'completed', phase: 'done', created_at: at, updated_at: at, finished_at: at, agents: [], chaos: { state: 'not_applicable' }, phase_ms: {}, outcome: null, error: null };
    await mkdir(path.join(incidentsDir, id, 'artifacts'), { recursive: true });
    await writeFile(path.join(incidentsDir, id, 'incident.json'), JSON.stringify(record));
    await writeFile(path.join(incidentsDir, id, 'trace.jsonl'), `${JSON.stringify({ timestamp: at, agent: 'FixerAgent', type: 'result', content: { culprit: hostile } })}\n`);
    for (const url of [`/status/${id}`, `/incidents/${id}/events`]) {
      const text = await (await fetch(`${server.url}${url}`)).text();
      expect([url, hasInvisibleControl(text)]).toEqual([url, false]);
      expect(text).toContain('\\u202e');
    }
    const status = (await (await fetch(`${server.url}/status/${id}`)).json()) as { trace: { content: { culprit: string } }[] };
    expect(status.trace[0]!.content.culprit).toBe(hostile);
  });

  it('when symlinks are planted in an incident folder, then the artifact route refuses them and serves the real files', async () => {
    const res = await fetch(`${server.url}/start_incident`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ scenario: 'investigate', options: { offline: true } }) });
    const { incident_id: id } = (await res.json()) as { incident_id: string };
    await waitForIncident(server.url, id);
    const folder = path.join(incidentsDir, id);
    const secrets = path.join(work.dir, 'secrets');
    await mkdir(secrets);
    await writeFile(path.join(secrets, 'id_ed25519'), 'PRIVATE KEY');
    await symlink(path.join(secrets, 'id_ed25519'), path.join(folder, 'leak.txt'));
    await symlink(secrets, path.join(folder, 'charts'));
    await symlink('/etc/passwd', path.join(folder, 'artifacts', 'passwd.txt'));

    for (const name of ['leak.txt', 'charts/id_ed25519', 'artifacts/passwd.txt']) {
      const a = await fetch(`${server.url}/incidents/${id}/artifacts/${name}`);
      expect([name, a.status]).toEqual([name, 404]);
      expect(await a.text()).not.toMatch(/PRIVATE KEY|root:/);
    }
    const listed = (await (await fetch(`${server.url}/incidents/${id}/artifacts`)).json()) as { artifacts: { name: string }[] };
    expect(listed.artifacts.map((a) => a.name)).not.toEqual(expect.arrayContaining(['leak.txt']));
    expect((await fetch(`${server.url}/incidents/${id}/artifacts/fix.sh`)).status).toBe(200);
  });
});
