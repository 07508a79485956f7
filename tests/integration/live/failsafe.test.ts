import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadConfig } from '../../../src/config/index.js';
import { createCoordinator } from '../../../src/coordinator.js';
import { createLogger } from '../../../src/logger.js';
import { CLI, REPO_ROOT, tempDir } from '../../fixtures/paths.js';
import { ensureSandbox, onSandbox, SANDBOX } from '../../fixtures/sandbox.js';

/** Starts a live incident with the CLI and SIGKILLs it once the fault is injected. */
async function killDuringChaos(scenario: string, options: string[], env: Record<string, string>): Promise<void> {
  const child = spawn('node', [CLI, 'run', '--target', 'sandbox', '--scenario', scenario, '--option', 'baseline_s=3', '--option', 'observe_s=120', ...options], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', CHAOS_PDF: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const injected = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/phase chaos: .* running/.test(out)) resolve();
    });
    child.on('exit', () => reject(new Error(`the CLI exited before injecting:\n${out}`)));
  });
  await injected;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

async function statusOf(scenario: string): Promise<{ state: string; detail: string }> {
  return JSON.parse((await onSandbox(`sudo -n /opt/chaos-scripts/${scenario}.sh status`)).stdout) as { state: string; detail: string };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return check();
}

describe('the host-side failsafe when the coordinator dies', () => {
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    await ensureSandbox();
  }, 660_000);
  afterAll(() => onSandbox('sudo -n /opt/chaos-scripts/cleanup_all.sh'));

  it.each([
    ['cpu_spike', ['--option', 'duration=300', '--option', 'load=2'], "pgrep -c '^stress-ng' || true"],
    ['disk_fill', ['--option', 'size_mb=500'], 'ls -A /tmp/chaos_fill 2>/dev/null | wc -l'],
    ['db_conn_exhaust', ['--option', 'clients=20', '--option', 'duration=300'], 'pgrep -c -x psql || true'],
  ])('when the coordinator is SIGKILLed during %s, then after the lease the host has reverted it by itself', async (scenario, options, leftovers) => {
    const { dir, cleanup } = await tempDir('failsafe');
    try {
      await killDuringChaos(scenario, options, { CHAOS_INCIDENTS_DIR: dir, CHAOS_LEASE_S: '6' });
      expect((await statusOf(scenario)).state).toBe('running');
      const reverted = await waitUntil(async () => (await statusOf(scenario)).state === 'stopped', 30_000);
      expect(reverted).toBe(true);
      expect((await statusOf(scenario)).detail).toMatch(/lease/);
      expect(Number((await onSandbox(leftovers)).stdout.trim())).toBe(0);
    } finally {
      await cleanup();
    }
  }, 120_000);

  it('when the coordinator restarts after a SIGKILL, then it reconciles the incident: reverted and recorded', async () => {
    const { dir, cleanup } = await tempDir('reconcile');
    try {
      await killDuringChaos('cpu_spike', ['--option', 'duration=300'], { CHAOS_INCIDENTS_DIR: dir, CHAOS_LEASE_S: '120' });
      expect((await statusOf('cpu_spike')).state).toBe('running');
      const config = loadConfig({ CHAOS_INCIDENTS_DIR: dir, CHAOS_TARGETS_FILE: SANDBOX.targetsFile, CHAOS_KEYS_DIR: SANDBOX.keysDir, CHAOS_PDF: 'false', CHAOS_LOG_LEVEL: 'silent' });
      const coordinator = await createCoordinator(config, createLogger('silent'));
      try {
        const [record] = await coordinator.incidents.list();
        expect(record).toMatchObject({ status: 'interrupted', chaos: { state: 'reverted' } });
        expect((await statusOf('cpu_spike')).state).toBe('stopped');
      } finally {
        await coordinator.close();
      }
    } finally {
      await cleanup();
    }
  }, 120_000);
});
