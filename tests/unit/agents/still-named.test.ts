import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stillNamed } from '../../../src/agents/fixer/actions.js';

const run = promisify(execFile);

/** fix.sh's re-check, run by a real bash against real processes. */
async function holds(pid: number, name: string): Promise<boolean> {
  return run('bash', ['-c', `if ${stillNamed(pid, name)}; then echo yes; else echo no; fi`]).then((r) => r.stdout.trim() === 'yes');
}

describe('fix.sh re-checks that a pid is still the process it names', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  const start = (argv0: string, file: string) => {
    const child = spawn(file, ['30'], { argv0, stdio: 'ignore' });
    children.push(child);
    return child.pid!;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'still-named-'));
    // A program whose name is longer than the kernel's 15-character comm.
    await copyFile('/bin/sleep', path.join(dir, 'reporting-batch-worker'));
    await run('chmod', ['+x', path.join(dir, 'reporting-batch-worker')]);
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('when argv[0] is a path, then its basename names it (the raise_limit check used to compare the whole path)', async () => {
    const pid = start('/opt/ledger/bin/ledger', '/bin/sleep');
    await new Promise((r) => setTimeout(r, 100));
    expect(await holds(pid, 'ledger')).toBe(true);
    expect(await holds(pid, '/opt/ledger/bin/ledger')).toBe(true);
    expect(await holds(pid, 'nginx')).toBe(false);
  });

  it('when only the kernel comm is left to go by, then the name matches on its first 15 characters', async () => {
    const pid = start('worker', path.join(dir, 'reporting-batch-worker'));
    await new Promise((r) => setTimeout(r, 100));
    expect(await holds(pid, 'reporting-batch-worker')).toBe(true);
    expect(await holds(pid, 'reporting-worker')).toBe(false);
  });

  it('when the pid is gone, then nothing matches, and a name with quotes stays one word', async () => {
    expect(await holds(4_000_000, 'ledger')).toBe(false);
    const pid = start("it's $(touch /tmp/pwned)", '/bin/sleep');
    await new Promise((r) => setTimeout(r, 100));
    expect(await holds(pid, "it's $(touch /tmp/pwned)")).toBe(true);
  });
});
