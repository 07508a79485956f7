import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI, REPO_ROOT, tempDir } from '../../fixtures/paths.js';

const run = promisify(execFile);

/** `chaos-handler experiment run` (the built CLI) refusing what it cannot run, before touching any host. */
describe('chaos-handler experiment run, refusals', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    ({ dir, cleanup } = await tempDir('cli-experiment'));
    const targets = path.join(dir, 'targets.json');
    await writeFile(targets, JSON.stringify({ targets: [{ name: 'box', host: '192.0.2.10', user: 'ops', key: 'none' }] }));
    env = { ...process.env, CHAOS_INCIDENTS_DIR: path.join(dir, 'incidents'), CHAOS_EXPERIMENTS_DIR: path.join(dir, 'experiments'), CHAOS_STATE_DIR: path.join(dir, 'state'), CHAOS_TARGETS_FILE: targets, NO_COLOR: '1' };
  });
  afterAll(() => cleanup());

  const file = async (name: string, text: string) => {
    const p = path.join(dir, name);
    await writeFile(p, text);
    return p;
  };
  const experiment = (target: string, url: string) =>
    `title: t\ntargets: [${target}]\nsteady_state:\n  - name: api\n    type: http\n    url: ${url}\n    expect_status: 200\nmethod:\n  - type: inject\n    scenario: cpu_spike\n`;

  it.each([
    ['a field is wrong, it names the file, line and path', experiment('box', 'ftp://x'), /bad\.yaml:6:10: steady_state\[0\]\.url: must be an http/],
    ['the target is not enrolled, it says so', experiment('nowhere', 'http://192.0.2.10/h'), /target "nowhere" is not enrolled/],
    ['the probe points at a host that is not the target, it refuses', experiment('box', 'http://198.51.100.7/h'), /may only go to loopback or an enrolled target's host/],
  ])('when %s and exits 2 without running anything', async (_what, text, message) => {
    const bad = await file('bad.yaml', text);
    const error = (await run('node', [CLI, 'experiment', 'run', bad], { cwd: REPO_ROOT, env }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(error.code).toBe(2);
    expect(error.stderr).toMatch(message);
    expect(existsSync(path.join(dir, 'experiments'))).toBe(false);
    const incidents = await readdir(path.join(dir, 'incidents')).catch(() => [] as string[]);
    expect(incidents.filter((n) => n.startsWith('inc-'))).toEqual([]);
  });

  it('when --runs is not a whole number from 1 to 100, then it exits 2 with the usage', async () => {
    const good = await file('good.yaml', experiment('box', 'http://192.0.2.10/h'));
    const error = (await run('node', [CLI, 'experiment', 'run', good, '--runs', '0'], { cwd: REPO_ROOT, env }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(error).toMatchObject({ code: 2 });
    expect(error.stderr).toContain('--runs must be a whole number from 1 to 100');
  });
});
