/**
 * The probes that run on a host (command, metric, SQL) through ExperimentHosts against a real
 * OpenSSH server of the test's own, in a network namespace (the address policy refuses loopback:
 * nothing is relaxed for the test). The commands are the real ones: test, curl, the host's
 * sampler from /opt/chaos-scripts, psql.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExperimentHosts } from '../../../src/experiments/hosts.js';
import { checkProbe, type ProbeDeps } from '../../../src/experiments/probes.js';
import { SteadyStateProbe } from '../../../src/experiments/schema.js';
import { createLogger } from '../../../src/logger.js';
import { createTestNetns, type TestNetns } from '../../fixtures/netns.js';
import { startSshd, type SshdFixture } from '../../fixtures/sshd/sshd.js';

let sshd: SshdFixture;
let netns: TestNetns;
let dir: string;
let hosts: ExperimentHosts;
let deps: ProbeDeps;

beforeAll(async () => {
  netns = createTestNetns('chexprb', 5);
  sshd = await startSshd({ netns: netns.name, listenAddress: netns.address });
  dir = mkdtempSync(path.join(tmpdir(), 'chaos-host-probes-'));
  const keysDir = path.join(dir, 'keys');
  mkdirSync(keysDir, { mode: 0o700 });
  copyFileSync(sshd.clientKey.privatePath, path.join(keysDir, 'probe_ed25519'));
  chmodSync(path.join(keysDir, 'probe_ed25519'), 0o600);
  const targetsFile = path.join(dir, 'targets.json');
  const hostKey = sshd.hostKey.publicLine.split(' ').slice(0, 2).join(' ');
  writeFileSync(targetsFile, JSON.stringify({ targets: [{ name: 'box', host: sshd.address, port: sshd.port, user: sshd.user, key: 'probe_ed25519', host_keys: [hostKey] }] }));
  hosts = new ExperimentHosts({ targetsFile, keysDir, log: createLogger('silent') });
  deps = { exec: hosts.exec, defaultTarget: 'box' };
}, 60_000);

afterAll(async () => {
  await hosts?.close();
  await sshd?.stop();
  netns?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const probe = (p: unknown) => SteadyStateProbe.parse(p);

describe('host probes over SSH', () => {
  it('when the targets are checked, then an enrolled one passes and another is named', async () => {
    await expect(hosts.assertEnrolled(['box'])).resolves.toBeUndefined();
    await expect(hosts.assertEnrolled(['box', 'ghost'])).rejects.toThrow('target "ghost" is not enrolled');
  });

  it('when a command probe runs, then its exit status is held to expect_exit', async () => {
    const ok = await checkProbe(probe({ name: 'root', type: 'command', command: { run: 'path_exists', path: '/etc' } }), 'before', deps);
    expect(ok).toMatchObject({ ok: true, value: 0, detail: 'path_exists exited 0', tolerance: 'exit 0', phase: 'before' });
    const missing = await checkProbe(probe({ name: 'gone', type: 'command', command: { run: 'path_exists', path: '/no/such/path' } }), 'after', deps);
    expect(missing).toMatchObject({ ok: false, value: 1 });
    const refused = await checkProbe(probe({ name: 'web', type: 'command', command: { run: 'http_get', url: 'http://127.0.0.1:9/' }, expect_exit: 7 }), 'during', deps);
    expect(refused).toMatchObject({ ok: true, value: 7 });
  });

  it('when a metric probe runs, then the host sampler measures it and the bound is applied', async () => {
    const held = await checkProbe(probe({ name: 'mem', type: 'metric', metric: 'mem.used_pct', max: 100 }), 'before', deps);
    expect(held.ok).toBe(true);
    expect(typeof held.value).toBe('number');
    expect(held.detail).toMatch(/^mem\.used_pct = \d/);
    const broken = await checkProbe(probe({ name: 'disk', type: 'metric', metric: 'disk.used_pct', max: -1 }), 'before', deps);
    expect(broken).toMatchObject({ ok: false, tolerance: 'disk.used_pct <= -1' });
  }, 30_000);

  it('when a SQL probe cannot reach its database, then it is out of tolerance with psql\'s reason', async () => {
    const check = await checkProbe(probe({ name: 'db', type: 'sql', db: 'postgresql://nobody@127.0.0.1:9/none', query: 'select 1', expect: { equals: 1 } }), 'before', deps);
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(/^psql exited 2: .*(refused|could not connect)/s);
  });
});
