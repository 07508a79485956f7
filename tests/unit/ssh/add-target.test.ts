import { chmodSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConflictError, InputError } from '../../../src/errors.js';
import { addTarget, assertCanAddTarget } from '../../../src/ssh/add-target.js';
import { EnrollRequest, TargetsFile, type EnrolledTarget } from '../../../src/ssh/schema.js';
import { readTargetsDocument, writeTargetsDocument } from '../../../src/ssh/targets-file.js';

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const OTHER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB9e3LQ0l1r7kqkV0TgRkB6c3ySNV2PbdcbdXRSG2Ppb';

function target(overrides: Partial<EnrolledTarget> = {}): EnrolledTarget {
  return { name: 'droplet', host: '203.0.113.10', port: 22, user: 'sre-demo', key: 'id_demo', host_keys: [HOST_KEY], ...overrides };
}

/** A file as another checkout or a newer version may have left it: fields this code does not know. */
function existing(): Record<string, unknown> {
  return {
    comment: 'kept as is',
    targets: [
      {
        name: 'sandbox',
        host: '10.213.7.2',
        port: 22,
        user: 'sre-demo',
        key: 'sandbox_ed25519',
        host_keys: [OTHER_KEY],
        services: { http: 'http://10.213.7.2:8080/health' },
        owner: 'team-sre',
      },
    ],
  };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('addTarget', () => {
  it('when the file does not exist yet, then the document holds just the new target', () => {
    const { document, replaced } = addTarget(undefined, target());
    expect(replaced).toBe(false);
    expect(document).toEqual({ targets: [{ name: 'droplet', host: '203.0.113.10', port: 22, user: 'sre-demo', key: 'id_demo', host_keys: [HOST_KEY] }] });
    expect(TargetsFile.safeParse(document).success).toBe(true);
  });

  it('when a new name is added, then other targets and unknown fields are kept verbatim and the input is not mutated', () => {
    const before = existing();
    const snapshot = structuredClone(before);
    const { document } = addTarget(before, target());
    expect(before).toEqual(snapshot);
    expect(document.comment).toBe('kept as is');
    expect(document.targets).toHaveLength(2);
    expect(document.targets[0]).toEqual((snapshot.targets as unknown[])[0]);
    expect(document.targets[1]).toMatchObject({ name: 'droplet', host_keys: [HOST_KEY] });
  });

  it('when the name is already enrolled and replace is not asked for, then it is refused as a conflict', () => {
    const error = thrown(() => addTarget(existing(), target({ name: 'sandbox' }), { label: 'config/targets.json' }));
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toBe('target "sandbox" is already enrolled in config/targets.json');
    expect(() => assertCanAddTarget(existing(), 'sandbox')).toThrow(ConflictError);
    expect(() => assertCanAddTarget(existing(), 'droplet')).not.toThrow();
  });

  it('when replace is asked for, then the entry is rewritten in place, keeping its services and unknown fields', () => {
    const { document, replaced } = addTarget(
      existing(),
      target({ name: 'sandbox', host: '10.213.7.9', known_hosts: 'keys/known_hosts', host_keys: [] }),
      { replace: true },
    );
    expect(replaced).toBe(true);
    expect(document.targets).toHaveLength(1);
    expect(document.targets[0]).toEqual({
      name: 'sandbox',
      host: '10.213.7.9',
      port: 22,
      user: 'sre-demo',
      key: 'id_demo',
      known_hosts: 'keys/known_hosts',
      services: { http: 'http://10.213.7.2:8080/health' },
      owner: 'team-sre',
    });
  });

  it('when replace is asked for and the name is new, then the target is simply added', () => {
    const { document, replaced } = addTarget(existing(), target(), { replace: true });
    expect(replaced).toBe(false);
    expect(document.targets.map((t) => (t as { name: string }).name)).toEqual(['sandbox', 'droplet']);
  });

  it.each([
    ['a name with a slash', 'name', { name: 'a/b' }],
    ['a port out of range', 'port', { port: 70000 }],
    ['a user that is no POSIX name', 'user', { user: 'Root;rm' }],
    ['a key path instead of a key name', 'key', { key: '../id_rsa' }],
    ['a host with a space', 'host', { host: 'a b' }],
    ['a key line that is no key', 'host_keys[0]', { host_keys: ['ssh-ed25519 AAAA'] }],
    ['a key blob of another type', 'host_keys[0]', { host_keys: [`ssh-rsa ${HOST_KEY.split(' ')[1]}`] }],
    ['no host key and no known_hosts', 'host_keys', { host_keys: [] }],
  ])('when the target has %s, then an InputError names %s', (_what, field, overrides) => {
    const error = thrown(() => addTarget(existing(), target(overrides as Partial<EnrolledTarget>)));
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
  });

  it.each([
    ['not an object', ['x'], 'targets'],
    ['no targets array', { hosts: [] }, 'targets'],
    ['a broken entry', { targets: [{ name: 'x', host: 'h', user: 'u' }] }, 'targets[0].key'],
    ['two entries of one name', { targets: [target(), target()] }, 'targets[1].name'],
  ])('when the existing file is %s, then it is refused (never rewritten) with the field named', (_what, document, field) => {
    const error = thrown(() => addTarget(document, target({ name: 'new' }), { label: 'f.json' }));
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
    expect((error as Error).message).toMatch(/^f\.json: /);
  });
});

describe('EnrollRequest', () => {
  const base = { name: 'droplet', host: '203.0.113.10', user: 'sre-demo', key: 'id_demo' };

  it.each([
    ['a host key', { host_keys: [HOST_KEY] }],
    ['a known_hosts file', { known_hosts: 'known_hosts' }],
    ['trust on first use', { trust_on_first_use: true }],
  ])('when exactly one way to trust the key is given (%s), then the request is valid with port 22', (_what, extra) => {
    const parsed = EnrollRequest.safeParse({ ...base, ...extra });
    expect(parsed.success).toBe(true);
    expect(parsed.data?.port).toBe(22);
  });

  it.each([
    ['no way to trust the key', {}, /say how to trust the host key/],
    ['a key and trust on first use', { host_keys: [HOST_KEY], trust_on_first_use: true }, /only one of/],
    ['a malformed key', { host_keys: ['ssh-ed25519 AAAA'] }, /key blob/],
  ])('when %s is given, then the issue is reported on host_keys', (_what, extra, message) => {
    const parsed = EnrollRequest.safeParse({ ...base, ...extra });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path[0]).toBe('host_keys');
    expect(parsed.error?.issues[0]?.message).toMatch(message);
  });

  it('when an unknown field is given, then the request is refused', () => {
    expect(EnrollRequest.safeParse({ ...base, trust_on_first_use: true, sudo: true }).success).toBe(false);
  });
});

describe('readTargetsDocument and writeTargetsDocument', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'chaos-targets-file-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('when the file is missing, then reading gives undefined and writing creates it 0644', async () => {
    const file = path.join(dir, 'targets.json');
    await expect(readTargetsDocument(file)).resolves.toBeUndefined();
    await writeTargetsDocument(file, { targets: [] });
    expect(readFileSync(file, 'utf8')).toBe('{\n  "targets": []\n}\n');
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });

  it('when the file exists with mode 0640, then the new content keeps the mode and no temp file is left', async () => {
    const file = path.join(dir, 'targets.json');
    writeFileSync(file, '{"targets": []}');
    chmodSync(file, 0o640);
    await writeTargetsDocument(file, existing());
    expect(statSync(file).mode & 0o777).toBe(0o640);
    await expect(readTargetsDocument(file)).resolves.toEqual(existing());
    expect(readdirSync(dir)).toEqual(['targets.json']);
  });

  it('when the file is a symlink, then the link stays and its target gets the content', async () => {
    const real = path.join(dir, 'real.json');
    const link = path.join(dir, 'targets.json');
    writeFileSync(real, '{"targets": []}');
    symlinkSync(real, link);
    await writeTargetsDocument(link, existing());
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(real);
    expect(JSON.parse(readFileSync(real, 'utf8'))).toEqual(existing());
  });

  it('when the file is not JSON, then reading names the file and says to fix it by hand', async () => {
    const file = path.join(dir, 'targets.json');
    writeFileSync(file, '{"targets": [');
    await expect(readTargetsDocument(file)).rejects.toThrow(new RegExp(`^${file}: not valid JSON: .*fix it by hand`));
  });
});
