/**
 * Host-key verification against a real sshd: a wrong or unknown key opens no session (sshd never
 * sees an authentication attempt), and trust-on-first-use happens only when asked for.
 */
import { jest } from '@jest/globals';
import { NotAllowedError } from '../../../src/errors.js';
import { SshConnection } from '../../../src/ssh/connection.js';
import { HostKeyMismatchError, SshConnectionError } from '../../../src/ssh/errors.js';
import { parsePublicKeyLine } from '../../../src/ssh/host-key.js';
import { captureLogger, targetFor } from '../../fixtures/sshd/helpers.js';
import { generateKey, sshKeygenFingerprint, startSshd, type SshdFixture } from '../../fixtures/sshd/sshd.js';

jest.setTimeout(60_000);

let sshd: SshdFixture;
const { logger } = captureLogger();

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  await sshd?.stop();
});

/** Everything sshd logged after `mark` (a previous log length). */
function logsSince(mark: number): string {
  return sshd.logs().slice(mark);
}

describe('host key verification against a real sshd', () => {
  it('when the server presents a key other than the enrolled one, then the connection is refused before authentication', async () => {
    const other = generateKey(sshd.dir, 'not_the_host_key');
    const conn = new SshConnection({
      target: targetFor(sshd, { hostKeys: [parsePublicKeyLine(other.publicLine)] }),
      logger,
    });
    const mark = sshd.logs().length;
    const error = await conn.connect().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect(error).toBeInstanceOf(NotAllowedError);
    const mismatch = error as HostKeyMismatchError;
    expect(mismatch.reason).toBe('mismatch');
    expect(mismatch.keyType).toBe('ssh-ed25519');
    // The fingerprint of the key the server actually presented, as ssh-keygen prints it.
    expect(mismatch.fingerprint).toBe(sshKeygenFingerprint(`${sshd.hostKey.privatePath}.pub`));
    expect(conn.stats()).toMatchObject({ connectionsOpened: 0, channelsOpened: 0 });

    await sshd.waitForLog(/Connection closed by 127\.0\.0\.1 port \d+ \[preauth\]|Disconnected from 127\.0\.0\.1.*\[preauth\]/);
    const log = logsSince(mark);
    expect(log).not.toMatch(/Accepted publickey|Postponed publickey|Failed publickey|Starting session|User child/);
    await conn.close();
  });

  it('when no key is enrolled and trust-on-first-use is not asked for, then the connection is refused as unknown', async () => {
    const conn = new SshConnection({ target: targetFor(sshd, { hostKeys: [] }), logger });
    const error = await conn.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect((error as HostKeyMismatchError).reason).toBe('unknown');
    await conn.close();
  });

  it('when the enrolled key is revoked, then the connection is refused even though it matches', async () => {
    const key = parsePublicKeyLine(sshd.hostKey.publicLine);
    const conn = new SshConnection({ target: targetFor(sshd, { hostKeys: [key], revokedHostKeys: [key] }), logger });
    const error = await conn.connect().catch((e: unknown) => e);
    expect((error as HostKeyMismatchError).reason).toBe('revoked');
    await conn.close();
  });

  it('when trust-on-first-use is asked for and no key is enrolled, then the key is accepted and returned to persist', async () => {
    const conn = new SshConnection({ target: targetFor(sshd, { hostKeys: [] }), logger, trustOnFirstUse: true });
    const info = await conn.connect();
    expect(info.learned).toBe(true);
    expect(info.hostKey.line).toBe(sshd.hostKey.publicLine.split(' ').slice(0, 2).join(' '));
    expect(info.hostKey.fingerprint).toBe(sshKeygenFingerprint(`${sshd.hostKey.privatePath}.pub`));
    await expect(conn.exec('echo ok')).resolves.toMatchObject({ exitCode: 0, stdout: 'ok\n' });
    await conn.close();

    // The persisted line is then an ordinary enrolled key.
    const again = new SshConnection({ target: targetFor(sshd, { hostKeys: [parsePublicKeyLine(info.hostKey.line)] }), logger });
    await expect(again.connect()).resolves.toMatchObject({ learned: false });
    await again.close();
  });

  it('when trust-on-first-use is asked for but a different key is enrolled, then the connection is still refused', async () => {
    const other = generateKey(sshd.dir, 'another_host_key');
    const conn = new SshConnection({
      target: targetFor(sshd, { hostKeys: [parsePublicKeyLine(other.publicLine)] }),
      logger,
      trustOnFirstUse: true,
    });
    await expect(conn.connect()).rejects.toBeInstanceOf(HostKeyMismatchError);
    await conn.close();
  });

  it('when the server refuses our key, then connect fails with an auth error that does not contain the key', async () => {
    const stranger = generateKey(sshd.dir, 'stranger_client');
    const conn = new SshConnection({ target: targetFor(sshd, { privateKey: stranger.privateKey }), logger });
    const error = await conn.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshConnectionError);
    expect((error as SshConnectionError).kind).toBe('auth');
    const text = `${String(error)} ${JSON.stringify(error)} ${String((error as Error).cause)}`;
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(stranger.privateKey.toString('utf8').split('\n')[1]?.slice(0, 30));
    await conn.close();
  });

  it('when nothing listens on the port, then connect fails with a connect error', async () => {
    const conn = new SshConnection({ target: targetFor(sshd, { port: 1 }), logger });
    const error = await conn.connect().catch((e: unknown) => e);
    expect((error as SshConnectionError).kind).toBe('connect');
    await conn.close();
  });

  it('when the private key is not a key, then connect fails without echoing it', async () => {
    const conn = new SshConnection({ target: targetFor(sshd, { privateKey: Buffer.from('hunter2-not-a-key') }), logger });
    const error = await conn.connect().catch((e: unknown) => e);
    expect((error as SshConnectionError).kind).toBe('auth');
    expect(String(error)).not.toContain('hunter2');
    await conn.close();
  });
});
