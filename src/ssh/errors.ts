/**
 * The two failures only the SSH transport knows. Everything else uses src/errors.ts.
 */
import { NotAllowedError } from '../errors.js';

/**
 * The host presented a key that is not enrolled for it (or no key is enrolled and trust-on-first-use
 * was not asked for). No authentication was attempted and no session opened. A `NotAllowedError`,
 * so callers that only know the shared classes still treat it as a refusal.
 */
export class HostKeyMismatchError extends NotAllowedError {
  constructor(
    readonly host: string,
    readonly port: number,
    /** The presented key's type, e.g. "ssh-ed25519". */
    readonly keyType: string,
    /** The presented key's fingerprint as OpenSSH prints it: "SHA256:<base64 without padding>". */
    readonly fingerprint: string,
    readonly reason: 'mismatch' | 'unknown' | 'revoked',
  ) {
    super(`host key for ${host}:${port} is not trusted (${keyType} ${fingerprint})`);
  }
}

export type SshFailureKind =
  /** TCP connect failed (refused, unreachable). */
  | 'connect'
  /** The handshake did not finish in time (readyTimeout) or broke off. */
  | 'handshake'
  /** The server refused our key. */
  | 'auth'
  /** The link dropped while a command was running; its outcome is unknown. */
  | 'lost'
  /** The connection was closed by us, never opened, or gave up reconnecting. */
  | 'closed'
  /** The server refused to open a channel, or to start the command on it. */
  | 'channel';

/** The transport failed; no command result exists. Carries what a human needs, never the key. */
export class SshConnectionError extends Error {
  constructor(
    message: string,
    readonly kind: SshFailureKind,
    readonly host: string,
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
