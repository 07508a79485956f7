import { execFile } from 'node:child_process';
import { chmod, cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { HostInventory } from '../../../src/evidence/inventory.js';
import { HostSnapshot, LogStream, MetricSample, ProbeResult } from '../../../src/evidence/schema.js';
import { REPO_ROOT } from '../../fixtures/paths.js';

const run = promisify(execFile);

/**
 * The host-side collectors run on this machine, as root and as an unprivileged user: what they
 * print must parse with the evidence schemas the coordinator uses (no sandbox, no SSH).
 */
describe('the host-side collectors, run locally', () => {
  let dir: string;
  const tool = (name: string) => path.join(dir, 'collect', name);
  // `nobody` may not be able to read the checkout: run from a world-readable copy.
  const asNobody = (file: string, args: string[]) =>
    run('runuser', ['-u', 'nobody', '--', '/usr/bin/python3', file, ...args], { timeout: 60_000, cwd: '/' });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'chaos-collect-'));
    await chmod(dir, 0o755);
    await cp(path.join(REPO_ROOT, 'chaos-scripts', 'collect'), path.join(dir, 'collect'), { recursive: true });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const parseSampler = (stdout: string) => {
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
    return {
      samples: lines.filter((l) => l.type === 'sample').map((l) => MetricSample.parse({ ...l.data, phase: 'baseline' })),
      probes: lines.filter((l) => l.type === 'probe').map((l) => ProbeResult.parse({ ...l.data, phase: 'incident' })),
      other: lines.filter((l) => l.type !== 'sample' && l.type !== 'probe'),
    };
  };

  it('when the sampler runs as root with unreachable probes, then samples and failed probes parse and it stops at --max-seconds', async () => {
    const started = Date.now();
    const { stdout } = await run(
      'python3',
      [tool('sampler.py'), '--interval', '0.5', '--max-seconds', '2.2', '--no-stdin-watch', '--http', 'http://127.0.0.1:9/health', '--db', 'postgresql://victim@127.0.0.1:9/victim'],
      { timeout: 30_000 },
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    const { samples, probes, other } = parseSampler(stdout);
    expect(other).toEqual([]);
    expect(samples.length).toBeGreaterThanOrEqual(3);
    expect(samples[0]!.cpu.cores).toBe(os.cpus().length);
    expect(samples[0]!.disks.some((d) => d.mount === '/')).toBe(true);
    expect(samples.every((s) => s.db === undefined)).toBe(true); // no database: no db sample, not a made-up one
    expect(probes.some((p) => p.kind === 'http' && p.target === 'http://127.0.0.1:9/health' && !p.ok && p.latency_ms === null && /refused/i.test(p.error ?? ''))).toBe(true);
    expect(probes.some((p) => p.kind === 'db' && p.target === 'db victim@127.0.0.1:9/victim' && !p.ok && /refused/i.test(p.error ?? ''))).toBe(true);
  }, 60_000);

  it('when a process burns CPU, then the sampler names it among the top processes', async () => {
    // It burns until killed: however long the sampler takes to start on a busy machine, it is still burning.
    const burner = execFile('/usr/bin/python3', ['-c', 'while True: pass']);
    try {
      const { stdout } = await run('/usr/bin/python3', [tool('sampler.py'), '--interval', '1', '--max-seconds', '2.5', '--no-stdin-watch'], { timeout: 30_000 });
      const { samples } = parseSampler(stdout);
      const top = samples.at(-1)!.top;
      expect(top.length).toBeLessThanOrEqual(10);
      const hot = top.find((p) => p.pid === burner.pid);
      expect(hot?.cpu_pct).toBeGreaterThan(50);
      expect(hot?.comm).toMatch(/^python3/);
    } finally {
      burner.kill('SIGKILL');
    }
  }, 60_000);

  it('when the sampler runs unprivileged, then it still streams valid samples', async () => {
    const { stdout } = await asNobody(tool('sampler.py'), ['--interval', '0.5', '--max-seconds', '1.2', '--no-stdin-watch']);
    expect(parseSampler(stdout).samples.length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('when the sampler is given bad arguments, then it exits 2 with a message', async () => {
    await expect(run('python3', [tool('sampler.py'), '--interval', '0'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--interval') });
    await expect(run('python3', [tool('sampler.py'), '--http', 'file:///etc/passwd'])).rejects.toMatchObject({ code: 2 });
    for (const probe of ['ftp=x', 'tcp=127.0.0.1', 'tcp=127.0.0.1:70000', 'tcp=[nothex]:22', 'http=http://user:pw@127.0.0.1/', 'db=host=x passfile=/etc/shadow', 'db=host=x sslmode=require']) {
      await expect(run('python3', [tool('sampler.py'), '--probe', probe])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--probe') });
    }
  }, 60_000);

  it('when discover.py runs as root and unprivileged, then both print one HostInventory, the unprivileged one with less detail', async () => {
    const asRoot = HostInventory.parse(JSON.parse((await run('python3', [tool('discover.py')], { timeout: 60_000 })).stdout));
    expect(asRoot.hostname).toBe(os.hostname());
    expect(asRoot.cores).toBe(os.cpus().length);
    expect(asRoot.mounts.some((m) => m.mount === '/')).toBe(true);
    expect(asRoot.limits.pid_max).toBeGreaterThan(0);
    const unpriv = HostInventory.parse(JSON.parse((await asNobody(tool('discover.py'), [])).stdout));
    // Unprivileged, other users' sockets and processes cannot be read: less detail, never a wrong one.
    for (const l of unpriv.listeners.filter((x) => x.pid !== undefined)) {
      expect(asRoot.listeners.find((r) => r.proto === l.proto && r.port === l.port && r.address === l.address)?.pid).toBe(l.pid);
    }
    expect(unpriv.postgres.every((p) => p.data_dir === undefined || asRoot.postgres.some((r) => r.data_dir === p.data_dir))).toBe(true);
    await expect(run('python3', [tool('discover.py'), '--time-budget', '0'])).rejects.toMatchObject({ code: 2 });
  }, 60_000);

  it('when snapshot.py runs as root and unprivileged, then both print one HostSnapshot', async () => {
    const asRoot = await run('python3', [tool('snapshot.py'), '--time-budget', '2'], { timeout: 60_000 });
    const snap = HostSnapshot.parse(JSON.parse(asRoot.stdout));
    expect(snap.hostname).toBe(os.hostname());
    expect(snap.qdiscs.some((q) => q.iface === 'lo')).toBe(true);
    const unpriv = await asNobody(tool('snapshot.py'), ['--time-budget', '2']);
    HostSnapshot.parse(JSON.parse(unpriv.stdout));
  }, 60_000);

  it('when a disk grew since the baseline, then snapshot.py lists its largest files', async () => {
    // Baseline: the root filesystem 1 GiB emptier than now, so it counts as grown.
    const { stdout: df } = await run('df', ['-m', '--output=used', '/']);
    const usedMb = Number(df.trim().split('\n').at(-1));
    const baseline = JSON.stringify([{ mount: '/', used_mb: Math.max(0, usedMb - 1024) }]);
    const { stdout } = await run('python3', [tool('snapshot.py'), '--baseline-disk', baseline, '--time-budget', '3'], { timeout: 60_000 });
    const snap = HostSnapshot.parse(JSON.parse(stdout));
    const root = snap.largest_files.find((m) => m.mount === '/');
    expect(root?.files.length).toBeGreaterThan(0);
    const sizes = root!.files.filter((f) => !f.path.includes('(deleted')).map((f) => f.size_mb);
    expect([...sizes].sort((a, b) => b - a)).toEqual(sizes);
    await expect(run('python3', [tool('snapshot.py'), '--baseline-disk', '{not json'])).rejects.toMatchObject({ code: 2 });
  }, 60_000);

  it('when snapshot.py is given a malformed expectation, then it exits 2 naming --expect', async () => {
    for (const spec of ['nginx', 'ng inx=80', '-Hroot@evil=80', 'nginx=0', 'nginx=80/sctp', 'nginx=80:/etc/shadow', 'nginx=80:var/log/x.log', 'nginx=:/var/log/../../etc/shadow']) {
      // `--expect=SPEC`: a spec starting with "-" must reach the validation, not argparse.
      await expect(run('python3', [tool('snapshot.py'), `--expect=${spec}`])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--expect') });
    }
  }, 60_000);

  it('when logs.py runs as root and unprivileged, then every line is a {stream, line} with a valid stream name', async () => {
    const since = new Date(Date.now() - 24 * 3600_000).toISOString();
    for (const { stdout } of [
      await run('python3', [tool('logs.py'), '--since', since, '--max-lines', '20'], { timeout: 60_000 }),
      await asNobody(tool('logs.py'), ['--since', since, '--max-lines', '20']),
    ]) {
      const lines = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { stream: string; line: string });
      const byStream = new Map<string, string[]>();
      for (const { stream, line } of lines) byStream.set(stream, [...(byStream.get(stream) ?? []), line]);
      for (const [name, streamLines] of byStream) {
        LogStream.parse({ name, lines: streamLines });
        expect(streamLines.length).toBeLessThanOrEqual(20);
      }
    }
    await expect(run('python3', [tool('logs.py'), '--since', 'yesterday'])).rejects.toMatchObject({ code: 2 });
  }, 60_000);
});
