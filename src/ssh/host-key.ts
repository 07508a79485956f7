/**
 * Host-key verification for ssh2's `hostVerifier`: the raw key blob the server presents is compared
 * byte for byte (timing-safe) with the keys enrolled for that host and port. ssh2's `hostHash`
 * option is not used: comparing hex digests would throw away the key type and the exact bytes.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { InputError } from '../errors.js';
import { HostKeyMismatchError } from './errors.js';

/** A public host key: its type name and the SSH wire-format blob (which starts with that name). */
export type HostKey = { type: string; blob: Buffer };

/** Parses `<type> <base64> [comment]`; the blob must decode and name the same type. */
export function parsePublicKeyLine(line: string): HostKey {
  const [type, base64] = line.trim().split(/\s+/);
  if (!type || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    throw new InputError('host key is not an OpenSSH public-key line', 'host_keys');
  }
  const blob = Buffer.from(base64, 'base64');
  if (blobKeyType(blob) !== type) {
    throw new InputError('host key blob does not match its type', 'host_keys');
  }
  return { type, blob };
}

/** The key type named at the start of an SSH public-key blob, or null when malformed. */
export function blobKeyType(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || blob.length < 4 + len + 1) return null;
  const type = blob.subarray(4, 4 + len).toString('latin1');
  return /^[a-z0-9@.-]+$/.test(type) ? type : null;
}

/** The fingerprint OpenSSH prints: "SHA256:" + unpadded base64 of the blob's SHA-256. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The OpenSSH line for a key, for persisting a key learned on first use. */
export function formatPublicKeyLine(key: HostKey): string {
  return `${key.type} ${key.blob.toString('base64')}`;
}

export type KnownHostsMatch = { keys: HostKey[]; revoked: HostKey[] };

/**
 * The keys a known_hosts file lists for `host` on `port` (looked up as `host` on 22, `[host]:port`
 * otherwise, like OpenSSH). Supports comma-separated patterns, `*`/`?` wildcards, `!` negation,
 * hashed names (`|1|salt|hash`) and `@revoked`; `@cert-authority` lines are skipped (no
 * certificate support). Malformed lines are skipped, as OpenSSH does.
 */
export function parseKnownHosts(text: string, host: string, port: number): KnownHostsMatch {
  const lookup = port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
  const result: KnownHostsMatch = { keys: [], revoked: [] };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]?.startsWith('@')) marker = fields.shift();
    const [patterns, type, base64] = fields;
    if (!patterns || !type || !base64) continue;
    if (marker !== undefined && marker !== '@revoked') continue;
    if (!hostMatchesPatterns(lookup, patterns)) continue;
    let key: HostKey;
    try {
      key = parsePublicKeyLine(`${type} ${base64}`);
    } catch {
      continue;
    }
    (marker === '@revoked' ? result.revoked : result.keys).push(key);
  }
  return result;
}

function hostMatchesPatterns(lookup: string, patterns: string): boolean {
  let matched = false;
  for (const pattern of patterns.split(',')) {
    if (pattern.startsWith('|1|')) {
      if (hashedMatches(lookup, pattern)) matched = true;
      continue;
    }
    const negated = pattern.startsWith('!');
    const body = (negated ? pattern.slice(1) : pattern).toLowerCase();
    if (!globMatches(body, lookup)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function hashedMatches(lookup: string, pattern: string): boolean {
  const [, , saltB64, hashB64] = pattern.split('|');
  if (!saltB64 || !hashB64) return false;
  const expected = Buffer.from(hashB64, 'base64');
  const actual = createHmac('sha1', Buffer.from(saltB64, 'base64')).update(lookup).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function globMatches(glob: string, text: string): boolean {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(text);
}

/** Host-key algorithms to offer so the server presents a key of an enrolled type. */
export function hostKeyAlgorithms(keys: readonly HostKey[]): ServerHostKeyAlgorithm[] | undefined {
  const algorithms = new Set<ServerHostKeyAlgorithm>();
  for (const { type } of keys) {
    switch (type) {
      case 'ssh-ed25519':
      case 'ecdsa-sha2-nistp256':
      case 'ecdsa-sha2-nistp384':
      case 'ecdsa-sha2-nistp521':
        algorithms.add(type);
        break;
      case 'ssh-rsa':
        algorithms.add('rsa-sha2-512').add('rsa-sha2-256').add('ssh-rsa');
        break;
      default:
        break;
    }
  }
  return algorithms.size > 0 ? [...algorithms] : undefined;
}

export type HostKeyDecision =
  | { ok: true; key: HostKey; fingerprint: string; learned: boolean }
  | { ok: false; error: HostKeyMismatchError };

export type HostKeyVerifierOptions = {
  host: string;
  port: number;
  trusted: readonly HostKey[];
  revoked?: readonly HostKey[];
  /** Accept and report an unseen key, but only when no key at all is trusted for this host. */
  trustOnFirstUse?: boolean;
};

export type HostKeyVerifier = {
  /** Pass as ssh2's `hostVerifier` (the synchronous form: raw key in, boolean out). */
  verify: (key: Buffer) => boolean;
  /** What the last `verify` call decided; undefined until the server presented a key. */
  decision: () => HostKeyDecision | undefined;
};

export function createHostKeyVerifier(options: HostKeyVerifierOptions): HostKeyVerifier {
  const { host, port, trusted, revoked = [], trustOnFirstUse = false } = options;
  let last: HostKeyDecision | undefined;

  const refuse = (presented: Buffer, reason: HostKeyMismatchError['reason']): false => {
    const type = blobKeyType(presented) ?? 'unknown';
    last = { ok: false, error: new HostKeyMismatchError(host, port, type, fingerprintSha256(presented), reason) };
    return false;
  };

  const verify = (presented: Buffer): boolean => {
    const type = blobKeyType(presented);
    if (type === null) return refuse(presented, 'mismatch');
    if (revoked.some((k) => sameKey(k, type, presented))) return refuse(presented, 'revoked');
    const key = { type, blob: Buffer.from(presented) };
    if (trusted.some((k) => sameKey(k, type, presented))) {
      last = { ok: true, key, fingerprint: fingerprintSha256(presented), learned: false };
      return true;
    }
    if (trusted.length === 0 && trustOnFirstUse) {
      last = { ok: true, key, fingerprint: fingerprintSha256(presented), learned: true };
      return true;
    }
    return refuse(presented, trusted.length === 0 ? 'unknown' : 'mismatch');
  };

  return { verify, decision: () => last };
}

function sameKey(known: HostKey, type: string, presented: Buffer): boolean {
  return known.type === type && known.blob.length === presented.length && timingSafeEqual(known.blob, presented);
}
