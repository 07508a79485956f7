import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { HostSnapshot, LogStream, MetricSample, ProbeResult } from '../../../src/evidence/schema.js';
import { REPO_ROOT } from '../../fixtures/paths.js';
import { ensureSandbox, onSandbox, SANDBOX } from '../../fixtures/sandbox.js';

const run = promisify(execFile);
const script = (name: string) => path.join(REPO_ROOT, 'scripts', 'sandbox', name);

/** The sandbox host itself: what sandbox:up promises, checked from the outside. */
describe('the sandbox host', () => {
  beforeAll(() => ensureSandbox(), 660_000);
  // Leave it up for the suites that follow (the live tests need it).
  afterAll(() => ensureSandbox(), 660_000);

  it('when the sampler runs over SSH, then every line parses as a sample or probe of the evidence model', async () => {
    const { stdout, code } = await onSandbox(
      `sudo -n /opt/chaos-scripts/collect/sampler.py --interval 1 --max-seconds 3 --no-stdin-watch --http http://${SANDBOX.address}:8080/health --db postgresql://victim@${SANDBOX.address}:5432/victim`,
    );
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
    const samples = lines.filter((l) => l.type === 'sample').map((l) => MetricSample.parse({ ...l.data, phase: 'baseline' }));
    const probes = lines.filter((l) => l.type === 'probe').map((l) => ProbeResult.parse({ ...l.data, phase: 'baseline' }));
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(samples[0]!.db?.max_connections).toBeGreaterThan(0);
    expect(samples.some((s) => s.disks.some((d) => d.mount === '/tmp'))).toBe(true);
    expect(probes.filter((p) => p.kind === 'http').every((p) => p.ok && p.status === 200)).toBe(true);
    expect(probes.some((p) => p.kind === 'db' && p.ok)).toBe(true);
  }, 60_000);

  it('when the snapshot and logs collectors run over SSH, then their output parses', async () => {
    const snapshot = await onSandbox('sudo -n /opt/chaos-scripts/collect/snapshot.py');
    const parsed = HostSnapshot.parse(JSON.parse(snapshot.stdout));
    expect(parsed.services.map((s) => s.name)).toEqual(expect.arrayContaining(['victim-api', 'postgresql']));
    expect(parsed.services.every((s) => s.active)).toBe(true);
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const logs = await onSandbox(`sudo -n /opt/chaos-scripts/collect/logs.py --since ${since} --max-lines 50`);
    expect(logs.code).toBe(0);
    for (const line of logs.stdout.trim().split('\n').filter(Boolean)) {
      const { stream } = JSON.parse(line) as { stream: string };
      expect(LogStream.shape.name.safeParse(stream).success).toBe(true);
    }
  }, 60_000);

  it('when sre-demo uses sudo, then only the chaos scripts and collectors are allowed', async () => {
    expect((await onSandbox('sudo -n /opt/chaos-scripts/cpu_spike.sh status')).code).toBe(0);
    expect((await onSandbox('sudo -n /bin/sh -c id')).code).not.toBe(0);
    expect((await onSandbox('sudo -n /opt/chaos-scripts/lib/common.sh')).code).not.toBe(0);
  }, 60_000);

  it('when the victim service is asked from this machine over the veth, then it answers 200 from the database', async () => {
    const res = await fetch(`http://${SANDBOX.address}:8080/health`);
    expect(res.status).toBe(200);
  });

  it('when sandbox:up runs again, then it is idempotent and the host stays healthy', async () => {
    await run('bash', [script('up.sh')], { cwd: REPO_ROOT, timeout: 600_000 });
    await run('bash', [script('status.sh')], { cwd: REPO_ROOT, timeout: 60_000 });
  }, 660_000);

  it('when sandbox:down runs, then nothing is left: no namespace, no processes, no user, no enrolment', async () => {
    await run('bash', [script('down.sh')], { cwd: REPO_ROOT, timeout: 600_000 });
    const { stdout: namespaces } = await run('ip', ['netns', 'list']);
    expect(namespaces).not.toMatch(/\bchsbx\b/);
    await expect(run('id', ['sre-demo'])).rejects.toMatchObject({ code: 1 });
    await expect(run('pgrep', ['-f', 'chaos-sandbox'])).rejects.toMatchObject({ code: 1 });
    await expect(run('bash', [script('status.sh')], { cwd: REPO_ROOT })).rejects.toBeTruthy();
    const targets = await import('node:fs/promises').then((fs) => fs.readFile(SANDBOX.targetsFile, 'utf8').catch(() => '{"targets":[]}'));
    expect(JSON.stringify(JSON.parse(targets))).not.toContain('"sandbox"');
  }, 660_000);
});
