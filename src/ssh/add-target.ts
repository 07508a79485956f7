/**
 * The targets-file edit behind `chaos-handler enroll`, as a pure function over the file's JSON:
 * validate what is there, add (or, when asked, replace) one target, and keep everything else
 * exactly as it was, including fields this version does not know (another checkout or a newer
 * version may have written them).
 */
import { ConflictError, InputError, errorMessage } from '../errors.js';
import { parsePublicKeyLine } from './host-key.js';
import { EnrolledTarget, TargetsFile } from './schema.js';
import { formatPath } from './targets.js';

/** The file's JSON as read: an object with a `targets` array, other fields kept verbatim. */
export type TargetsDocument = { targets: unknown[] } & Record<string, unknown>;

export type AddTargetOptions = {
  /** Overwrite a target of the same name instead of refusing. Default false. */
  replace?: boolean;
  /** How to name the file in error messages. Default "targets file". */
  label?: string;
};

export type AddTargetResult = { document: TargetsDocument; replaced: boolean };

/** Fields the enroll verb owns; on replace, every other field of the old entry is kept. */
const MANAGED_FIELDS = ['name', 'host', 'port', 'user', 'key', 'host_keys', 'known_hosts'] as const;

/**
 * Returns a new document with `target` added. `document` is the parsed JSON of the file, or
 * undefined when the file does not exist yet. The input is never mutated.
 *
 * Throws `InputError` (naming the field) when the document or the target is invalid, and
 * `ConflictError` when the name is taken and `replace` was not asked for.
 */
export function addTarget(document: unknown, target: EnrolledTarget, options: AddTargetOptions = {}): AddTargetResult {
  const entry = toEntry(target);
  const { current, index } = locate(document, entry.name as string, options);
  const next = structuredClone(current) as TargetsDocument;
  if (index === -1) {
    next.targets.push(entry);
    return { document: next, replaced: false };
  }
  const old = next.targets[index] as Record<string, unknown>;
  const owned = new Set<string>([...MANAGED_FIELDS, ...Object.keys(entry)]);
  const kept = Object.fromEntries(Object.entries(old).filter(([k]) => !owned.has(k)));
  next.targets[index] = { ...entry, ...kept };
  return { document: next, replaced: true };
}

/**
 * The checks of `addTarget` that do not need the target's keys: the document is valid and the
 * name is free (or `replace` was asked for). Lets enrolment fail before it connects.
 */
export function assertCanAddTarget(document: unknown, name: string, options: AddTargetOptions = {}): void {
  locate(document, name, options);
}

function locate(document: unknown, name: string, options: AddTargetOptions): { current: unknown; index: number } {
  const label = options.label ?? 'targets file';
  const current = document === undefined ? { targets: [] } : document;
  const file = TargetsFile.safeParse(current);
  if (!file.success) {
    const issue = file.error.issues[0];
    const field = (issue ? formatPath(issue.path) : '') || 'targets';
    throw new InputError(`${label}: ${field}: ${issue?.message ?? 'invalid'}; fix it by hand first`, field, { cause: file.error });
  }
  const index = file.data.targets.findIndex((t) => t.name === name);
  if (index !== -1 && options.replace !== true) {
    throw new ConflictError(`target "${name}" is already enrolled in ${label}`);
  }
  return { current, index };
}

/** The entry as written: validated, managed fields in a fixed order, empty lists left out. */
function toEntry(target: EnrolledTarget): Record<string, unknown> {
  const parsed = EnrolledTarget.safeParse(target);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = (issue ? formatPath(issue.path) : '') || 'target';
    throw new InputError(`${field}: ${issue?.message ?? 'invalid'}`, field, { cause: parsed.error });
  }
  const t = parsed.data;
  const hostKeys = t.host_keys.map((line, i) => {
    try {
      parsePublicKeyLine(line);
    } catch (error) {
      throw new InputError(`host_keys[${i}]: ${errorMessage(error)}`, `host_keys[${i}]`, { cause: error });
    }
    return line.trim();
  });
  if (hostKeys.length === 0 && t.known_hosts === undefined) {
    // Such a target could never be connected to: refuse rather than write a dead entry.
    throw new InputError('host_keys: a target needs at least one host key or a known_hosts file', 'host_keys');
  }
  return {
    name: t.name,
    host: t.host,
    port: t.port,
    user: t.user,
    key: t.key,
    ...(hostKeys.length > 0 ? { host_keys: hostKeys } : {}),
    ...(t.known_hosts !== undefined ? { known_hosts: t.known_hosts } : {}),
    ...(t.services !== undefined ? { services: t.services } : {}),
  };
}
