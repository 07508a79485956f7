/**
 * Policy: which hosts the coordinator may talk to, and with which key. Everything here runs before
 * any TCP connection; connection.ts (the mechanism) only ever sees a `ResolvedTarget`.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { InputError, NotAllowedError, errorMessage } from '../errors.js';
import { isForbiddenAddress, isForbiddenHost } from './address-policy.js';
import { parseKnownHosts, parsePublicKeyLine, type HostKey } from './host-key.js';
import { readKeyFile } from './key-file.js';
import { TargetRequest, TargetsFile, type EnrolledTarget, type TargetServices } from './schema.js';

/** The one refusal message: no hint of which check failed, so it cannot be used to probe. */
export const NOT_ENROLLED = 'target is not enrolled';

/** Everything needed to connect to one host; produced only by `resolveTarget`. */
export type ResolvedTarget = {
  /** The enrolled target's name. */
  name: string;
  /** The host as enrolled (used for known_hosts lookup and in messages). */
  host: string;
  /** The IP address that was checked against the policy; the connection goes here, not to `host`. */
  address: string;
  port: number;
  user: string;
  /** Never logged, never put in an error. */
  privateKey: Buffer;
  hostKeys: HostKey[];
  /** Keys a known_hosts file marks `@revoked`; refused even if also listed as trusted. */
  revokedHostKeys: HostKey[];
  services: TargetServices;
};

export type LookupAddresses = (host: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

export type ResolveTargetDeps = {
  targets: readonly EnrolledTarget[];
  keysDir: string;
  /** DNS resolution; injectable for tests. Default: getaddrinfo via dns.lookup, all addresses. */
  lookup?: LookupAddresses;
};

const defaultLookup: LookupAddresses = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Reads and validates a targets file. Errors name the file and the offending field. A relative
 * `known_hosts` path is made absolute against the file's directory.
 */
export async function loadTargets(file: string): Promise<TargetsFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(`${file}: cannot read targets file: ${errorMessage(error)}`, 'targets', { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${file}: not valid JSON: ${errorMessage(error)}`, 'targets', { cause: error });
  }
  const parsed = TargetsFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? formatPath(issue.path) : 'targets';
    throw new InputError(`${file}: ${field}: ${issue?.message ?? 'invalid'}`, field, { cause: parsed.error });
  }
  const dir = path.dirname(path.resolve(file));
  parsed.data.targets.forEach((target, i) => {
    target.host_keys.forEach((line, j) => {
      try {
        parsePublicKeyLine(line);
      } catch (error) {
        const field = `targets[${i}].host_keys[${j}]`;
        throw new InputError(`${file}: ${field}: ${errorMessage(error)}`, field, { cause: error });
      }
    });
    if (target.known_hosts !== undefined) target.known_hosts = path.resolve(dir, target.known_hosts);
  });
  return parsed.data;
}

/**
 * Turns the API's `target_vm` into a connectable target, or refuses. Refused with the same
 * `NotAllowedError` whatever the reason: not enrolled (host:port, name or user), a loopback /
 * link-local / metadata name or address, or a name that resolves to one. The name is resolved
 * once here and the checked address is what the connection uses, so DNS rebinding between check
 * and connect cannot redirect it.
 */
export async function resolveTarget(request: TargetRequest, deps: ResolveTargetDeps): Promise<ResolvedTarget> {
  const parsed = TargetRequest.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? formatPath(['target_vm', ...issue.path]) : 'target_vm';
    throw new InputError(`${field}: ${issue?.message ?? 'invalid'}`, field, { cause: parsed.error });
  }
  const req = parsed.data;
  const enrolled = findEnrolled(req, deps.targets);
  if (!enrolled || isForbiddenHost(enrolled.host) || ('host' in req && isForbiddenHost(req.host))) {
    throw new NotAllowedError(NOT_ENROLLED);
  }

  const address = await resolveAddress(enrolled.host, deps.lookup ?? defaultLookup);

  const keyPath = 'key_path' in req && req.key_path !== undefined ? req.key_path : enrolled.key;
  const privateKey = await readKeyFile(deps.keysDir, keyPath, 'key_path' in req && req.key_path ? 'target_vm.key_path' : 'key');

  const hostKeys = enrolled.host_keys.map((line) => parsePublicKeyLine(line));
  const revokedHostKeys: HostKey[] = [];
  if (enrolled.known_hosts !== undefined) {
    let text: string;
    try {
      text = await readFile(enrolled.known_hosts, 'utf8');
    } catch (error) {
      throw new InputError(`known_hosts of enrolled target "${enrolled.name}" cannot be read`, 'known_hosts', {
        cause: error,
      });
    }
    const known = parseKnownHosts(text, enrolled.host, enrolled.port);
    hostKeys.push(...known.keys);
    revokedHostKeys.push(...known.revoked);
  }

  return {
    name: enrolled.name,
    host: enrolled.host,
    address,
    port: enrolled.port,
    user: enrolled.user,
    privateKey,
    hostKeys,
    revokedHostKeys,
    services: enrolled.services ?? {},
  };
}

function findEnrolled(req: TargetRequest, targets: readonly EnrolledTarget[]): EnrolledTarget | undefined {
  if ('name' in req) return targets.find((t) => t.name === req.name);
  const host = normalizeHost(req.host);
  const port = req.port ?? 22;
  return targets.find(
    (t) => normalizeHost(t.host) === host && t.port === port && (req.user === undefined || req.user === t.user),
  );
}

/** One address for `host`, every resolved address checked: one bad address refuses the name. */
async function resolveAddress(host: string, lookup: LookupAddresses): Promise<string> {
  const bare = normalizeHost(host);
  if (isIP(bare) !== 0) return bare;
  let addresses: ReadonlyArray<{ address: string }>;
  try {
    addresses = await lookup(bare);
  } catch {
    // Same answer as a refusal: whether a name resolves is not the caller's business.
    throw new NotAllowedError(NOT_ENROLLED);
  }
  const first = addresses[0];
  if (!first || addresses.some((a) => isForbiddenAddress(a.address))) throw new NotAllowedError(NOT_ENROLLED);
  return first.address;
}

/** Lower case, no trailing dot, no brackets, IPv6 in canonical form. */
function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase().replace(/\.$/, '');
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (isIP(h) === 6) {
    try {
      return new URL(`http://[${h}]/`).hostname.slice(1, -1);
    } catch {
      return h;
    }
  }
  return h;
}

/** A zod issue path as people write it: `targets[0].host_keys[1]`. */
export function formatPath(parts: ReadonlyArray<PropertyKey>): string {
  return parts.reduce<string>((acc, part) => {
    if (typeof part === 'number') return `${acc}[${part}]`;
    return acc === '' ? String(part) : `${acc}.${String(part)}`;
  }, '');
}
