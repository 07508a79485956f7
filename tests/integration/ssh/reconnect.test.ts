/**
 * Link loss against a real sshd: the connection process is killed (by pid, only this fixture's),
 * or the whole server restarted. In-flight commands fail clearly; queued and new ones wait for the
 * reconnection and run.
 */
import { jest } from '@jest/globals';
import { SshConnection } from '../../../src/ssh/connection.js';
import { SshConnectionError } from '../../../src/ssh/errors.js';
import { captureLogger, targetFor, waitFor } from '../../fixtures/sshd/helpers.js';
import { startSshd, stopListener, type SshdFixture } from '../../fixtures/sshd/sshd.js';

jest.setTimeout(60_000);

let sshd: SshdFixture;
const { logger, lines } = captureLogger();
const open: SshConnection[] = [];

function connection(options: Partial<ConstructorParameters<typeof SshConnection>[0]> = {}): SshConnection {
  const conn = new SshConnection({
    target: targetFor(sshd),
    logger,
    keepaliveIntervalMs: 1_000,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 8 },
    ...options,
  });
  open.push(conn);
  return conn;
}

beforeAll(async () => {
  sshd = await startSshd();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await sshd?.stop();
});

describe('reconnect against a real sshd', () => {
  it('when the server-side connection process is killed, then the running command fails as lost and the next one runs on a new connection', async () => {
    const conn = connection();
    await conn.connect();
    await expect(conn.exec('echo before')).resolves.toMatchObject({ stdout: 'before\n' });

    const running = conn.exec('sleep 5; echo never', { timeoutMs: 20_000 });
    await waitFor(() => conn.stats().activeChannels === 1, 2_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(sshd.killSessions()).toBeGreaterThan(0);

    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshConnectionError);
    expect(error).toMatchObject({ kind: 'lost', message: expect.stringMatching(/outcome is unknown/) });

    await expect(conn.exec('echo after', { timeoutMs: 10_000 })).resolves.toMatchObject({ outcome: 'exited', stdout: 'after\n' });
    expect(conn.stats()).toMatchObject({ connectionsOpened: 2, reconnects: 1, activeChannels: 0 });
    expect(conn.connectionState).toBe('ready');
    expect(lines.some((l) => l.includes('"msg":"ssh link lost"'))).toBe(true);
  });

  it('when sshd is down for a while, then commands issued meanwhile wait and run once it is back', async () => {
    const conn = connection();
    await conn.connect();
    await stopListener(sshd);
    await waitFor(() => conn.connectionState === 'reconnecting', 5_000);

    const started = Date.now();
    const queued = Promise.all([conn.exec('echo one', { timeoutMs: 20_000 }), conn.exec('echo two', { timeoutMs: 20_000 })]);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(conn.stats().queued).toBe(2);
    await sshd.start();

    const [one, two] = await queued;
    expect(one).toMatchObject({ outcome: 'exited', stdout: 'one\n' });
    expect(two).toMatchObject({ outcome: 'exited', stdout: 'two\n' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_200);
    expect(conn.stats().reconnects).toBe(1);
    // connect() on a ready connection returns at once.
    await expect(conn.connect()).resolves.toMatchObject({ learned: false });
  });

  it('when the server stays down past the last attempt, then queued commands fail and connect() can start over', async () => {
    const conn = connection({ reconnect: { initialDelayMs: 50, maxDelayMs: 100, maxAttempts: 3 } });
    await conn.connect();
    await stopListener(sshd);
    // Queue only once the client has seen the drop: before that, a command would start on the
    // dying link and fail as `lost` (in flight), which is another case.
    expect(await waitFor(() => conn.connectionState !== 'ready', 10_000)).toBe(true);
    const queued = conn.exec('echo late', { timeoutMs: 20_000 }).catch((e: unknown) => e);
    const error = await queued;
    expect(error).toBeInstanceOf(SshConnectionError);
    expect(error).toMatchObject({ kind: 'closed', message: 'connection lost and reconnecting failed' });
    expect(conn.connectionState).toBe('failed');
    await expect(conn.exec('true')).rejects.toMatchObject({ kind: 'closed' });

    await sshd.start();
    await conn.connect();
    await expect(conn.exec('echo back')).resolves.toMatchObject({ stdout: 'back\n' });
  });

  it('when the host key changes across a reconnect, then it stops retrying and fails with the mismatch', async () => {
    const conn = connection();
    await conn.connect();
    // Same port, new host key: what a man-in-the-middle after a drop would look like.
    await stopListener(sshd);
    const { execFileSync } = await import('node:child_process');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${sshd.hostKey.privatePath}.new`]);
    execFileSync('mv', ['-f', `${sshd.hostKey.privatePath}.new`, sshd.hostKey.privatePath]);
    execFileSync('mv', ['-f', `${sshd.hostKey.privatePath}.new.pub`, `${sshd.hostKey.privatePath}.pub`]);
    expect(await waitFor(() => conn.connectionState !== 'ready', 10_000)).toBe(true);
    await sshd.start();

    const error = await conn.exec('echo hi', { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'closed' });
    expect((error as Error).cause).toMatchObject({ name: 'HostKeyMismatchError', reason: 'mismatch' });
    expect(conn.connectionState).toBe('failed');
    expect(lines.filter((l) => l.includes('ssh reconnect attempt failed')).length).toBeGreaterThan(0);
  });
});
