import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../fixtures/paths.js';
import { onSandbox } from '../../fixtures/sandbox.js';
import { waitForIncident } from '../../fixtures/coordinator.js';

const run = promisify(execFile);

/** What a closed loop runs on the host: the scenario scripts, their shared lib and the remediations. */
const CLOSED_LOOP_SCRIPTS = ['.', 'lib', 'remediate'];

/**
 * A sandbox provisioned before the remediation scripts existed, or with older ones (a scenario
 * script or its lib included: the lease is theirs), is re-provisioned.
 */
export async function ensureRemediationScripts(): Promise<void> {
  const root = path.join(REPO_ROOT, 'chaos-scripts');
  const files: string[] = [];
  for (const dir of CLOSED_LOOP_SCRIPTS) {
    const entries = await readdir(path.join(root, dir), { withFileTypes: true });
    files.push(...entries.filter((e) => e.isFile() && (dir !== '.' || e.name.endsWith('.sh'))).map((e) => path.posix.join(dir, e.name)));
  }
  files.sort();
  const local = await Promise.all(files.map(async (f) => `${createHash('sha256').update(await readFile(path.join(root, f))).digest('hex')}  ${f}`));
  const installed = (await onSandbox(`cd /opt/chaos-scripts 2>/dev/null && sha256sum -- ${files.map((f) => `'${f}'`).join(' ')} 2>/dev/null`)).stdout.trim();
  if (installed !== local.join('\n')) await run('bash', [path.join(REPO_ROOT, 'scripts/sandbox/up.sh')], { cwd: REPO_ROOT, timeout: 600_000 });
}

export type RemediationBody = {
  remediation: {
    status: string;
    reason: string | null;
    approver: string | null;
    rejected_by: string | null;
    steps: { id: string; action: string; risk: string; state: string; args: string[]; output_tail: string; reason?: string; started_at: string | null; policy?: { verdict: string; reason: string } }[];
    verification: { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] } | null;
    chaos_cleanup: { ran: boolean; detail: string; at: string } | null;
    applied_at: string | null;
    finished_at: string | null;
  } | null;
  awaiting_decision: boolean;
};

export async function startIncident(url: string, scenario: string, options: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${url}/start_incident`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ scenario, target_vm: { name: 'sandbox' }, options: { baseline_s: 6, observe_s: 10, verify_s: 25, ...options } }),
  });
  if (res.status !== 202) throw new Error(`start_incident answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { incident_id: string }).incident_id;
}

export async function getRemediation(url: string, id: string): Promise<RemediationBody> {
  return (await (await fetch(`${url}/incidents/${id}/remediation`)).json()) as RemediationBody;
}

/** Polls until the plan is proposed and a decision is awaited (or the incident ended without one). */
export async function waitForProposal(url: string, id: string, timeoutMs = 90_000): Promise<RemediationBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await getRemediation(url, id);
    if (body.awaiting_decision) return body;
    const status = (await (await fetch(`${url}/status/${id}`)).json()) as { status: string; error?: string; outcome?: unknown };
    if (status.status !== 'running') throw new Error(`incident ${id} ended (${status.status}: ${status.error ?? ''}, diagnosis ${JSON.stringify(status.outcome)}) without awaiting a decision: ${JSON.stringify(body)}`);
    if (Date.now() > deadline) throw new Error(`no remediation proposed for ${id} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function decide(url: string, id: string, verb: 'approve' | 'reject', body: Record<string, unknown>): Promise<Response> {
  return fetch(`${url}/incidents/${id}/remediation/${verb}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

export function finished(url: string, id: string): Promise<Record<string, unknown>> {
  return waitForIncident(url, id, {}, 180_000);
}

/**
 * How the scenario's last run ended, as its script recorded it (/var/run/chaos-NAME.last):
 * "RUN reverted at T: stop requested" when the chaos script's stop ran, "watchdog: …" otherwise.
 */
export async function lastRun(scenario: string): Promise<string> {
  return (await onSandbox(`cat /var/run/chaos-${scenario}.last 2>/dev/null || true`)).stdout.trim();
}

/**
 * Runs a command as root inside the sandbox's namespaces (through its init, as
 * scripts/sandbox/lib.sh sbx_exec does): what the sre-demo login may not do, such as opening a
 * PostgreSQL superuser session.
 */
export async function asRootOnSandbox(args: string[], timeoutMs = 30_000): Promise<string> {
  const [file, ...rest] = await rootOnSandboxArgv(args);
  const { stdout } = await run(file!, rest, { timeout: timeoutMs });
  return stdout;
}

/** The argv that runs `args` as root inside the sandbox (for a process the test keeps running). */
export async function rootOnSandboxArgv(args: string[]): Promise<string[]> {
  const init = (await readFile('/var/lib/chaos-sandbox/init.pid', 'utf8')).trim();
  return ['nsenter', '-t', init, '-m', '-u', '-i', '-n', '-p', '--wd=/', '--', ...args];
}

/** One SQL statement as the postgres superuser on the sandbox's cluster (peer authentication). */
export function sandboxSql(sql: string): Promise<string> {
  return asRootOnSandbox(['runuser', '-u', 'postgres', '--', 'psql', '-X', '-q', '-At', '-p', '5432', '-d', 'postgres', '-c', sql]);
}

