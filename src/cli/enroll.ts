/**
 * `chaos-handler enroll <name> --host H [--port 22] --user U --key <key name>
 *    (--host-key '<type> <base64>' ... | --known-hosts FILE | --trust-on-first-use) [--replace]`
 *
 * Adds a target to the targets file the server reads (CHAOS_TARGETS_FILE), after one SSH login has
 * proven the address, the key and the host key. Exit 0 enrolled, 2 bad input or refused by policy
 * (nothing was attempted over the network), 1 the host could not be verified or logged into.
 * Nothing is written unless every step succeeded.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../config/index.js';
import { ConflictError, InputError, NotAllowedError, RemoteCommandError, errorMessage } from '../errors.js';
import { createLogger } from '../logger.js';
import { enrollTarget, LOGIN_CHECK_COMMAND, type EnrollTargetDeps } from '../ssh/enroll-target.js';
import { HostKeyMismatchError, SshConnectionError } from '../ssh/errors.js';
import { EnrollRequest, type EnrollRequestInput } from '../ssh/schema.js';
import { recordReference } from './baseline.js';

export const ENROLL_USAGE = `Usage: chaos-handler enroll <name> --host <address> [--port 22] --user <user> --key <key name>
         (--host-key '<type> <base64>' ... | --known-hosts <file> | --trust-on-first-use)
         [--http <health URL>]... [--tcp <host:port>]... [--db <connection string>]...
         [--no-listener-probes] [--reference-seconds 10] [--force-reference] [--replace]

Logs in once over SSH (verifying the host key, running \`${LOGIN_CHECK_COMMAND}\`), then adds the target to
CHAOS_TARGETS_FILE. --key names a private key file in CHAOS_KEYS_DIR. --trust-on-first-use accepts the
key the host presents and prints its fingerprint: compare it out of band (ssh-keygen -lf on the host).
--http, --tcp and --db (each repeatable) are what the sampler probes every second from the host itself
(so loopback addresses are right), e.g. --http http://127.0.0.1:8080/health --tcp 127.0.0.1:6379
--db postgresql://app@127.0.0.1:5432/app. A DB password never goes on the command line or into the
targets file: put it in ~/.pgpass (mode 0600) of the login user on the host.
Then it records the host's known-good reference (what it runs and listens on, its normal levels, log
rates and probe latencies) over --reference-seconds (0 skips it; \`chaos-handler baseline <name>\` takes it
later), and a TCP probe is added for every port found listening (unless --no-listener-probes). A host
whose probes fail or whose limits are reached is not recorded as "known good" unless --force-reference.
`;

type Out = { write(text: string): unknown };

/** How each request field is spelled on the command line, for error messages. */
const FLAGS: Record<string, string> = {
  name: '<name>',
  host: '--host',
  port: '--port',
  user: '--user',
  key: '--key',
  host_keys: '--host-key',
  known_hosts: '--known-hosts',
  trust_on_first_use: '--trust-on-first-use',
  services: '--http/--tcp/--db',
  replace: '--replace',
};

export async function runEnroll(
  args: string[],
  env: Record<string, string | undefined>,
  stdout: Out,
  stderr: Out,
  overrides: Pick<EnrollTargetDeps, 'lookup' | 'connection' | 'cwd'> = {},
): Promise<number> {
  const say = (text: string): void => void stderr.write(`chaos-handler enroll: ${text}\n`);
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        user: { type: 'string' },
        key: { type: 'string' },
        'host-key': { type: 'string', multiple: true, default: [] },
        'known-hosts': { type: 'string' },
        'trust-on-first-use': { type: 'boolean', default: false },
        http: { type: 'string', multiple: true, default: [] },
        tcp: { type: 'string', multiple: true, default: [] },
        db: { type: 'string', multiple: true, default: [] },
        'no-listener-probes': { type: 'boolean', default: false },
        'reference-seconds': { type: 'string', default: '10' },
        'force-reference': { type: 'boolean', default: false },
        replace: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    say(`${errorMessage(error)}\n\n${ENROLL_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    stdout.write(ENROLL_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    say(`give exactly one target name, got ${positionals.length}\n\n${ENROLL_USAGE}`);
    return 2;
  }
  const referenceSeconds = Number(values['reference-seconds']);
  if (!/^\d{1,3}$/.test(values['reference-seconds'] ?? '') || referenceSeconds > 600) {
    say(`--reference-seconds: must be a whole number from 0 to 600, got ${JSON.stringify(values['reference-seconds'])}`);
    return 2;
  }
  if (values.port !== undefined && !/^\d{1,5}$/.test(values.port)) {
    say(`--port: must be a whole number from 1 to 65535, got ${JSON.stringify(values.port)}`);
    return 2;
  }

  const request: EnrollRequestInput = {
    name: positionals[0] ?? '',
    host: values.host ?? '',
    ...(values.port === undefined ? {} : { port: Number(values.port) }),
    user: values.user ?? '',
    key: values.key ?? '',
    host_keys: values['host-key'] ?? [],
    ...(values['known-hosts'] === undefined ? {} : { known_hosts: values['known-hosts'] }),
    trust_on_first_use: values['trust-on-first-use'] ?? false,
    ...(probeConfig(values) ? { services: probeConfig(values) } : {}),
    replace: values.replace ?? false,
  };
  const check = EnrollRequest.safeParse(request);
  if (!check.success) {
    for (const issue of check.error.issues) {
      const [field, index] = issue.path;
      const flag = FLAGS[String(field)] ?? String(field);
      say(`${flag}${typeof index === 'number' ? ` #${index + 1}` : ''}: ${issue.message}`);
    }
    return 2;
  }

  let config;
  try {
    config = loadConfig({ CHAOS_LOG_LEVEL: 'warn', ...env });
  } catch (error) {
    say(errorMessage(error));
    return 2;
  }
  const file = config.CHAOS_TARGETS_FILE;
  // Logs go to stderr: stdout carries the result.
  const logger = createLogger(config.CHAOS_LOG_LEVEL, pino.destination(2));
  try {
    const result = await enrollTarget(check.data, { targetsFile: file, keysDir: config.CHAOS_KEYS_DIR, logger, ...overrides });
    const { type, fingerprint } = result.hostKey;
    if (result.learned) {
      stdout.write(`Host key ${type} ${fingerprint} learned on first use (--trust-on-first-use).\n`);
      stdout.write('  Compare this fingerprint out of band before running anything on the host, e.g. on its console:\n');
      stdout.write(`  ssh-keygen -lf /etc/ssh/ssh_host_${type.replace(/^ssh-|-.*$/g, '')}_key.pub\n`);
    } else {
      const against = check.data.known_hosts === undefined ? 'the given --host-key' : check.data.known_hosts;
      stdout.write(`Host key ${type} ${fingerprint} verified against ${against}.\n`);
    }
    stdout.write(`Login works: ${check.data.user}@${check.data.host} (${result.address} port ${check.data.port}).\n`);
    stdout.write(`${result.replaced ? 'Replaced' : 'Enrolled'} target "${result.target.name}" in ${file}.\n`);
  } catch (error) {
    say(describe(error));
    stderr.write(`Nothing was written to ${file}.\n`);
    return exitCode(error);
  }
  if (referenceSeconds === 0) {
    stdout.write(`No known-good reference taken (--reference-seconds 0): run \`chaos-handler baseline ${check.data.name}\` while the host is healthy.\n`);
    return 0;
  }
  return recordReference(check.data.name, { config, logger, source: 'enroll', seconds: referenceSeconds, force: values['force-reference'] ?? false, ...(overrides.connection ? { connection: overrides.connection } : {}) }, stdout, say);
}

/** The probes asked for on the command line, as targets.json keeps them; undefined when none. */
function probeConfig(values: { http?: string[]; tcp?: string[]; db?: string[]; 'no-listener-probes'?: boolean }): EnrollRequestInput['services'] {
  const http = values.http ?? [];
  const tcp = values.tcp ?? [];
  const db = values.db ?? [];
  const off = values['no-listener-probes'] ?? false;
  if (!http.length && !tcp.length && !db.length && !off) return undefined;
  return {
    ...(http.length ? { http: http.length === 1 ? http[0]! : http } : {}),
    ...(tcp.length ? { tcp } : {}),
    ...(db.length ? { db: db.length === 1 ? db[0]! : db } : {}),
    ...(off ? { listener_probes: false } : {}),
  };
}

/** The message, with a hint a user can act on for the failures they can fix. */
function describe(error: unknown): string {
  const message = errorMessage(error);
  if (error instanceof ConflictError) return `${message} (pass --replace to overwrite it)`;
  if (error instanceof HostKeyMismatchError) {
    switch (error.reason) {
      case 'unknown':
        return `${message}: no key is trusted for it`;
      case 'revoked':
        return `${message}: the key is marked @revoked`;
      case 'mismatch':
        return `${message}: it is not the key you gave. If the host was reinstalled, check the new key out of band; otherwise someone may be in between. No session was opened.`;
    }
  }
  if (error instanceof SshConnectionError) {
    const hint = error.kind === 'auth' ? " (is the key's public half in ~/.ssh/authorized_keys of the user on the host?)" : '';
    return `${error.host}:${error.port}: ${message}${hint}`;
  }
  if (error instanceof RemoteCommandError && error.details.stderrTail.trim() !== '') {
    return `${message}: ${error.details.stderrTail.trim()}`;
  }
  return message;
}

/** 2: the request was refused before anything was attempted on the network; 1: the host check failed. */
function exitCode(error: unknown): number {
  if (error instanceof HostKeyMismatchError) return 1;
  if (error instanceof InputError || error instanceof ConflictError || error instanceof NotAllowedError) return 2;
  return 1;
}
