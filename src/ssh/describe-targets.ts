/**
 * What `chaos-handler targets` shows: every enrolled target with the fingerprints of the host keys
 * it trusts (enrolled lines and known_hosts entries), as OpenSSH prints them, so an operator can
 * compare them with `ssh-keygen -lf` on the host.
 */
import { readFile, stat } from 'node:fs/promises';
import { errorMessage } from '../errors.js';
import { fingerprintSha256, parseKnownHosts, parsePublicKeyLine, type HostKey } from './host-key.js';
import { loadTargets } from './targets.js';

export type TrustedKey = { type: string; fingerprint: string; source: 'host_keys' | 'known_hosts'; revoked: boolean };

export type TargetDescription = {
  name: string;
  host: string;
  port: number;
  user: string;
  key: string;
  /** Absolute path of the target's known_hosts file, when it has one. */
  known_hosts?: string;
  host_keys: TrustedKey[];
  /** Why some keys could not be listed (an unreadable known_hosts file). */
  problems: string[];
};

/** Reads and validates the targets file (`InputError` when it cannot); a missing file lists nothing. */
export async function describeTargets(file: string): Promise<TargetDescription[]> {
  // Other stat failures fall through: loadTargets reports them with the file's name.
  const missing = await stat(file).then(
    () => false,
    (error: unknown) => typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT',
  );
  if (missing) return [];
  const { targets } = await loadTargets(file);
  return Promise.all(
    targets.map(async (t) => {
      const problems: string[] = [];
      const keys: TrustedKey[] = t.host_keys.map((line) => describeKey(parsePublicKeyLine(line), 'host_keys', false));
      if (t.known_hosts !== undefined) {
        try {
          const known = parseKnownHosts(await readFile(t.known_hosts, 'utf8'), t.host, t.port);
          keys.push(...known.keys.map((k) => describeKey(k, 'known_hosts', false)));
          keys.push(...known.revoked.map((k) => describeKey(k, 'known_hosts', true)));
        } catch (error) {
          problems.push(`known_hosts ${t.known_hosts} cannot be read: ${errorMessage(error)}`);
        }
      }
      return {
        name: t.name,
        host: t.host,
        port: t.port,
        user: t.user,
        key: t.key,
        ...(t.known_hosts === undefined ? {} : { known_hosts: t.known_hosts }),
        host_keys: keys,
        problems,
      };
    }),
  );
}

function describeKey(key: HostKey, source: TrustedKey['source'], revoked: boolean): TrustedKey {
  return { type: key.type, fingerprint: fingerprintSha256(key.blob), source, revoked };
}
