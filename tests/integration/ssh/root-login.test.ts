/**
 * Logged in as root, OpenSSH ignores "signal" channel requests (it skips post-auth privilege
 * separation for root, and session signalling needs it). The deadline must still hold on our side,
 * and the pool slot must stay taken while the host keeps the session (it counts toward MaxSessions).
 */
import { jest } from '@jest/globals';
import { SshConnection } from '../../../src/ssh/connection.js';
import { captureLogger, targetFor, waitFor } from '../../fixtures/sshd/helpers.js';
import { startSshd, type SshdFixture } from '../../fixtures/sshd/sshd.js';

jest.setTimeout(60_000);

let sshd: SshdFixture;
let conn: SshConnection;

beforeAll(async () => {
  sshd = await startSshd({ user: 'root', logLevel: 'DEBUG1' });
  conn = new SshConnection({ target: targetFor(sshd), logger: captureLogger().logger, killGraceMs: 300 });
  await conn.connect();
});

afterAll(async () => {
  await conn?.close();
  await sshd?.stop();
});

describe('root login', () => {
  it('when a root command outlives its deadline, then exec returns timeout promptly and the slot is held until the host ends the session', async () => {
    const started = Date.now();
    // 2 s: time enough to open a channel and print on a loaded machine; far less than the sleep.
    const result = await conn.exec('id -u; sleep 8', { timeoutMs: 2_000 });
    expect(result).toMatchObject({ outcome: 'timeout', stdout: '0\n' });
    // Deadline, then TERM/KILL grace, then at most the close wait: well before the command ends.
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(sshd.logs()).toMatch(/session signalling requires privilege separation/);
    expect(conn.stats().activeChannels).toBe(1);
    expect(await waitFor(() => conn.stats().activeChannels === 0, 12_000)).toBe(true);
    await expect(conn.exec('echo still fine')).resolves.toMatchObject({ stdout: 'still fine\n' });
  });
});
