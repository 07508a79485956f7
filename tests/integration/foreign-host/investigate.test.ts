/**
 * Issue 9's proof: a host that is not the sandbox's victim stack (shop-db-01: its own user `ops`,
 * sshd on 2222, nginx on 8088, ledger on 7070, PostgreSQL on 6543, a tmpfs cache, all in a 768 MiB
 * memory cgroup), enrolled with `chaos-handler enroll` as a user would, each fault made by the test
 * itself (never by chaos-scripts) and in place BEFORE `investigate` starts, as when an alert fired.
 * Every category plus healthy, with a culprit a person recognises, and no wrong answer at ≥ 0.7.
 * A few faults are also started in the middle of the run.
 *
 * With CHAOS_EXAMPLES_OUT set, each run's evidence is also saved there as an offline bundle
 * (npm run examples:record:foreign), for the examples/ replays.
 */
import { copyFile, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../../../src/cli/run-cli.js';
import { startTestServer, waitForIncident, type TestServer } from '../../fixtures/coordinator.js';
import { ensureForeignHost, foreignHostKey, FOREIGN_HOST } from '../../fixtures/foreign-host.js';
import { clearAllForeignFaults, FOREIGN_FAULTS, type Fault, type FaultName } from '../../fixtures/foreign-host-faults.js';
import { REPO_ROOT, tempDir } from '../../fixtures/paths.js';

type Diagnosis = {
  root_cause: { category: string; confidence: number; summary: string; culprit: { kind: string; name: string; pid?: number; port?: number; exe?: string } | null; evidence: { detail: string }[] };
  hypotheses: { category: string; confidence: number }[];
};

/** One row of the figures the closing note quotes (also written to tests/artifacts/). */
type Figure = { fault: string; when: 'before' | 'mid-window'; category: string; culprit: string | null; confidence: number; seconds: number; ok: boolean; summary: string; others: string[] };

function figure(fault: Fault, when: Figure['when'], diagnosis: Diagnosis, seconds: number): Figure {
  const rc = diagnosis.root_cause;
  return {
    fault: fault.name,
    when,
    category: rc.category,
    culprit: rc.culprit ? `${rc.culprit.name}${rc.culprit.port ? `:${rc.culprit.port}` : ''}` : null,
    confidence: rc.confidence,
    seconds,
    ok: rc.category === fault.category,
    summary: rc.summary,
    // What else was considered, so a miss can be read from the figures alone.
    others: diagnosis.hypotheses.filter((h) => h.category !== rc.category).map((h) => `${h.category} ${h.confidence}`),
  };
}

const KEY = 'ops_ed25519';
const figures: Figure[] = [];

describe('investigate on a host of its own, the fault already there', () => {
  let server: TestServer;
  let dir: { dir: string; cleanup: () => Promise<void> };
  let env: Record<string, string>;

  beforeAll(async () => {
    await ensureForeignHost();
    await clearAllForeignFaults();
    dir = await tempDir('foreign');
    const keysDir = path.join(dir.dir, 'keys');
    await mkdir(keysDir, { mode: 0o700 });
    await copyFile(FOREIGN_HOST.keyFile, path.join(keysDir, KEY));
    env = {
      CHAOS_TARGETS_FILE: path.join(dir.dir, 'targets.json'),
      CHAOS_KEYS_DIR: keysDir,
      CHAOS_STATE_DIR: path.join(dir.dir, 'state'),
      CHAOS_PDF: 'false',
      CHAOS_LOG_LEVEL: 'silent',
    };
    // Enrolled as a user would: probes of its own services, the DB password only in ~ops/.pgpass.
    let out = '';
    let err = '';
    const code = await runCli(
      [
        'enroll', 'shop', '--host', FOREIGN_HOST.address, '--port', String(FOREIGN_HOST.sshPort), '--user', FOREIGN_HOST.user, '--key', KEY,
        '--host-key', await foreignHostKey(),
        '--http', 'http://127.0.0.1:8088/', '--http', 'http://127.0.0.1:7070/health',
        '--db', `postgresql://${FOREIGN_HOST.services.postgres.monitorRole}@127.0.0.1:6543/shop`,
        '--reference-seconds', '6',
      ],
      env,
      { write: (t: string) => (out += t) },
      { write: (t: string) => (err += t) },
    );
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toContain('Known-good reference of shop saved');
    expect(out).toMatch(/listening TCP ports: .*2222.*6543.*7070.*8088/);
    const targets = await readFile(env.CHAOS_TARGETS_FILE!, 'utf8');
    expect(targets).not.toMatch(/password|:[^@/]*@127/i);
    server = await startTestServer(env);
  }, 600_000);

  afterAll(async () => {
    await clearAllForeignFaults().catch(() => undefined);
    await server?.stop();
    await dir?.cleanup();
    if (figures.length) {
      const out = path.join(REPO_ROOT, 'tests', 'artifacts', 'foreign-host-figures.json');
      await mkdir(path.dirname(out), { recursive: true });
      await writeFile(out, `${JSON.stringify(figures, null, 1)}\n`);
    }
  }, 300_000);

  /** Starts `investigate` with its default windows; `during` runs once the second look has begun. */
  async function investigate(label: string, during?: () => Promise<void>): Promise<{ record: Record<string, unknown>; diagnosis: Diagnosis; seconds: number; id: string }> {
    const started = Date.now();
    // Only faults present from the start are kept as examples: that is the case they document.
    const record = !!process.env.CHAOS_EXAMPLES_OUT && !during;
    const res = await fetch(`${server.url}/start_incident`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ scenario: 'investigate', target_vm: { name: 'shop' }, options: { record } }),
    });
    expect(res.status).toBe(202);
    const { incident_id: id } = (await res.json()) as { incident_id: string };
    if (during) {
      for (;;) {
        const status = (await (await fetch(`${server.url}/status/${id}`)).json()) as { phase?: string };
        if (status.phase === 'observe') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await during();
    }
    const done = await waitForIncident(server.url, id, {}, 180_000);
    const seconds = (Date.now() - started) / 1000;
    const folder = path.join(server.incidentsDir, id);
    const diagnosis = JSON.parse(await readFile(path.join(folder, 'fix_suggestion.json'), 'utf8')) as Diagnosis;
    if (record && process.env.CHAOS_EXAMPLES_OUT) {
      const target = path.join(process.env.CHAOS_EXAMPLES_OUT, label);
      await rm(target, { recursive: true, force: true });
      await cp(path.join(folder, 'bundle'), target, { recursive: true });
      // The label is provenance for people browsing examples/ (agents never see it).
      const manifest = path.join(target, 'manifest.json');
      await writeFile(manifest, `${JSON.stringify({ ...JSON.parse(await readFile(manifest, 'utf8')), label }, null, 2)}\n`);
    }
    return { record: done, diagnosis, seconds, id };
  }

  function expectDiagnosis(fault: Fault, diagnosis: Diagnosis) {
    const rc = diagnosis.root_cause;
    // A wrong answer prints all it was based on: the run's temp dir is gone once the file ends.
    if (rc.category !== fault.category) throw new Error(`${fault.name}: expected ${fault.category}, got ${JSON.stringify({ root_cause: rc, hypotheses: diagnosis.hypotheses.map((h) => [h.category, h.confidence]) }, null, 1)}`);
    if (fault.category !== 'healthy') {
      const port = /\(port (\d+)\)/.exec(fault.culprit);
      expect(rc.culprit?.name).toBe(fault.culprit.replace(/ \(port \d+\)$/, ''));
      if (port) expect(rc.culprit?.port).toBe(Number(port[1]));
      expect(rc.confidence).toBeGreaterThanOrEqual(0.6);
    }
    // No wrong answer said with confidence.
    for (const h of diagnosis.hypotheses.filter((h) => h.category !== fault.category)) expect(h.confidence).toBeLessThan(0.7);
  }

  const PRESENT_BEFORE: FaultName[] = ['cpu', 'memory', 'disk', 'disk_inodes', 'network', 'service_down', 'db_connections', 'resource_limit', 'healthy_noisy'];

  it.each(PRESENT_BEFORE)('when the %s fault is in place before the run, then investigate names its category and culprit', async (name) => {
    const fault = FOREIGN_FAULTS[name];
    await fault.apply();
    try {
      const { record, diagnosis, seconds } = await investigate(`foreign_${name}`);
      const rc = diagnosis.root_cause;
      figures.push(figure(fault, 'before', diagnosis, seconds));
      expect(record).toMatchObject({ status: 'completed', chaos: { state: 'not_applicable' } });
      expectDiagnosis(fault, diagnosis);
      if (name === 'service_down') expect(rc.evidence.map((e) => e.detail).join('\n')).toMatch(/\[emerg\].*unknown directive/);
    } finally {
      await fault.clear();
    }
  }, 300_000);

  it.each(['cpu', 'service_down'] as const)('when the %s fault starts in the middle of the run, then it is found the same', async (name) => {
    const fault = FOREIGN_FAULTS[name];
    try {
      const { diagnosis, seconds } = await investigate(`foreign_${name}_mid`, () => fault.apply());
      figures.push(figure(fault, 'mid-window', diagnosis, seconds));
      expectDiagnosis(fault, diagnosis);
    } finally {
      await fault.clear();
    }
  }, 300_000);
});
