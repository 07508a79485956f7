/**
 * `chaos-handler enroll` and `chaos-handler targets` through the CLI's entry (runCli), against a
 * real OpenSSH server. The policy refuses loopback targets, so the fixture's sshd runs in a network
 * namespace of the test's own, at a 10.213.9.x address across a veth pair: the verb runs with its
 * real address policy, nothing is relaxed for the test.
 */
import { jest } from '@jest/globals';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../../src/cli/run-cli.js';
import { connectTarget } from '../../../src/ssh/connect-target.js';
import { loadTargets } from '../../../src/ssh/targets.js';
import { createTestNetns, type TestNetns } from '../../fixtures/netns.js';
import { captureLogger } from '../../fixtures/sshd/helpers.js';
import { generateKey, sshKeygenFingerprint, startSshd, type SshdFixture } from '../../fixtures/sshd/sshd.js';

jest.setTimeout(60_000);

const KEY_NAME = 'enroll_ed25519';
/** A target enrolled before the test, with a field this version does not know. */
const SANDBOX_ENTRY = {
  name: 'sandbox',
  host: '10.213.7.2',
  port: 22,
  user: 'sre-demo',
  key: 'sandbox_ed25519',
  host_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPcm8XNljX8j0L6zQs5hVvTwai4WvBZhH/G2r8Y/l70o'],
  services: { http: 'http://10.213.7.2:8080/health' },
  owner: 'team-sre',
};

let sshd: SshdFixture;
let netns: TestNetns;
let dir: string;
let targetsFile: string;
let keysDir: string;
let env: Record<string, string>;
const { logger } = captureLogger();

function seedTargetsFile(): string {
  const text = `${JSON.stringify({ comment: 'kept', targets: [SANDBOX_ENTRY] }, null, 2)}\n`;
  writeFileSync(targetsFile, text);
  chmodSync(targetsFile, 0o640);
  return text;
}

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    argv,
    env,
    { write: (t: string) => (stdout += t) },
    { write: (t: string) => (stderr += t) },
  );
  return { code, stdout, stderr };
}

/**
 * The fixture's user may not run the collectors (no sudoers rule): these cases are about the
 * enrolment itself, so no reference is taken (the foreign-host tests take one on a provisioned host).
 */
function enrollArgs(name: string, ...trust: string[]): string[] {
  return ['enroll', name, '--host', sshd.address, '--port', String(sshd.port), '--user', sshd.user, '--key', KEY_NAME, '--reference-seconds', '0', ...trust];
}

const hostKeyLine = (): string => sshd.hostKey.publicLine.split(' ').slice(0, 2).join(' ');
const hostFingerprint = (): string => sshKeygenFingerprint(`${sshd.hostKey.privatePath}.pub`);

beforeAll(async () => {
  netns = createTestNetns('chenroll', 1);
  sshd = await startSshd({ netns: netns.name, listenAddress: netns.address });
  dir = mkdtempSync(path.join(tmpdir(), 'chaos-enroll-'));
  keysDir = path.join(dir, 'keys');
  targetsFile = path.join(dir, 'targets.json');
  // keys/ holds the private key, like config/keys/.
  mkdirSync(keysDir, { mode: 0o700 });
  copyFileSync(sshd.clientKey.privatePath, path.join(keysDir, KEY_NAME));
  chmodSync(path.join(keysDir, KEY_NAME), 0o600);
  env = { CHAOS_TARGETS_FILE: targetsFile, CHAOS_KEYS_DIR: keysDir, CHAOS_LOG_LEVEL: 'silent' };
});

afterAll(async () => {
  await sshd?.stop();
  netns?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('chaos-handler enroll against a real sshd', () => {
  it('when enrolling with --trust-on-first-use, then the learned key is written and a later connection verifies against it', async () => {
    seedTargetsFile();
    const mark = sshd.logs().length;

    const services = { http: 'http://127.0.0.1:8080/health', db: 'postgresql://victim@127.0.0.1:5432/victim' };
    const { code, stdout, stderr } = await cli(...enrollArgs('fixture', '--trust-on-first-use', '--http', services.http, '--db', services.db));

    expect(stderr).toBe('');
    expect(code).toBe(0);
    // The fingerprint ssh-keygen prints for the host's key, to compare out of band.
    expect(stdout).toContain(`Host key ssh-ed25519 ${hostFingerprint()} learned on first use`);
    expect(stdout).toContain(`Enrolled target "fixture" in ${targetsFile}`);
    // The login check really logged in.
    expect(sshd.logs().slice(mark)).toMatch(new RegExp(`Accepted publickey for ${sshd.user}`));

    const written = JSON.parse(readFileSync(targetsFile, 'utf8')) as { comment: string; targets: unknown[] };
    expect(written.comment).toBe('kept');
    expect(written.targets).toEqual([
      SANDBOX_ENTRY,
      { name: 'fixture', host: sshd.address, port: sshd.port, user: sshd.user, key: KEY_NAME, host_keys: [hostKeyLine()], services },
    ]);
    expect(statSync(targetsFile).mode & 0o777).toBe(0o640);

    // What the server does with the file: resolve by name, verify the key (no trust on first use).
    const { targets } = await loadTargets(targetsFile);
    const { connection, info } = await connectTarget({ name: 'fixture' }, { targets, keysDir, logger });
    try {
      expect(info).toMatchObject({ learned: false, hostKey: { fingerprint: hostFingerprint() } });
      await expect(connection.exec('id -un')).resolves.toMatchObject({ exitCode: 0, stdout: `${sshd.user}\n` });
    } finally {
      await connection.close();
    }

    // And the listing shows it with the same fingerprint.
    const listed = await cli('targets', '--json');
    expect(listed.code).toBe(0);
    const { targets: described } = JSON.parse(listed.stdout) as { targets: Array<{ name: string; host_keys: Array<{ fingerprint: string }> }> };
    expect(described.map((t) => t.name)).toEqual(['sandbox', 'fixture']);
    expect(described[1]?.host_keys.map((k) => k.fingerprint)).toEqual([hostFingerprint()]);
    const table = await cli('targets');
    expect(table.stdout).toMatch(new RegExp(`fixture\\s+${sshd.address.replaceAll('.', '\\.')}:${sshd.port}\\s+${sshd.user}\\s+${KEY_NAME}\\s+ssh-ed25519 ${hostFingerprint().replace(/[+/]/g, '\\$&')}`));
  });

  it('when the name is taken, then enroll without --replace exits 2 before connecting, and with --replace it rewrites the entry', async () => {
    seedTargetsFile();
    const before = readFileSync(targetsFile, 'utf8');
    const mark = sshd.logs().length;

    const refused = await cli(...enrollArgs('sandbox', '--host-key', hostKeyLine()));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('target "sandbox" is already enrolled');
    expect(refused.stderr).toContain('--replace');
    expect(readFileSync(targetsFile, 'utf8')).toBe(before);
    expect(sshd.logs().slice(mark)).not.toMatch(/Connection from/);

    const replaced = await cli(...enrollArgs('sandbox', '--host-key', hostKeyLine(), '--replace'));
    expect(replaced.stderr).toBe('');
    expect(replaced.code).toBe(0);
    expect(replaced.stdout).toContain(`Host key ssh-ed25519 ${hostFingerprint()} verified against the given --host-key`);
    expect(replaced.stdout).toContain('Replaced target "sandbox"');
    const written = JSON.parse(readFileSync(targetsFile, 'utf8')) as { targets: unknown[] };
    expect(written.targets).toEqual([
      {
        name: 'sandbox',
        host: sshd.address,
        port: sshd.port,
        user: sshd.user,
        key: KEY_NAME,
        host_keys: [hostKeyLine()],
        services: SANDBOX_ENTRY.services,
        owner: 'team-sre',
      },
    ]);
  });

  it('when enrolling with a wrong --host-key, then no session opens and nothing is written', async () => {
    const before = seedTargetsFile();
    const mtime = statSync(targetsFile).mtimeMs;
    const wrong = generateKey(sshd.dir, 'not_the_host_key');
    const mark = sshd.logs().length;
    // The control for the refusal tests below: a real attempt does go through Socket#connect.
    const connectSpy = jest.spyOn(net.Socket.prototype, 'connect');

    const { code, stdout, stderr } = await cli(...enrollArgs('fixture', '--host-key', wrong.publicLine));
    const connects = connectSpy.mock.calls.length;
    connectSpy.mockRestore();
    expect(connects).toBeGreaterThan(0);

    expect(code).toBe(1);
    expect(stdout).toBe('');
    // The key the host did present, so the operator can tell what is there.
    expect(stderr).toContain(`is not trusted (ssh-ed25519 ${hostFingerprint()})`);
    expect(stderr).toContain(`Nothing was written to ${targetsFile}`);
    expect(readFileSync(targetsFile, 'utf8')).toBe(before);
    expect(statSync(targetsFile).mtimeMs).toBe(mtime);
    // sshd saw a connection that ended before authentication: no key was offered, no session.
    await sshd.waitForLog(/\[preauth\]/);
    const log = sshd.logs().slice(mark);
    expect(log).toMatch(/Connection from/);
    expect(log).not.toMatch(/Accepted publickey|Postponed publickey|Failed publickey|Starting session|User child/);
  });

  it('when the host key is learned but the server refuses the login key, then it exits 1 and nothing is written', async () => {
    const before = seedTargetsFile();
    const stranger = generateKey(sshd.dir, 'stranger_client');
    copyFileSync(stranger.privatePath, path.join(keysDir, 'stranger_ed25519'));
    const mark = sshd.logs().length;

    const args = enrollArgs('fixture', '--trust-on-first-use').map((a) => (a === KEY_NAME ? 'stranger_ed25519' : a));
    const { code, stdout, stderr } = await cli(...args);

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('authentication failed: the server refused the key');
    expect(stderr).toContain(`Nothing was written to ${targetsFile}`);
    expect(readFileSync(targetsFile, 'utf8')).toBe(before);
    expect(sshd.logs().slice(mark)).not.toMatch(/Accepted publickey/);
  });

  it('when --known-hosts names a file listing the host, then the target is enrolled referencing it and connects', async () => {
    seedTargetsFile();
    const knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `# test\n[${sshd.address}]:${sshd.port} ${hostKeyLine()}\n`);

    const { code, stdout, stderr } = await cli(...enrollArgs('via-known-hosts', '--known-hosts', knownHosts));

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`verified against ${knownHosts}`);
    const written = JSON.parse(readFileSync(targetsFile, 'utf8')) as { targets: Array<Record<string, unknown>> };
    // Relative to the targets file's folder, as the file format reads it.
    expect(written.targets[1]).toEqual({ name: 'via-known-hosts', host: sshd.address, port: sshd.port, user: sshd.user, key: KEY_NAME, known_hosts: 'known_hosts' });
    const { targets } = await loadTargets(targetsFile);
    const { connection, info } = await connectTarget({ name: 'via-known-hosts' }, { targets, keysDir, logger });
    expect(info.learned).toBe(false);
    await connection.close();
  });

  it('when the known_hosts file has no entry for the host, then it exits 2 before connecting', async () => {
    const before = seedTargetsFile();
    const knownHosts = path.join(dir, 'known_hosts_other');
    writeFileSync(knownHosts, `other.example.com ${hostKeyLine()}\n`);
    const mark = sshd.logs().length;

    const { code, stderr } = await cli(...enrollArgs('fixture', '--known-hosts', knownHosts));

    expect(code).toBe(2);
    expect(stderr).toContain(`lists no usable key for [${sshd.address}]:${sshd.port}`);
    expect(readFileSync(targetsFile, 'utf8')).toBe(before);
    expect(sshd.logs().slice(mark)).not.toMatch(/Connection from/);
  });
});

describe('chaos-handler enroll refusals before any connection', () => {
  let connectSpy: jest.SpiedFunction<typeof net.Socket.prototype.connect>;
  beforeEach(() => {
    connectSpy = jest.spyOn(net.Socket.prototype, 'connect');
  });
  afterEach(() => connectSpy.mockRestore());

  it.each(['169.254.169.254', '127.0.0.1', 'localhost', '::1', 'metadata.google.internal'])(
    'when the host is the forbidden address %s, then it is refused with exit 2, no socket and nothing written',
    async (host) => {
      const before = seedTargetsFile();
      const { code, stdout, stderr } = await cli('enroll', 'meta', '--host', host, '--user', 'root', '--key', KEY_NAME, '--trust-on-first-use');
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toContain(`${host} is a loopback, link-local or metadata address: it can never be a target`);
      expect(connectSpy).not.toHaveBeenCalled();
      expect(readFileSync(targetsFile, 'utf8')).toBe(before);
    },
  );

  it.each([
    ['a port that is no number', ['--port', '22x'], '--port: must be a whole number'],
    ['a port out of range', ['--port', '70000'], '--port:'],
    ['a user that is no POSIX name', ['--user', 'Root;id'], '--user: must be a POSIX user name'],
    ['a key path instead of a key name', ['--key', '../targets.json'], '--key: must be a file name inside the keys directory'],
    ['a host key that is no key', ['--host-key', 'ssh-ed25519 AAAA'], '--host-key #1:'],
    ['no way to trust the host key', [], '--host-key: say how to trust the host key'],
    ['a host key and trust on first use', ['--host-key', SANDBOX_ENTRY.host_keys[0] ?? '', '--trust-on-first-use'], '--host-key: give only one of'],
    ['an unknown flag', ['--frobnicate'], "Unknown option '--frobnicate'"],
    ['a DB connection string with a password', ['--db', 'postgresql://app:s3cret@127.0.0.1:5432/app'], 'must not contain a password'],
    ['a health URL with a space', ['--http', 'http://127.0.0.1:8080/a b'], '--http/--tcp/--db:'],
    ['a TCP probe without a port', ['--tcp', '127.0.0.1'], 'must be HOST:PORT'],
    ['a reference window out of range', ['--reference-seconds', '9999'], '--reference-seconds: must be a whole number'],
  ])('when the flags hold %s, then it exits 2 naming the flag, before any socket', async (_what, extra, message) => {
    const before = seedTargetsFile();
    const base = { '--host': '203.0.113.10', '--user': 'sre-demo', '--key': KEY_NAME };
    const flags = Object.entries(base).flatMap(([k, v]) => (extra.includes(k) ? [] : [k, v]));
    const { code, stderr } = await cli('enroll', 'droplet', ...flags, ...extra);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(connectSpy).not.toHaveBeenCalled();
    expect(readFileSync(targetsFile, 'utf8')).toBe(before);
  });

  it('when the key is not in the keys directory, then it exits 2 naming --key, before any socket', async () => {
    const before = seedTargetsFile();
    const { code, stderr } = await cli('enroll', 'droplet', '--host', '203.0.113.10', '--user', 'sre-demo', '--key', 'no_such_key', '--trust-on-first-use');
    expect(code).toBe(2);
    expect(stderr).toContain(`key: no_such_key is not a usable private key file in ${keysDir}`);
    expect(connectSpy).not.toHaveBeenCalled();
    expect(readFileSync(targetsFile, 'utf8')).toBe(before);
  });

  it('when the targets file is not valid JSON, then it exits 2 and leaves the file as it was', async () => {
    writeFileSync(targetsFile, '{"targets": [');
    const { code, stderr } = await cli('enroll', 'droplet', '--host', '203.0.113.10', '--user', 'sre-demo', '--key', KEY_NAME, '--trust-on-first-use');
    expect(code).toBe(2);
    expect(stderr).toContain(`${targetsFile}: not valid JSON`);
    expect(connectSpy).not.toHaveBeenCalled();
    expect(readFileSync(targetsFile, 'utf8')).toBe('{"targets": [');
  });
});

describe('chaos-handler targets', () => {
  it('when no targets file exists yet, then it says so and --json lists none', async () => {
    rmSync(targetsFile, { force: true });
    const table = await cli('targets');
    expect(table).toEqual({ code: 0, stdout: `No targets enrolled in ${targetsFile} (chaos-handler enroll adds one).\n`, stderr: '' });
    const json = await cli('targets', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ file: targetsFile, targets: [] });
  });

  it('when a target trusts an unreadable known_hosts file, then the listing says so and still shows the others', async () => {
    writeFileSync(
      targetsFile,
      JSON.stringify({ targets: [SANDBOX_ENTRY, { ...SANDBOX_ENTRY, name: 'gone', host_keys: [], known_hosts: 'missing_known_hosts' }] }),
    );
    const { code, stdout } = await cli('targets');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^sandbox\s+10\.213\.7\.2:22\s+sre-demo\s+sandbox_ed25519\s+ssh-ed25519 SHA256:/m);
    expect(stdout).toMatch(/^gone\s+.*none: no connection will be accepted$/m);
    expect(stdout).toContain(`known_hosts ${path.join(dir, 'missing_known_hosts')} cannot be read`);
  });

  it('when the targets file is invalid, then it exits 2 naming the field', async () => {
    writeFileSync(targetsFile, JSON.stringify({ targets: [{ ...SANDBOX_ENTRY, port: 0 }] }));
    const { code, stderr } = await cli('targets');
    expect(code).toBe(2);
    expect(stderr).toContain(`${targetsFile}: targets[0].port:`);
  });
});
