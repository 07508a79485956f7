/**
 * Throughput and peak memory of the template miner on a large synthetic log.
 *
 * Writes a synthetic log of `sizeMb` MiB to a temp dir (streamed to disk, never held in memory):
 * a realistic mix of syslog, sshd, kernel, systemd, PostgreSQL, nginx and application lines,
 * with many variable values (addresses, ports, users, pids, ids, durations, sizes, paths), plus a
 * trickle of unique one-off lines that keep creating clusters so that the cluster cap and
 * eviction are exercised. Then runs the miner in a child process (bench/miner-runner.js, the
 * `templates` CLI path with stdout to /dev/null) and reports lines/s and the child's peak RSS,
 * and the time one hostile line takes to mask. Goals: ≥ 250,000 lines/s (5× Drain3), peak RSS
 * ≤ 256 MiB. The temp dir is removed afterwards, whatever happens.
 *
 * Run: `npx tsc -p tsconfig.build.json && node dist/bench/miner-throughput.js [sizeMb]`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { TemplateMiner } from '../src/agents/log/mining/template-miner.js';
import { mulberry32 } from '../src/selftest/prng.js';

export interface MinerThroughputResult {
  /** Milliseconds to mask one hostile 120,000-character line (linear time, not backtracking). */
  hostileLineMs: number;
  sizeMb: number;
  lines: number;
  templates: number;
  seconds: number;
  linesPerSecond: number;
  mbPerSecond: number;
  peakRssMb: number;
}

export const PEAK_RSS_GOAL_MB = 256;
/** Throughput goal: five times Drain3 (Python, default config) on this kind of stream. */
export const LINES_PER_SECOND_GOAL = 250_000;

/** Time to mine one line built to make backtracking regexes blow up (the masks must stay linear). */
export function hostileLineMs(): number {
  const hostile = `${'a-'.repeat(20_000)}x ${'1_'.repeat(20_000)} ${'9.'.repeat(20_000)} ${'a1:'.repeat(10_000)}`;
  const miner = new TemplateMiner({ maxMessageLength: 200_000, maxTokens: 200_000 });
  const started = performance.now();
  miner.add(hostile);
  return performance.now() - started;
}


const USERS = ['root', 'admin', 'alice', 'bob', 'deploy', 'postgres', 'ubuntu', 'git', 'test', 'oracle', 'guest', 'www-data'];
const SERVICES = ['nginx', 'postgresql', 'redis-server', 'docker', 'cron', 'ssh', 'victim-api', 'node-exporter'];
const PATHS = ['/api/v1/users', '/api/v1/orders', '/healthz', '/metrics', '/api/v2/search', '/static/app.js', '/login'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const STATUS = [200, 200, 200, 201, 204, 301, 400, 404, 500, 502, 503];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'WARN', 'ERROR', 'DEBUG'];
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];

/** A line generator; `n` is the line number (drives the clock). */
export function syntheticLineGenerator(seed = 42): (n: number) => string {
  const rand = mulberry32(seed);
  const int = (max: number): number => Math.floor(rand() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const ip = (): string => `${int(223) + 1}.${int(256)}.${int(256)}.${int(256)}`;
  const hex = (len: number): string => {
    let s = '';
    for (let i = 0; i < len; i++) s += '0123456789abcdef'[int(16)];
    return s;
  };
  const uuid = (): string => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const pad = (v: number): string => String(v).padStart(2, '0');

  return (n: number): string => {
    const second = Math.floor(n / 2000);
    const hh = pad(Math.floor(second / 3600) % 24);
    const mm = pad(Math.floor(second / 60) % 60);
    const ss = pad(second % 60);
    const day = 1 + (Math.floor(second / 86400) % 28);
    const syslog = `${pick(MONTHS)} ${String(day).padStart(2)} ${hh}:${mm}:${ss} web-${int(4) + 1}`;
    const iso = `2024-05-${pad(day)}T${hh}:${mm}:${ss}.${String(int(1000)).padStart(3, '0')}Z`;
    const pid = int(65536);
    const r = rand();
    if (r < 0.18) {
      return `${syslog} sshd[${pid}]: Failed password for ${rand() < 0.5 ? 'invalid user ' : ''}${pick(USERS)} from ${ip()} port ${int(65536)} ssh2`;
    }
    if (r < 0.24) {
      return `${syslog} sshd[${pid}]: Accepted publickey for ${pick(USERS)} from ${ip()} port ${int(65536)} ssh2: RSA SHA256:${hex(43)}`;
    }
    if (r < 0.3) {
      return `${syslog} sshd[${pid}]: pam_unix(sshd:session): session ${rand() < 0.5 ? 'opened' : 'closed'} for user ${pick(USERS)} by (uid=${int(1000)})`;
    }
    if (r < 0.34) {
      return `${syslog} kernel: [${int(100000)}.${String(int(1000000)).padStart(6, '0')}] Out of memory: Killed process ${pid} (${pick(SERVICES)}) total-vm:${int(9999999)}kB, anon-rss:${int(999999)}kB, file-rss:0kB, shmem-rss:0kB, UID:${int(1000)} pgtables:${int(9999)}kB oom_score_adj:0`;
    }
    if (r < 0.4) {
      return `${syslog} systemd[1]: ${rand() < 0.5 ? 'Started' : 'Stopped'} ${pick(SERVICES)}.service - ${pick(WORDS)} daemon.`;
    }
    if (r < 0.46) {
      return `${syslog} CRON[${pid}]: (${pick(USERS)}) CMD (/usr/local/bin/backup.sh --target /var/backups/${hex(8)} --keep ${int(30)})`;
    }
    if (r < 0.62) {
      return `${ip()} - - [${pad(day)}/May/2024:${hh}:${mm}:${ss} +0000] "${pick(METHODS)} ${pick(PATHS)}/${int(100000)}?page=${int(50)} HTTP/1.1" ${pick(STATUS)} ${int(65536)} "-" "Mozilla/5.0 (X11; Linux x86_64) curl/${int(8)}.${int(20)}.${int(9)}"`;
    }
    if (r < 0.72) {
      return `${iso} ${pick(LEVELS)} [worker-${int(16)}] http.server: ${pick(METHODS)} ${pick(PATHS)}/${int(100000)} status=${pick(STATUS)} took ${int(2000)}ms bytes=${int(100000)} request_id=${uuid()}`;
    }
    if (r < 0.8) {
      return `2024-05-${pad(day)} ${hh}:${mm}:${ss}.${String(int(1000)).padStart(3, '0')} UTC [${pid}] LOG:  duration: ${int(5000)}.${int(1000)} ms  statement: SELECT * FROM orders WHERE customer_id = ${int(1000000)} AND created_at > now() - interval '${int(30)} days'`;
    }
    if (r < 0.86) {
      return `${iso} ERROR [pool-${int(8)}-thread-${int(64)}] com.example.OrderService: Failed to process order ${uuid()} for customer ${int(1000000)}: connection to ${ip()}:${5432} timed out after ${int(30)}.${int(10)}s (attempt ${int(5)}/5)`;
    }
    if (r < 0.92) {
      return `${iso} WARN [gc] jvm: GC pause (G1 Evacuation Pause) ${int(500)}.${int(1000)}ms, heap ${int(4096)}M->${int(4096)}M(${int(8192)}M), cache hit ratio ${rand().toFixed(4)} for region ${hex(16)}`;
    }
    if (r < 0.97) {
      return `${syslog} dockerd[${pid}]: time="${iso}" level=info msg="Container ${hex(64)} health status changed to ${rand() < 0.8 ? 'healthy' : 'unhealthy'}" container=${hex(12)} image=registry.local:5000/${pick(SERVICES)}:${int(9)}.${int(9)}.${int(9)}`;
    }
    // One-off lines: made-up words that keep minting new templates (exercises the cluster caps).
    const word = (v: number): string => {
      let w = '';
      for (let x = v + 26 * 26; x > 0; x = Math.floor(x / 26)) w += String.fromCharCode(97 + (x % 26));
      return w;
    };
    return `${iso} INFO [job-${int(100)}] batch: ${word(n)} ${word(n * 7 + 3)} ${word(n * 13 + 5)} step finished with code ${int(3)}`;
  };
}

/** Streams a synthetic log of about `bytes` bytes to `file`; resolves to its line count. */
export async function writeSyntheticLog(file: string, bytes: number, seed = 42): Promise<number> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const next = syntheticLineGenerator(seed);
  let written = 0;
  let lines = 0;
  try {
    while (written < bytes) {
      let batch = '';
      while (batch.length < 1 << 20 && written + batch.length < bytes) {
        batch += `${next(lines)}\n`;
        lines++;
      }
      written += Buffer.byteLength(batch);
      if (!out.write(batch)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return lines;
}

/** Runs the miner runner on `file` in a child process; resolves to its parsed report. */
async function runChild(file: string): Promise<{ seconds: number; summary: string; peakRssKib: number; lines: number; templates: number }> {
  const runner = fileURLToPath(new URL('./miner-runner.js', import.meta.url));
  const started = performance.now();
  const child = spawn(process.execPath, [runner, file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-16_384);
  });
  const [code] = (await once(child, 'close')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`miner runner exited with ${String(code)}: ${stderr}`);
  const reportLine = stderr.trim().split('\n').at(-1) ?? '';
  const report = JSON.parse(reportLine) as { vmHwmKib?: number; maxRssKib: number };
  const summary = /templates: (\d+) lines, (\d+) templates/.exec(stderr);
  return {
    seconds,
    summary: stderr.trim().split('\n').at(-2) ?? '',
    peakRssKib: Math.max(report.vmHwmKib ?? 0, report.maxRssKib),
    lines: Number(summary?.[1] ?? 0),
    templates: Number(summary?.[2] ?? 0),
  };
}

export async function runMinerThroughputBench(
  log: (line: string) => void,
  options: { sizeMb?: number } = {},
): Promise<MinerThroughputResult> {
  const sizeMb = options.sizeMb ?? 1024;
  const dir = await mkdtemp(path.join(tmpdir(), 'chaos-handler-miner-'));
  try {
    const file = path.join(dir, 'synthetic.log');
    const genStart = performance.now();
    const written = await writeSyntheticLog(file, sizeMb * 2 ** 20);
    const size = (await stat(file)).size;
    log(
      `miner throughput: generated ${written} lines, ${(size / 2 ** 20).toFixed(0)} MiB in ` +
        `${((performance.now() - genStart) / 1000).toFixed(1)} s`,
    );
    const run = await runChild(file);
    const result: MinerThroughputResult = {
      hostileLineMs: hostileLineMs(),
      sizeMb,
      lines: run.lines,
      templates: run.templates,
      seconds: run.seconds,
      linesPerSecond: Math.round(run.lines / run.seconds),
      mbPerSecond: size / 2 ** 20 / run.seconds,
      peakRssMb: run.peakRssKib / 1024,
    };
    log(`miner throughput: ${run.summary}`);
    log(
      `miner throughput: ${result.lines} lines in ${result.seconds.toFixed(1)} s (child process) = ` +
        `${result.linesPerSecond} lines/s, ${result.mbPerSecond.toFixed(1)} MiB/s; ` +
        `peak RSS ${result.peakRssMb.toFixed(0)} MiB (goals ≥ ${LINES_PER_SECOND_GOAL} lines/s, ≤ ${PEAK_RSS_GOAL_MB} MiB)`,
    );
    log(`miner throughput: one hostile 120,000-character line masked in ${result.hostileLineMs.toFixed(0)} ms`);
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const sizeMb = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  runMinerThroughputBench((line) => console.log(line), sizeMb === undefined ? {} : { sizeMb }).then(
    (result) => {
      process.exitCode = result.peakRssMb <= PEAK_RSS_GOAL_MB && result.linesPerSecond >= LINES_PER_SECOND_GOAL ? 0 : 1;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 2;
    },
  );
}
