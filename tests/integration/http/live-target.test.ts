/**
 * The API against live targets on a real OpenSSH server (scripted-host.ts: a network namespace
 * of the test's own): one incident per target under a burst, and every way of not reaching a
 * target answered with why, never "internal error".
 */
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';
import { tempDir } from '../../fixtures/paths.js';
import { startScriptedHost, type ScriptedHost } from '../../fixtures/scripted-host.js';
import { generateKey } from '../../fixtures/sshd/sshd.js';

jest.setTimeout(90_000);

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function waitForListener(address: string, port: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, address, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (attempt > 100) throw new Error(`nothing listens on ${address}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Problem = { status: number; detail: string; reason?: string; errors?: { field: string; message: string }[] };

describe('live targets through the HTTP API', () => {
  let host: ScriptedHost;
  let server: TestServer;
  let work: { dir: string; cleanup: () => Promise<void> };
  /** A TCP listener in the namespace that accepts and never speaks: an SSH port that hangs. */
  let silent: ChildProcess | undefined;

  beforeAll(async () => {
    work = await tempDir('live-target');
    host = await startScriptedHost({ netnsName: 'chlive', netnsIndex: 14, dir: work.dir, name: 'web-1' });
    const stranger = generateKey(work.dir, 'stranger_ed25519');
    writeFileSync(path.join(host.keysDir, 'stranger_ed25519'), stranger.privateKey, { mode: 0o600 });
    const otherHost = generateKey(work.dir, 'other_host_ed25519');
    silent = spawn('ip', ['netns', 'exec', 'chlive', 'python3', '-c', `import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('${host.address}',2224))\ns.listen(8)\nc=[]\nwhile True:\n  c.append(s.accept())`], { stdio: 'ignore' });
    // Ready when it accepts: the test must not race the listener into a "refused".
    await waitForListener(host.address, 2224);
    const targets = [
      host.entry,
      { ...host.entry, name: 'refusing', port: 2223 },
      { ...host.entry, name: 'wrong-key', key: 'stranger_ed25519' },
      { ...host.entry, name: 'impostor', host_keys: [otherHost.publicLine.split(' ').slice(0, 2).join(' ')] },
      { ...host.entry, name: 'silent', port: 2224 },
    ];
    writeFileSync(host.targetsFile, JSON.stringify({ targets }, null, 2));
    server = await startTestServer({
      CHAOS_TARGETS_FILE: host.targetsFile,
      CHAOS_KEYS_DIR: host.keysDir,
      CHAOS_STATE_DIR: path.join(work.dir, 'state'),
      CHAOS_PDF: 'false',
      CHAOS_MAX_CONCURRENT_INCIDENTS: '10',
    });
  });

  afterAll(async () => {
    await server?.stop();
    silent?.kill('SIGKILL');
    await host?.stop();
    await work?.cleanup();
  });

  it('when 5 incidents for one target are posted at once, then one runs on it, the others get 409, and the host sees one connection', async () => {
    const body = { scenario: 'investigate', target_vm: { name: 'web-1' }, options: { baseline_s: 60 } };
    const before = (host.sshdLogs().match(/Accepted publickey/g) ?? []).length;
    const responses = await Promise.all(Array.from({ length: 5 }, () => post(`${server.url}/start_incident`, body)));
    const answers = await Promise.all(responses.map(async (r) => ({ status: r.status, body: (await r.json()) as Problem })));
    try {
      expect(answers.map((a) => a.status).sort()).toEqual([202, 409, 409, 409, 409]);
      expect(answers.find((a) => a.status === 409)?.body.detail).toMatch(/already running on .*one at a time per target/);
      expect((host.sshdLogs().match(/Accepted publickey/g) ?? []).length - before).toBe(1);
    } finally {
      await post(`${server.url}/halt`, {});
    }
  });

  it('when key_path names no usable key, then 400 names the field by its full path', async () => {
    const res = await post(`${server.url}/start_incident`, { scenario: 'investigate', target_vm: { host: host.address, port: host.port, key_path: 'no-such-key' } });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as Problem;
    expect(problem.errors).toEqual([{ field: 'target_vm.key_path', message: expect.stringContaining('does not name a usable key') }]);
  });

  it.each([
    ['refusing', 502, 'refused', /refused: nothing listens on that port/],
    ['wrong-key', 502, 'auth_failed', /authentication .* failed: the host refused the key/],
    ['impostor', 403, 'host_key_mismatch', /is not trusted .*not the enrolled one; no session was opened/],
    ['silent', 502, 'timed_out', /handshake .* timed out/],
  ])('when the target is %s, then the answer is %i and says why (%s)', async (name, status, reason, detail) => {
    const res = await post(`${server.url}/start_incident`, { scenario: 'investigate', target_vm: { name } });
    const problem = (await res.json()) as Problem;
    expect({ status: res.status, reason: problem.reason }).toEqual({ status, reason });
    expect(problem.detail).toMatch(detail);
    expect(problem.detail).not.toMatch(/internal error|PRIVATE KEY|stack/i);
    // Nothing of the key reaches the answer.
    const key = readFileSync(path.join(host.keysDir, 'scripted_ed25519'), 'utf8');
    expect(JSON.stringify(problem)).not.toContain(key.split('\n')[1]);
  });
});
