import { sshFailure } from '../../../src/http/errors.js';
import { HostKeyMismatchError, SshConnectionError, type SshFailureKind } from '../../../src/ssh/errors.js';

const socketError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
const failure = (message: string, kind: SshFailureKind, cause?: unknown) => new SshConnectionError(message, kind, '192.0.2.10', 22, { cause });

describe('why a target could not be reached', () => {
  it.each([
    [failure('cannot connect: ECONNREFUSED', 'connect', socketError('ECONNREFUSED')), 'refused', /192\.0\.2\.10:22 refused/],
    [failure('cannot connect: ETIMEDOUT', 'connect', socketError('ETIMEDOUT')), 'timed_out', /timed out/],
    [failure('cannot connect: EHOSTUNREACH', 'connect', socketError('EHOSTUNREACH')), 'unreachable', /unreachable \(EHOSTUNREACH\)/],
    [failure('SSH handshake timed out', 'handshake'), 'timed_out', /handshake .* timed out/],
    [failure('SSH handshake failed: no matching key exchange', 'handshake'), 'handshake_failed', /handshake with 192\.0\.2\.10:22 failed$/],
    [failure('authentication failed: the server refused the key', 'auth'), 'auth_failed', /refused the key/],
    [failure('connection lost while the command was running', 'lost'), 'connection_lost', /was lost/],
    [new HostKeyMismatchError('192.0.2.10', 22, 'ssh-ed25519', 'SHA256:abc', 'mismatch'), 'host_key_mismatch', /not trusted .*not the enrolled one/],
    [new HostKeyMismatchError('192.0.2.10', 22, 'ssh-ed25519', 'SHA256:abc', 'unknown'), 'host_key_mismatch', /no host key is enrolled/],
  ])('when the failure is %s, then the reason is %s and the detail says it', (error, reason, detail) => {
    const answer = sshFailure(error);
    expect(answer?.reason).toBe(reason);
    expect(answer?.detail).toMatch(detail);
  });

  it('when the error is not a transport failure, then there is no reason to give', () => {
    expect(sshFailure(new Error('boom'))).toBeNull();
  });

  it('when ssh2 says more than the user needs, then only the kind reaches the answer', () => {
    const answer = sshFailure(failure('SSH handshake failed: -----BEGIN OPENSSH PRIVATE KEY----- oops', 'handshake'));
    expect(answer?.detail).not.toMatch(/PRIVATE KEY/);
  });
});
