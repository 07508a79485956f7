import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { createCoordinator } from '../../../src/coordinator.js';
import { createLogger } from '../../../src/logger.js';
import { CLI, EXAMPLES_DIR, REPO_ROOT, tempDir } from '../../fixtures/paths.js';

/** Waits until some incident's trace.jsonl contains `marker`, then returns the incident dir. */
async function waitForTrace(dir: string, marker: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const id of await readdir(dir).catch(() => [] as string[])) {
      const text = await readFile(path.join(dir, id, 'trace.jsonl'), 'utf8').catch(() => '');
      if (text.includes(marker)) return path.join(dir, id);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`no trace entry with ${marker} within ${timeoutMs} ms`);
}

describe('a coordinator killed with SIGKILL mid-run', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  });

  it.each(['"LogAgent"', '"FixerAgent"', '"ReporterAgent"'])('when killed once the trace shows %s, then every file parses and a restart marks it interrupted', async (marker) => {
    const { dir, cleanup } = await tempDir('kill');
    try {
      const child = spawn('node', [CLI, 'run', '--offline', '--scenario', 'db_conn_exhaust'], {
        cwd: REPO_ROOT,
        env: { ...process.env, CHAOS_INCIDENTS_DIR: dir, CHAOS_EXAMPLES_DIR: EXAMPLES_DIR },
        stdio: 'ignore',
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      const incidentDir = await waitForTrace(dir, marker);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      // Every JSON artifact is either absent or complete: never truncated.
      for (const name of await readdir(incidentDir)) {
        if (name.endsWith('.tmp')) continue;
        if (name.endsWith('.json')) expect(() => JSON.parse(readFileSync(path.join(incidentDir, name), 'utf8'))).not.toThrow();
      }
      const before = (await readFile(path.join(incidentDir, 'trace.jsonl'), 'utf8')).split('\n').filter(Boolean);

      const config = loadConfig({ CHAOS_INCIDENTS_DIR: dir, CHAOS_PDF: 'false', CHAOS_LOG_LEVEL: 'silent' });
      const coordinator = await createCoordinator(config, createLogger('silent'));
      try {
        const id = path.basename(incidentDir);
        const { record, trace } = await coordinator.incidents.get(id);
        expect(record.status).toBe('interrupted');
        expect(record.error).toMatch(/coordinator stopped during phase/);
        expect(trace.at(-1)?.content).toMatchObject({ summary: expect.stringContaining('interrupted') });
        // Nothing the trace held before the crash was lost (a torn last line at most).
        expect(trace.length).toBeGreaterThanOrEqual(before.length - 1);
        const traceJson = JSON.parse(await readFile(path.join(incidentDir, 'trace.json'), 'utf8')) as unknown[];
        expect(traceJson.length).toBe(trace.length);
      } finally {
        await coordinator.close();
      }
    } finally {
      await cleanup();
    }
  });
});

describe('a coordinator killed with SIGKILL while Chromium renders', () => {
  it('when it is restarted, then the browser profile it left under the state dir is removed', async () => {
    const { dir, cleanup } = await tempDir('kill-pdf');
    const incidents = path.join(dir, 'incidents');
    const state = path.join(dir, 'state');
    const profiles = path.join(state, 'chromium');
    try {
      const child = spawn('node', [CLI, 'run', '--offline', '--scenario', 'cpu_spike'], {
        cwd: REPO_ROOT,
        env: { ...process.env, CHAOS_INCIDENTS_DIR: incidents, CHAOS_STATE_DIR: state, CHAOS_EXAMPLES_DIR: EXAMPLES_DIR },
        stdio: 'ignore',
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      const deadline = Date.now() + 60_000;
      while ((await readdir(profiles).catch(() => [] as string[])).length === 0) {
        if (Date.now() > deadline) throw new Error('Chromium never got a profile under the state dir');
        await new Promise((r) => setTimeout(r, 5));
      }
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      expect(await readdir(profiles)).toEqual([expect.stringMatching(new RegExp(`^profile-${child.pid}-`))]);

      const config = loadConfig({ CHAOS_INCIDENTS_DIR: incidents, CHAOS_STATE_DIR: state, CHAOS_PDF: 'false', CHAOS_LOG_LEVEL: 'silent' });
      const coordinator = await createCoordinator(config, createLogger('silent'));
      await coordinator.close();
      expect(await readdir(profiles)).toEqual([]);
    } finally {
      await cleanup();
    }
  });
});
