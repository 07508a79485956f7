// Test harness for chaos-scripts/: runs the real scripts with bash, each test in its own
// CHAOS_RUN_DIR, and looks at the real host (/proc, the filesystem) to judge what they did.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const SCRIPTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'chaos-scripts');
export const PG_BIN = '/usr/lib/postgresql/15/bin';

const IsoOrNull = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/).nullable();

/** The `status` line, exactly as the coordinator parses it (no extra keys). */
export const ChaosStatus = z
  .object({
    scenario: z.string(),
    state: z.union([z.literal('running'), z.literal('stopped')]),
    pid: z.number().int().positive().nullable(),
    started_at: IsoOrNull,
    deadline: IsoOrNull,
    lease_expires_at: IsoOrNull,
    detail: z.string(),
  })
  .strict();
export type ChaosStatus = z.infer<typeof ChaosStatus>;

export const CleanupSummary = z
  .object({
    action: z.literal('cleanup_all'),
    ok: z.boolean(),
    stopped: z.array(z.string()),
    failed: z.array(z.string()),
    orphans_killed: z.number().int().nonnegative(),
    qdiscs_removed: z.array(z.string()),
  })
  .strict();

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Runs a command without a shell; resolves once it exited AND every holder of its stdio let go. */
export function runCommand(file: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

/** Fails (never skips) when a binary the test needs is missing, naming what to install. */
export function requireBinary(name: string, aptPackage: string, extraDirs: string[] = []): string {
  const dirs = [...extraDirs, ...(process.env.PATH ?? '').split(':').filter(Boolean)];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(`${name} is not installed; this test needs it: apt-get install ${aptPackage}`);
}

export function requireRoot(why: string): void {
  if (process.getuid?.() !== 0) throw new Error(`this test must run as root: ${why}`);
}

export function parseStatus(stdout: string): ChaosStatus {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  if (lines.length !== 1) throw new Error(`expected exactly one status line, got ${lines.length}: ${stdout}`);
  return ChaosStatus.parse(JSON.parse(lines[0]!));
}

export interface HostProcess {
  pid: number;
  comm: string;
  sid: number;
}

interface ProcEntry extends HostProcess {
  state: string;
  environ: string[];
}

function readProc(pid: string): ProcEntry | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    let environ: string[] = [];
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    } catch {
      // a process of another user, or one on its way out
    }
    return { pid: Number(pid), comm, state: fields[0]!, sid: Number(fields[3]), environ };
  } catch {
    return undefined;
  }
}

/** Every live (non-zombie) process on the host. */
function liveProcesses(): ProcEntry[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(readProc)
    .filter((p): p is ProcEntry => p !== undefined && p.state !== 'Z' && p.state !== 'X');
}

function procState(pid: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  const state = procState(String(pid));
  return state !== undefined && state !== 'Z' && state !== 'X';
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return kb ? Number(kb[1]) / 1024 : 0;
}

export function environOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `done(value)` or the deadline; returns the last value seen (the caller asserts). */
export async function waitFor<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await sleep(intervalMs);
    value = await probe();
  }
  return value;
}

/** One isolated run directory on this host: the scripts' state, pid files and logs live there. */
export class ChaosRunDir {
  readonly dir: string;
  private readonly env: NodeJS.ProcessEnv;
  /** Sessions our scripts created (their leaders' pids); members stay ours after the leader died. */
  private readonly sessions = new Set<number>();

  constructor(extraEnv: NodeJS.ProcessEnv = {}) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'chaos-scripts-test-'));
    this.env = { ...process.env, CHAOS_RUN_DIR: this.dir, ...extraEnv };
  }

  async run(script: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}, prefix: string[] = []): Promise<RunResult> {
    const scriptPath = path.join(SCRIPTS_DIR, `${script}.sh`);
    const [file, ...rest] = [...prefix, 'bash', scriptPath, ...args];
    const result = await runCommand(file!, rest, { ...this.env, ...extraEnv });
    const pid = /"pid":(\d+)/.exec(result.stdout);
    if (pid) this.sessions.add(Number(pid[1]));
    this.processes(); // remember the sessions while their leaders are alive
    return result;
  }

  async status(script: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<ChaosStatus> {
    const result = await this.run(script, ['status'], extraEnv);
    if (result.code !== 0) throw new Error(`${script} status exited ${result.code}: ${result.stderr}`);
    return parseStatus(result.stdout);
  }

  /**
   * Every live process the scripts started for this run directory: the ones carrying its
   * CHAOS_OWNER tag (watchdogs included) and every member of their sessions, because stress-ng
   * overwrites its workers' environment (and so the tag) with their new process titles.
   */
  processes(): HostProcess[] {
    const all = liveProcesses();
    const tag = `CHAOS_OWNER=${this.dir}`;
    for (const p of all) if (p.environ.includes(tag) && p.sid === p.pid) this.sessions.add(p.pid);
    return all.filter((p) => p.environ.includes(tag) || this.sessions.has(p.sid)).map(({ pid, comm, sid }) => ({ pid, comm, sid }));
  }

  /** The per-run files that must exist exactly while a fault is active. */
  runFiles(scenario: string): string[] {
    return ['pid', 'state', 'lease'].map((ext) => path.join(this.dir, `chaos-${scenario}.${ext}`)).filter((f) => existsSync(f));
  }

  /** One key of the scenario's state file (key=value lines), e.g. watchdog_pid. */
  stateValue(scenario: string, key: string): string | undefined {
    const file = path.join(this.dir, `chaos-${scenario}.state`);
    if (!existsSync(file)) return undefined;
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${key}=`));
    return line?.slice(key.length + 1);
  }

  log(scenario: string): string {
    try {
      return readFileSync(path.join(this.dir, `chaos-${scenario}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** Reverts through cleanup_all, then SIGKILLs anything of ours still alive, then removes the dir. */
  async dispose(extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    await this.run('cleanup_all', [], extraEnv);
    for (const { pid } of this.processes()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
