import { jest } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { utils } from 'ssh2';
import { InputError, NotAllowedError } from '../../../src/errors.js';
import { KEY_NOT_AVAILABLE } from '../../../src/ssh/key-file.js';
import { SshConnection } from '../../../src/ssh/connection.js';
import { connectTarget } from '../../../src/ssh/connect-target.js';
import type { EnrolledTarget } from '../../../src/ssh/schema.js';
import { NOT_ENROLLED, loadTargets, resolveTarget, type LookupAddresses } from '../../../src/ssh/targets.js';

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test';
const OTHER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB9e3LQ0l1r7kqkV0TgRkB6c3ySNV2PbdcbdXRSG2Ppb other';

// Created at load time: test.each tables below refer to it.
const dir = mkdtempSync(path.join(tmpdir(), 'chaos-targets-'));
const keysDir = path.join(dir, 'keys');

beforeAll(() => {
  mkdirSync(path.join(keysDir, 'team'), { recursive: true });
  writeFileSync(path.join(keysDir, 'id_demo'), 'PRIVATE KEY DEMO\n', { mode: 0o600 });
  writeFileSync(path.join(keysDir, 'team', 'id_team'), 'PRIVATE KEY TEAM\n', { mode: 0o600 });
  symlinkSync(path.join(keysDir, 'id_demo'), path.join(keysDir, 'alias'));
  // Things outside the keys directory, some existing, reachable only by escaping.
  writeFileSync(path.join(dir, 'outside_secret'), 'NOT A KEY FOR YOU\n');
  mkdirSync(path.join(dir, 'keys-evil'));
  writeFileSync(path.join(dir, 'keys-evil', 'k'), 'SIBLING PREFIX\n');
  symlinkSync(path.join(dir, 'outside_secret'), path.join(keysDir, 'link_out'));
  symlinkSync(dir, path.join(keysDir, 'dir_out'));
  symlinkSync('/etc', path.join(keysDir, 'etc'));
  execFileSync('mkfifo', [path.join(keysDir, 'fifo')]);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function target(overrides: Partial<EnrolledTarget> = {}): EnrolledTarget {
  return {
    name: 'droplet',
    host: 'droplet.example.com',
    port: 22,
    user: 'sre-demo',
    key: 'id_demo',
    host_keys: [HOST_KEY],
    ...overrides,
  };
}

const publicLookup: LookupAddresses = async () => [{ address: '203.0.113.10', family: 4 }];

describe('loadTargets', () => {
  function write(name: string, content: unknown): string {
    const file = path.join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  }

  it('when the file is valid, then defaults are applied and known_hosts is made absolute', async () => {
    const file = write('ok.json', {
      targets: [{ name: 'a', host: '203.0.113.10', user: 'sre-demo', key: 'id_demo', host_keys: [HOST_KEY], known_hosts: 'kh' }],
    });
    const loaded = await loadTargets(file);
    expect(loaded.targets[0]).toMatchObject({ port: 22, known_hosts: path.join(dir, 'kh') });
  });

  it('when a field is invalid, then the error names the file and the field', async () => {
    const file = write('bad-port.json', { targets: [{ name: 'a', host: 'h', port: 70000, user: 'u', key: 'k' }] });
    const error = await loadTargets(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain(file);
    expect((error as InputError).message).toContain('targets[0].port');
    expect((error as InputError).field).toBe('targets[0].port');
  });

  it('when a host key line has a corrupt blob, then the error names that line', async () => {
    const file = write('bad-key.json', {
      targets: [{ name: 'a', host: 'h', user: 'u', key: 'k', host_keys: ['ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'] }],
    });
    await expect(loadTargets(file)).rejects.toThrow(/targets\[0\]\.host_keys\[0\]/);
  });

  it('when the key name tries to leave the keys directory, then the file is refused', async () => {
    const file = write('bad-keyname.json', { targets: [{ name: 'a', host: 'h', user: 'u', key: '../x' }] });
    await expect(loadTargets(file)).rejects.toThrow(/targets\[0\]\.key/);
  });

  it('when two targets share a name, then the file is refused', async () => {
    const t = { host: 'h', user: 'u', key: 'k' };
    const file = write('dup.json', { targets: [{ name: 'a', ...t }, { name: 'a', ...t }] });
    await expect(loadTargets(file)).rejects.toThrow(/duplicate target name/);
  });

  it('when the file is not JSON or missing, then the error names the file', async () => {
    await expect(loadTargets(write('broken.json', '{"targets": ['))).rejects.toThrow(/broken\.json: not valid JSON/);
    await expect(loadTargets(path.join(dir, 'absent.json'))).rejects.toThrow(/absent\.json: cannot read/);
  });
});

describe('resolveTarget', () => {
  const targets = [target(), target({ name: 'db', host: '198.51.100.7', port: 2222, user: 'ops', services: { db: 'postgres://x' } })];

  it('when asked by name, then the enrolled target is resolved with its key and host keys', async () => {
    const resolved = await resolveTarget({ name: 'droplet' }, { targets, keysDir, lookup: publicLookup });
    expect(resolved).toMatchObject({ name: 'droplet', host: 'droplet.example.com', address: '203.0.113.10', port: 22, user: 'sre-demo' });
    expect(resolved.privateKey.toString()).toBe('PRIVATE KEY DEMO\n');
    expect(resolved.hostKeys).toHaveLength(1);
  });

  it('when asked by host and port, then the matching enrolled target is used, names compared case-insensitively', async () => {
    const lookup = jest.fn(publicLookup);
    await expect(resolveTarget({ host: 'Droplet.Example.com.' }, { targets, keysDir, lookup })).resolves.toMatchObject({ name: 'droplet' });
    await expect(resolveTarget({ host: '198.51.100.7', port: 2222 }, { targets, keysDir, lookup })).resolves.toMatchObject({
      name: 'db',
      address: '198.51.100.7',
      services: { db: 'postgres://x' },
    });
    // A literal address needs no DNS; the name was resolved exactly once.
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it('when the name resolves, then the checked address is what the connection will use (no second lookup)', async () => {
    const lookup = jest.fn<LookupAddresses>().mockResolvedValueOnce([{ address: '203.0.113.10', family: 4 }]).mockResolvedValue([{ address: '127.0.0.1', family: 4 }]);
    const resolved = await resolveTarget({ name: 'droplet' }, { targets, keysDir, lookup });
    expect(resolved.address).toBe('203.0.113.10');
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['an unknown host', { host: 'other.example.com' }],
    ['an enrolled host on another port', { host: 'droplet.example.com', port: 2200 }],
    ['an enrolled host with another user', { host: 'droplet.example.com', user: 'root' }],
    ['an unknown name', { name: 'nope' }],
  ])('when asked for %s, then it is refused as not enrolled', async (_label, request) => {
    const lookup = jest.fn(publicLookup);
    const error = await resolveTarget(request, { targets, keysDir, lookup }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect((error as Error).message).toBe(NOT_ENROLLED);
    expect(lookup).not.toHaveBeenCalled();
  });

  it.each([
    '127.0.0.1',
    '127.3.4.5',
    'localhost',
    'LOCALHOST.',
    'app.localhost',
    '::1',
    '0:0:0:0:0:0:0:1',
    '0.0.0.0',
    '::ffff:127.0.0.1',
    '169.254.169.254',
    '169.254.10.20',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'fd00:ec2::254',
    'metadata.google.internal',
    '100.100.100.200',
  ])('when the enrolled host is %s, then it is refused like any other refusal, without DNS', async (host) => {
    const lookup = jest.fn(publicLookup);
    const enrolled = [target({ host })];
    const byName = await resolveTarget({ name: 'droplet' }, { targets: enrolled, keysDir, lookup }).catch((e: unknown) => e);
    const byHost = await resolveTarget({ host }, { targets: enrolled, keysDir, lookup }).catch((e: unknown) => e);
    for (const error of [byName, byHost]) {
      expect(error).toBeInstanceOf(NotAllowedError);
      expect((error as Error).message).toBe(NOT_ENROLLED);
    }
    expect(lookup).not.toHaveBeenCalled();
  });

  it.each([
    [['127.0.0.1']],
    [['203.0.113.10', '127.0.0.53']],
    [['169.254.169.254']],
    [['::1']],
    [['::ffff:169.254.169.254']],
    [['fe80::abcd']],
    [['64:ff9b::a9fe:a9fe']],
  ])('when the name resolves to %j, then it is refused', async (addresses) => {
    const lookup: LookupAddresses = async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const error = await resolveTarget({ name: 'droplet' }, { targets, keysDir, lookup }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect((error as Error).message).toBe(NOT_ENROLLED);
  });

  it('when the name does not resolve, then the answer is the same refusal', async () => {
    const lookup: LookupAddresses = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    await expect(resolveTarget({ name: 'droplet' }, { targets, keysDir, lookup })).rejects.toThrow(new NotAllowedError(NOT_ENROLLED));
  });

  it('when the request has unknown fields or a bad port, then it is an InputError naming the field', async () => {
    const error = await resolveTarget({ host: 'droplet.example.com', port: 0 }, { targets, keysDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toMatch(/^target_vm/);
  });

  it('when known_hosts lists keys for [host]:port, then they are trusted along with the enrolled lines', async () => {
    const knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `[198.51.100.7]:2222 ${OTHER_KEY}\n198.51.100.7 ${HOST_KEY}\n`);
    const resolved = await resolveTarget({ name: 'db' }, { targets: [target({ name: 'db', host: '198.51.100.7', port: 2222, host_keys: [], known_hosts: knownHosts })], keysDir });
    expect(resolved.hostKeys.map((k) => k.blob.toString('base64'))).toEqual([OTHER_KEY.split(' ')[1]]);
  });
});

describe('key_path', () => {
  const targets = [target()];
  const deps = { targets, keysDir, lookup: publicLookup };

  it.each(['id_demo', 'team/id_team', './team/id_team', 'alias'])('when key_path is %j inside the keys directory, then the key is read', async (keyPath) => {
    const resolved = await resolveTarget({ host: 'droplet.example.com', key_path: keyPath }, deps);
    expect(resolved.privateKey.toString()).toMatch(/^PRIVATE KEY/);
  });

  it.each([
    '../outside_secret',
    '../outside_missing',
    '../../../../etc/passwd',
    'team/../../outside_secret',
    '../keys-evil/k',
    '/etc/passwd',
    '/nonexistent/key',
    path.join(dir, 'keys', 'id_demo'),
    'link_out',
    'dir_out/outside_secret',
    'etc/passwd',
    'nonexistent',
    'team/nonexistent',
    'team',
    'fifo',
    'id_demo\\..\\..\\outside_secret',
  ])('when key_path is %j, then it is refused with the one message that reveals nothing', async (keyPath) => {
    const error = await resolveTarget({ host: 'droplet.example.com', key_path: keyPath }, deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(KEY_NOT_AVAILABLE);
    expect((error as InputError).field).toBe('target_vm.key_path');
    expect((error as InputError).cause).toBeUndefined();
  });

  it('when the enrolled key file is missing, then the same message is given', async () => {
    const error = await resolveTarget({ name: 'droplet' }, { ...deps, targets: [target({ key: 'gone' })] }).catch((e: unknown) => e);
    expect((error as InputError).message).toBe(KEY_NOT_AVAILABLE);
  });
});

describe('connectTarget refuses before any TCP connect', () => {
  let server: net.Server;
  let port: number;
  let connections = 0;
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    server = net.createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each([
    ['a loopback address', '127.0.0.1', undefined],
    ['localhost', 'localhost', undefined],
    ['a name that resolves to loopback', 'sneaky.example.com', '127.0.0.1'],
    ['a name that resolves to IPv4-mapped loopback', 'sneaky6.example.com', '::ffff:127.0.0.1'],
  ])('when the enrolled host is %s with a listening port, then nothing connects to it', async (_label, host, resolvesTo) => {
    const connectSpy = jest.spyOn(net.Socket.prototype, 'connect');
    const lookup: LookupAddresses = async () => [{ address: resolvesTo ?? '203.0.113.10', family: 4 }];
    try {
      const error = await connectTarget({ name: 'droplet' }, { targets: [target({ host, port })], keysDir, lookup, logger }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotAllowedError);
      expect((error as Error).message).toBe(NOT_ENROLLED);
      await new Promise((r) => setTimeout(r, 100));
      expect(connections).toBe(0);
      expect(connectSpy).not.toHaveBeenCalled();
    } finally {
      connectSpy.mockRestore();
    }
  });

  it('when the connection layer is used directly (control), then the same server and spy do see the connect', async () => {
    const connectSpy = jest.spyOn(net.Socket.prototype, 'connect');
    const before = connections;
    const conn = new SshConnection({
      target: { host: '127.0.0.1', address: '127.0.0.1', port, user: 'u', privateKey: Buffer.from(utils.generateKeyPairSync('ed25519').private), hostKeys: [] },
      logger,
      readyTimeoutMs: 2_000,
    });
    try {
      await expect(conn.connect()).rejects.toBeInstanceOf(Error);
      expect(connectSpy).toHaveBeenCalled();
      expect(connections).toBeGreaterThan(before);
    } finally {
      connectSpy.mockRestore();
      await conn.close();
    }
  });
});
