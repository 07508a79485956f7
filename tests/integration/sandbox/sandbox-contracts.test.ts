import { execFile, spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { HostSnapshot, MetricSample } from '../../../src/evidence/schema.js';
import { REPO_ROOT } from '../../fixtures/paths.js';
import { ensureSandbox, SANDBOX } from '../../fixtures/sandbox.js';

const run = promisify(execFile);
const STATE = '/var/lib/chaos-sandbox';
const status = () => run('bash', [path.join(REPO_ROOT, 'scripts/sandbox/status.sh')], { cwd: REPO_ROOT, timeout: 60_000 });

/**
 * The contracts other parts of Chaos-Handler rely on, checked on the real sandbox host through
 * real OpenSSH with the enrolled key and host key: streaming collectors that die with their SSH
 * channel, log windowing, snapshots of a filling disk, the pid-file service contract, host keys.
 */
describe('the sandbox host contracts', () => {
  let wasUp = false;
  let tmp: string;
  let knownHosts: string;

  const sshArgs = (command: string, hosts = knownHosts) => [
    '-i', SANDBOX.keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5',
    '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${hosts}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR', `sre-demo@${SANDBOX.address}`, command,
  ];
  const ssh = (command: string) => run('ssh', sshArgs(command), { timeout: 60_000 });
  /** As root inside the sandbox's namespaces (what the host's own operator could do). */
  const inSandbox = async (...argv: string[]) => {
    const pid = (await readFile(path.join(STATE, 'init.pid'), 'utf8')).trim();
    return run('nsenter', ['-t', pid, '-m', '-u', '-i', '-n', '-p', '--wd=/', '--', ...argv], { timeout: 60_000 });
  };
  const samplerLeft = () => ssh('pgrep -f collect/sampler.py').then(() => true, (e: { code?: number }) => (e.code === 1 ? false : Promise.reject(e)));
  const waitFor = async (check: () => Promise<boolean>, ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 250));
    }
    return check();
  };

  beforeAll(async () => {
    wasUp = await status().then(() => true, () => false);
    await ensureSandbox();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'chaos-sbx-'));
    knownHosts = path.join(tmp, 'known_hosts');
    const targets = JSON.parse(await readFile(SANDBOX.targetsFile, 'utf8')) as { targets: { name: string; host: string; host_keys: string[] }[] };
    const entry = targets.targets.find((t) => t.name === 'sandbox')!;
    await writeFile(knownHosts, entry.host_keys.map((k) => `${entry.host} ${k}\n`).join(''));
  }, 660_000);

  afterAll(async () => {
    await inSandbox('rm', '-f', '/tmp/chaos-test-fill').catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    // Leave the sandbox as it was found.
    if (!wasUp) await run('bash', [path.join(REPO_ROOT, 'scripts/sandbox/down.sh')], { cwd: REPO_ROOT, timeout: 600_000 });
  }, 660_000);

  it('when the host key is not the enrolled one, then ssh opens no session', async () => {
    const other = path.join(tmp, 'other_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const wrongHosts = path.join(tmp, 'known_hosts.wrong');
    const pub = (await readFile(`${other}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
    await writeFile(wrongHosts, `${SANDBOX.address} ${pub}\n`);
    await expect(run('ssh', sshArgs('echo reached', wrongHosts), { timeout: 30_000 })).rejects.toMatchObject({
      code: 255,
      stdout: '',
    });
  }, 60_000);

  it('when the coordinator closes the sampler\'s stdin, then the sampler exits and nothing is left on the host', async () => {
    const child = spawn('ssh', sshArgs(`sudo -n /opt/chaos-scripts/collect/sampler.py --interval 0.5 --db postgresql://victim@${SANDBOX.address}:5432/victim`));
    const samples: MetricSample[] = [];
    const lines = createInterface({ input: child.stdout });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for await (const line of lines) {
      const parsed = JSON.parse(line) as { type: string; data: object };
      if (parsed.type === 'sample') samples.push(MetricSample.parse({ ...parsed.data, phase: 'incident' }));
      if (samples.length >= 3) break;
    }
    expect(samples.at(-1)!.db?.connections).toBeGreaterThanOrEqual(0);
    const closedAt = Date.now();
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(Date.now() - closedAt).toBeLessThan(5_000);
    expect(await waitFor(async () => !(await samplerLeft()), 5_000)).toBe(true);
  }, 60_000);

  it('when the SSH client dies, then the remote sampler stops by itself', async () => {
    const child = spawn('ssh', sshArgs('sudo -n /opt/chaos-scripts/collect/sampler.py --interval 0.5'));
    const firstLine = new Promise((resolve) => child.stdout.once('data', resolve));
    await firstLine;
    expect(await samplerLeft()).toBe(true);
    child.kill('SIGKILL');
    expect(await waitFor(async () => !(await samplerLeft()), 15_000)).toBe(true);
  }, 60_000);

  it('when lines are logged during the window, then logs.py returns them with their continuation lines and drops harness lines', async () => {
    const logFile = path.join(STATE, 'log', 'victim-api.log'); // the sandbox's /var/log/victim-api.log
    const stamp = (d: Date) => d.toISOString().replace('Z', '+0000');
    const before = new Date();
    await new Promise((r) => setTimeout(r, 1_100));
    const marker = `marker-${process.pid}-${Date.now()}`;
    await appendFile(
      logFile,
      `${stamp(new Date())} ERROR [victim-api] ${marker} boom\nTraceback (most recent call last): ${marker} continuation\n` +
        `${stamp(new Date())} INFO [victim-api] ${marker} ran /opt/chaos-scripts/cpu_spike.sh\n`,
    );
    const collect = async (args: string) => {
      const { stdout } = await ssh(`sudo -n /opt/chaos-scripts/collect/logs.py ${args}`);
      return stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { stream: string; line: string }).filter((l) => l.line.includes(marker));
    };
    const inWindow = await collect(`--since ${new Date(before.getTime() + 500).toISOString()}`);
    expect(inWindow.map((l) => l.stream)).toEqual(['victim-api', 'victim-api']);
    expect(inWindow[0]!.line).toContain('boom');
    expect(inWindow[1]!.line).toContain('continuation');
    expect(await collect(`--since ${new Date(before.getTime() - 60_000).toISOString()} --until ${before.toISOString()}`)).toEqual([]);
    expect((await collect(`--since ${before.toISOString()} --keep-harness`)).length).toBe(3);
  }, 60_000);

  it('when a file fills the sandbox /tmp, then the sampler sees the disk grow and snapshot.py names the file', async () => {
    const sample = async () => {
      const { stdout } = await ssh('sudo -n /opt/chaos-scripts/collect/sampler.py --interval 0.5 --max-seconds 0.8 --no-stdin-watch');
      const line = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: object }).find((l) => l.type === 'sample')!;
      return MetricSample.parse({ ...line.data, phase: 'baseline' }).disks.find((d) => d.mount === '/tmp')!;
    };
    const baseline = await sample();
    expect(baseline.size_mb).toBeGreaterThan(0);
    await inSandbox('dd', 'if=/dev/zero', 'of=/tmp/chaos-test-fill', 'bs=1M', 'count=120', 'status=none');
    const after = await sample();
    expect(after.used_mb - baseline.used_mb).toBeGreaterThanOrEqual(100);
    const { stdout } = await ssh(`sudo -n /opt/chaos-scripts/collect/snapshot.py --baseline-disk '${JSON.stringify([baseline])}'`);
    const snap = HostSnapshot.parse(JSON.parse(stdout));
    const tmpFiles = snap.largest_files.find((m) => m.mount === '/tmp')?.files ?? [];
    expect(tmpFiles[0]?.path).toBe('/tmp/chaos-test-fill');
    expect(tmpFiles[0]?.size_mb).toBeGreaterThanOrEqual(120);
    await inSandbox('rm', '-f', '/tmp/chaos-test-fill');
  }, 60_000);

  it('when victim-api is killed through its pid file, then status says stopped, /health fails, and start brings it back', async () => {
    const script = '/etc/chaos-handler/services/victim-api.sh';
    const pid = (await inSandbox('cat', '/var/run/victim-api.pid')).stdout.trim();
    await inSandbox('kill', '-KILL', pid);
    await expect(inSandbox(script, 'status')).rejects.toMatchObject({ code: 3, stdout: 'victim-api stopped\n' });
    const down = await ssh('sudo -n /opt/chaos-scripts/collect/snapshot.py');
    expect(HostSnapshot.parse(JSON.parse(down.stdout)).services.find((s) => s.name === 'victim-api')).toMatchObject({ active: false, manager: 'pidfile' });
    await expect(fetch(`http://${SANDBOX.address}:8080/health`, { signal: AbortSignal.timeout(3_000) })).rejects.toThrow();
    const started = await inSandbox(script, 'start');
    expect(started.stdout).toMatch(/^victim-api running pid=\d+$/m);
    expect((await fetch(`http://${SANDBOX.address}:8080/health`)).status).toBe(200);
  }, 60_000);

  it('when the postmaster is SIGKILLed, then start clears its orphans and the database answers again', async () => {
    const script = '/etc/chaos-handler/services/postgresql.sh';
    const pid = (await inSandbox('cat', '/var/run/postgresql.pid')).stdout.trim();
    await inSandbox('kill', '-KILL', pid);
    await expect(inSandbox(script, 'status')).rejects.toMatchObject({ code: 3 });
    expect((await fetch(`http://${SANDBOX.address}:8080/health`)).status).toBe(503);
    await inSandbox(script, 'start');
    const health = await fetch(`http://${SANDBOX.address}:8080/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', db: 'ok' });
    await status();
  }, 90_000);
});
