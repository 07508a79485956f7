import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { createCoordinator } from '../../../src/coordinator.js';
import type { IncidentRecord } from '../../../src/domain/index.js';
import { createLogger } from '../../../src/logger.js';
import { CLI, REPO_ROOT, tempDir } from '../../fixtures/paths.js';
import { ensureSandbox, onSandbox } from '../../fixtures/sandbox.js';
import { ensureRemediationScripts } from '../remediation/harness.js';

/** Polls the incidents dir until a record's first remediation step is saved as running. */
async function waitForRunningStep(dir: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const id of await readdir(dir).catch(() => [] as string[])) {
      const text = await readFile(path.join(dir, id, 'incident.json'), 'utf8').catch(() => '');
      if (!text) continue;
      const record = JSON.parse(text) as IncidentRecord;
      if (record.remediation?.steps[0]?.state === 'running') return id;
      if (record.status !== 'running') throw new Error(`incident ${id} ended (${record.status}) before a step ran: ${JSON.stringify(record.remediation)}`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`no remediation step ran within ${timeoutMs} ms`);
}

const remediateLog = async () => (await onSandbox('cat /var/log/chaos-remediate.log 2>/dev/null || true')).stdout.split('\n').filter(Boolean);

describe('a coordinator killed with SIGKILL while a remediation step runs', () => {
  let sandbox: Awaited<ReturnType<typeof ensureSandbox>>;
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    sandbox = await ensureSandbox();
    await ensureRemediationScripts();
  }, 660_000);
  afterAll(async () => {
    await onSandbox('sudo -n /opt/chaos-scripts/cleanup_all.sh');
  });

  it('when restarted, then the interrupted step is verified, never applied twice, the remediation settled and the chaos reconciled', async () => {
    const { dir, cleanup } = await tempDir('kill-remediation');
    const env = { CHAOS_INCIDENTS_DIR: dir, CHAOS_STATE_DIR: path.join(dir, '.state'), CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false', CHAOS_LOG_LEVEL: 'silent' };
    const logBefore = (await remediateLog()).length;
    try {
      const options = ['service_name=victim-api', 'baseline_s=4', 'observe_s=8', 'verify_s=25'].flatMap((o) => ['--option', o]);
      const child = spawn('node', [CLI, 'run', '--target', 'sandbox', '--scenario', 'service_kill', '--approve', '--approver', 'crash-test', ...options], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env },
        stdio: 'ignore',
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      const id = await waitForRunningStep(dir, 120_000);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      const coordinator = await createCoordinator(loadConfig(env), createLogger('silent'));
      try {
        const { record, trace } = await coordinator.incidents.get(id);
        expect(record.status).toBe('interrupted');
        expect(['resolved', 'rolled_back']).toContain(record.remediation?.status);
        expect(record.remediation!.steps[0]!.state).not.toBe('running');
        expect(record.remediation!.verification?.checks.some((c) => c.name === 'recovery')).toBe(true);
        expect(trace.some((e) => /remediation settled after restart/.test(String((e.content as { summary?: string }).summary)))).toBe(true);
        // The step's command went to the host once: the restart verified it, it did not run it again.
        const applied = (await remediateLog()).slice(logBefore).filter((l) => /restart_service\[\d+\] (start|restart) victim-api/.test(l));
        expect(applied.length).toBeLessThanOrEqual(1);
        // Then the chaos was reconciled as for any interrupted incident.
        expect(record.chaos.state).toBe('reverted');
        expect(JSON.parse((await onSandbox('sudo -n /opt/chaos-scripts/service_kill.sh status')).stdout)).toMatchObject({ state: 'stopped' });
      } finally {
        await coordinator.close();
      }
    } finally {
      await cleanup();
    }
  }, 240_000);
});
