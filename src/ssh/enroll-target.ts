/**
 * Enrolling a target, as one story: validate the request, refuse what the address policy refuses
 * (before any socket), connect once verifying the host key (or learning it, when trust on first
 * use was asked for), prove that login works, and only then add the target to the targets file.
 * Any failure leaves the file untouched.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { InputError, NotAllowedError, RemoteCommandError, TimeoutError, errorMessage } from '../errors.js';
import { addTarget, assertCanAddTarget } from './add-target.js';
import { isForbiddenHost } from './address-policy.js';
import { SshConnection, type ConnectInfo } from './connection.js';
import type { ConnectionDefaults } from './connect-target.js';
import { parseKnownHosts, parsePublicKeyLine, formatPublicKeyLine } from './host-key.js';
import { isInside } from './key-file.js';
import { EnrollRequest, type EnrolledTarget, type EnrollRequestInput } from './schema.js';
import { readTargetsDocument, writeTargetsDocument } from './targets-file.js';
import { formatPath, resolveTarget, type LookupAddresses } from './targets.js';

/** The harmless command that proves the login works, and as whom. */
export const LOGIN_CHECK_COMMAND = 'id -un';
const LOGIN_CHECK_TIMEOUT_MS = 15_000;

export type EnrollTargetDeps = {
  /** The file the server reads (CHAOS_TARGETS_FILE). */
  targetsFile: string;
  /** Where `key` is looked up (CHAOS_KEYS_DIR). */
  keysDir: string;
  logger: Logger;
  /** A relative `known_hosts` is resolved against this. Default: the process's working directory. */
  cwd?: string;
  /** DNS resolution; injectable for tests. */
  lookup?: LookupAddresses;
  connection?: Pick<ConnectionDefaults, 'readyTimeoutMs'>;
};

export type EnrollResult = {
  /** The entry as written to the targets file. */
  target: EnrolledTarget;
  /** The key the host presented and that was verified (or learned). */
  hostKey: ConnectInfo['hostKey'];
  /** True when the key was learned by trust on first use: compare its fingerprint out of band. */
  learned: boolean;
  /** True when an existing target of that name was overwritten. */
  replaced: boolean;
  /** The IP address connected to. */
  address: string;
};

/**
 * Throws `InputError` (bad request, unusable key, unreadable known_hosts or targets file),
 * `ConflictError` (name taken without `replace`), `NotAllowedError` (address policy; its subclass
 * `HostKeyMismatchError` when the host key is not trusted), `SshConnectionError`,
 * `RemoteCommandError` or `TimeoutError` (login check).
 */
export async function enrollTarget(request: EnrollRequestInput, deps: EnrollTargetDeps): Promise<EnrollResult> {
  const parsed = EnrollRequest.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? formatPath(issue.path) : 'request';
    throw new InputError(`${field || 'request'}: ${issue?.message ?? 'invalid'}`, field || 'request', { cause: parsed.error });
  }
  const req = parsed.data;
  const log = deps.logger.child({ target: req.name, host: req.host, port: req.port });

  // The same refusal a connection would meet, said plainly: the operator owns this machine.
  if (isForbiddenHost(req.host)) {
    throw new NotAllowedError(`${req.host} is a loopback, link-local or metadata address: it can never be a target`);
  }

  const knownHostsFile = req.known_hosts === undefined ? undefined : path.resolve(deps.cwd ?? process.cwd(), req.known_hosts);
  const draft: EnrolledTarget = {
    name: req.name,
    host: req.host,
    port: req.port,
    user: req.user,
    key: req.key,
    host_keys: req.host_keys.map((line) => formatPublicKeyLine(parsePublicKeyLine(line))),
    ...(knownHostsFile === undefined ? {} : { known_hosts: knownHostsFile }),
    ...(req.services ? { services: req.services } : {}),
  };

  // Fail on a broken file or a taken name now, not after a connection.
  const label = deps.targetsFile;
  assertCanAddTarget(await readTargetsDocument(deps.targetsFile), draft.name, { replace: req.replace, label });
  if (knownHostsFile !== undefined) await assertKnownHostsListHost(knownHostsFile, req.host, req.port);

  let resolved;
  try {
    resolved = await resolveTarget({ name: draft.name }, { targets: [draft], keysDir: deps.keysDir, lookup: deps.lookup });
  } catch (error) {
    if (error instanceof InputError && error.field === 'key') {
      throw new InputError(`key: ${req.key} is not a usable private key file in ${deps.keysDir}`, 'key', { cause: error });
    }
    if (!(error instanceof NotAllowedError)) throw error;
    throw new NotAllowedError(
      `${req.host} is refused by the address policy: it does not resolve, or resolves to a loopback, link-local or metadata address`,
      { cause: error },
    );
  }

  const connection = new SshConnection({
    target: resolved,
    logger: log,
    trustOnFirstUse: req.trust_on_first_use,
    readyTimeoutMs: deps.connection?.readyTimeoutMs,
    maxChannels: 1,
    reconnect: { maxAttempts: 1 },
  });
  let info: ConnectInfo;
  try {
    info = await connection.connect();
    await checkLogin(connection, resolved.host, req.user);
  } finally {
    await connection.close();
  }

  const target: EnrolledTarget = {
    ...draft,
    host_keys: info.learned ? [info.hostKey.line] : draft.host_keys,
    ...(knownHostsFile === undefined ? {} : { known_hosts: storedPath(deps.targetsFile, knownHostsFile) }),
  };
  // Re-read: the file may have changed while we were connecting (another checkout, the sandbox).
  const { document, replaced } = addTarget(await readTargetsDocument(deps.targetsFile), target, { replace: req.replace, label });
  await writeTargetsDocument(deps.targetsFile, document);
  log.info({ fingerprint: info.hostKey.fingerprint, learned: info.learned, replaced }, 'target enrolled');
  return { target, hostKey: info.hostKey, learned: info.learned, replaced, address: resolved.address };
}

/** A known_hosts file without an entry for this host would only fail later, as "unknown key". */
async function assertKnownHostsListHost(file: string, host: string, port: number): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(`known_hosts: cannot read ${file}: ${errorMessage(error)}`, 'known_hosts', { cause: error });
  }
  const lookup = port === 22 ? host : `[${host}]:${port}`;
  if (parseKnownHosts(text, host, port).keys.length === 0) {
    throw new InputError(`known_hosts: ${file} lists no usable key for ${lookup}`, 'known_hosts');
  }
}

/** Runs the login check; anything but "exited 0, printed the expected user" is a failure. */
async function checkLogin(connection: SshConnection, host: string, user: string): Promise<void> {
  const result = await connection.exec(LOGIN_CHECK_COMMAND, { timeoutMs: LOGIN_CHECK_TIMEOUT_MS, maxOutputBytes: 4096 });
  if (result.outcome === 'timeout') {
    throw new TimeoutError(`the login check (${LOGIN_CHECK_COMMAND}) did not finish in time`, LOGIN_CHECK_TIMEOUT_MS);
  }
  const details = {
    host,
    command: LOGIN_CHECK_COMMAND,
    exitCode: result.exitCode,
    signal: result.signal,
    stderrTail: result.stderr.slice(-2048),
  };
  if (result.outcome !== 'exited' || result.exitCode !== 0) {
    throw new RemoteCommandError(`the login check (${LOGIN_CHECK_COMMAND}) failed (${result.outcome}, exit ${result.exitCode ?? 'none'})`, details);
  }
  const who = result.stdout.trim();
  if (who !== user) {
    throw new RemoteCommandError(`the login check ran as ${JSON.stringify(who)}, not as ${JSON.stringify(user)}`, details);
  }
}

/** known_hosts as written in the file: relative to the file's folder when inside it. */
function storedPath(targetsFile: string, knownHostsFile: string): string {
  const dir = path.dirname(path.resolve(targetsFile));
  return isInside(dir, knownHostsFile) ? path.relative(dir, knownHostsFile) : knownHostsFile;
}
