/**
 * What the ssh/ module reads from outside: the enrolled targets file (`config/targets.json`, written
 * by the sandbox script or by an operator) and the API's `target_vm`.
 */
import { z } from 'zod';
import { parsePublicKeyLine } from './host-key.js';

/** A file name inside the keys directory: no separators, no dot-only names. */
export const KeyName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/, 'must be a file name inside the keys directory');
export type KeyName = z.infer<typeof KeyName>;

/** An OpenSSH public-key line: `<type> <base64 blob> [comment]`. The blob is checked in host-key.ts. */
export const OpenSshPublicKeyLine = z
  .string()
  .max(16_384)
  .regex(/^[a-z0-9@.-]+ [A-Za-z0-9+/]+={0,2}( [^\r\n]*)?$/, 'must be an OpenSSH public-key line ("ssh-ed25519 AAAA...")');
export type OpenSshPublicKeyLine = z.infer<typeof OpenSshPublicKeyLine>;

/** A DNS name or an IP literal (IPv6 without brackets). Policy checks live in address-policy.ts. */
export const HostName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9._:%-]+$/, 'must be a host name or an IP address');
export type HostName = z.infer<typeof HostName>;

export const Port = z.number().int().min(1).max(65535);
export type Port = z.infer<typeof Port>;

/** A POSIX login name (what useradd accepts). */
export const UserName = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[a-z_][a-z0-9_-]*\$?$/, 'must be a POSIX user name');
export type UserName = z.infer<typeof UserName>;

/** A health URL as seen from the host itself (so loopback is right): http://127.0.0.1:8080/health. */
export const HealthUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s/'"]+(\/[^\s'"]*)?$/, 'must be an http:// or https:// URL without spaces or quotes');

/**
 * A PostgreSQL connection string as seen from the host. Never with a password: it would sit in
 * targets.json and in the argv of the collector on the host; the password belongs in the login
 * user's ~/.pgpass (mode 0600) on the host, where the collectors read it like libpq does.
 */
export const DbConnString = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^[A-Za-z0-9@:/?&=._%+-]+$/, 'must be a libpq URI without spaces or shell characters')
  .refine((v) => !/^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(v) && !/[?&]password=/i.test(v), 'must not contain a password: put it in ~/.pgpass (mode 0600) of the login user on the host');

/** HOST:PORT as seen from the host (IPv6 in brackets). */
export const TcpEndpoint = z.string().max(300).regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be HOST:PORT');

const OneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).max(16)]);

/** What the host's sampler probes each second, from the host itself (SPEC §9). */
export const TargetServices = z.object({
  /** Health URLs of the host's HTTP services (one or several). */
  http: OneOrMany(HealthUrl).optional(),
  /** PostgreSQL databases to probe and whose connections to count (one or several). */
  db: OneOrMany(DbConnString).optional(),
  /** TCP endpoints that must accept connections. */
  tcp: z.array(TcpEndpoint).max(32).optional(),
  /** Also probe every TCP port found listening at enrolment (default true). */
  listener_probes: z.boolean().optional(),
});
export type TargetServices = z.infer<typeof TargetServices>;

/** One host the coordinator may talk to. Anything not listed here is refused. */
export const EnrolledTarget = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-"'),
  host: HostName,
  port: Port.default(22),
  user: UserName,
  /** Private key file name inside the keys directory. */
  key: KeyName,
  /** The host's public keys; a presented key must equal one of these (or a known_hosts entry). */
  host_keys: z.array(OpenSshPublicKeyLine).max(32).default([]),
  /** A known_hosts file consulted for `[host]:port` / `host` entries (relative to the targets file). */
  known_hosts: z.string().min(1).max(4096).optional(),
  services: TargetServices.optional(),
});
export type EnrolledTarget = z.infer<typeof EnrolledTarget>;

export const TargetsFile = z
  .object({ targets: z.array(EnrolledTarget).max(1000) })
  .superRefine((file, ctx) => {
    const names = new Set<string>();
    file.targets.forEach((t, i) => {
      if (names.has(t.name)) {
        ctx.addIssue({ code: 'custom', path: ['targets', i, 'name'], message: `duplicate target name "${t.name}"` });
      }
      names.add(t.name);
    });
  });
export type TargetsFile = z.infer<typeof TargetsFile>;

/**
 * What `chaos-handler enroll` asks for: one target and exactly one way to trust its host key
 * (keys given, a known_hosts file, or learning the key on first use, which must be asked for).
 */
export const EnrollRequest = z
  .strictObject({
    // The entry as it will be written; `known_hosts` is given as the operator typed it (relative
    // to their working directory) and stored relative to the targets file when inside its folder.
    ...EnrolledTarget.shape,
    trust_on_first_use: z.boolean().default(false),
    /** Overwrite a target already enrolled under this name. */
    replace: z.boolean().default(false),
  })
  .superRefine((req, ctx) => {
    req.host_keys.forEach((line, i) => {
      try {
        parsePublicKeyLine(line);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['host_keys', i], message: 'key blob is not valid base64 of a key of the named type' });
      }
    });
    const ways = [req.host_keys.length > 0, req.known_hosts !== undefined, req.trust_on_first_use].filter(Boolean).length;
    if (ways !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['host_keys'],
        message:
          ways === 0
            ? 'say how to trust the host key: give its key, a known_hosts file, or ask for trust on first use explicitly'
            : 'give only one of host keys, a known_hosts file or trust on first use',
      });
    }
  });
export type EnrollRequest = z.infer<typeof EnrollRequest>;
export type EnrollRequestInput = z.input<typeof EnrollRequest>;

/** `target_vm` by address: must match an enrolled host and port. */
export const TargetByAddress = z.strictObject({
  host: HostName,
  port: Port.optional(),
  user: UserName.optional(),
  /** A key name or a relative path inside the keys directory. */
  key_path: z
    .string()
    .min(1)
    .max(1024)
    .refine((p) => !p.includes('\0'), 'must not contain NUL')
    .optional(),
});
export type TargetByAddress = z.infer<typeof TargetByAddress>;

/** `target_vm` by the enrolled target's name. */
export const TargetByName = z.strictObject({ name: EnrolledTarget.shape.name });
export type TargetByName = z.infer<typeof TargetByName>;

/** The API's `target_vm`. */
export const TargetRequest = z.union([TargetByName, TargetByAddress]);
export type TargetRequest = z.infer<typeof TargetRequest>;
