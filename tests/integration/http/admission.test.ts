/**
 * The concurrency cap under a burst, through the real HTTP stack: admission must hold when
 * requests arrive together, not only one by one.
 */
import net from 'node:net';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/**
 * `n` POSTs that reach the server together: every connection is open first, then each request
 * is written whole in the same turn. Resolves with each response's status code.
 */
async function burst(url: string, path: string, body: unknown, n: number): Promise<number[]> {
  const { hostname, port } = new URL(url);
  const sockets = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => resolve(socket));
      socket.once('error', reject);
    })),
  );
  const json = JSON.stringify(body);
  const request = `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`;
  const answers = sockets.map(
    (socket) =>
      new Promise<number>((resolve, reject) => {
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.once('error', reject);
        socket.once('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
      }),
  );
  for (const socket of sockets) socket.write(request);
  return Promise.all(answers);
}

describe('POST /start_incident under a burst', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CHAOS_MAX_CONCURRENT_INCIDENTS: '4', CHAOS_PDF: 'false' });
  });
  afterAll(() => server.stop());

  it('when 50 requests are sent at once with a cap of 4, then exactly 4 are accepted and 46 get 409', async () => {
    // Replayed in real time, each incident stays running for the length of its recording.
    const body = { scenario: 'cpu_spike', options: { offline: true, replay_speed: 1 } };
    const statuses = await burst(server.url, '/start_incident', body, 50);
    try {
      expect(statuses.filter((s) => s === 202)).toHaveLength(4);
      expect(statuses.filter((s) => s === 409)).toHaveLength(46);
      const list = (await (await fetch(`${server.url}/incidents`)).json()) as { incidents: { status: string }[] };
      expect(list.incidents.filter((i) => i.status === 'running')).toHaveLength(4);
      // The fifth fits once one has stopped.
      await fetch(`${server.url}/halt`, { method: 'POST' });
      const again = await post(`${server.url}/start_incident`, body);
      expect(again.status).toBe(202);
    } finally {
      await fetch(`${server.url}/halt`, { method: 'POST' });
    }
  });
});
