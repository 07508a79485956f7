/**
 * Steady-state probes, checked once: an HTTP probe from the coordinator (a few requests, status
 * and a latency percentile), and SQL, command and metric probes on the host through the guarded
 * SSH exec (fixed programs, every value single-quoted, a deadline and an output cap). A probe
 * that cannot be run at all is out of tolerance, with the reason: a steady state nobody could
 * check did not hold.
 */
import { request } from 'undici';
import { errorMessage } from '../errors.js';
import { ALLOWED_HOST_SCRIPTS, HOST_SCRIPTS } from '../chaos/host-scripts.js';
import { buildCommand, shellQuote } from '../ssh/quote.js';
import type { CommandProbe, HostCommand, HttpProbe, MetricProbe, SqlProbe, SteadyStateProbe } from './schema.js';
import type { ProbeCheck, SteadyPhase } from './result-schema.js';
import { quantile } from './statistics.js';

/** What a probe needs of a host: one command, its exit status and output (the runner wires SSH). */
export type HostExec = (target: string, command: string, timeoutMs: number, signal?: AbortSignal) => Promise<{ exitCode: number | null; outcome: string; stdout: string; stderr: string }>;

export type ProbeDeps = {
  exec: HostExec;
  /** The experiment's only target, for probes that name none. */
  defaultTarget: string;
  /** Refuses an HTTP URL the coordinator may not send requests to (throws InputError). */
  checkUrl?: (url: string) => void;
};

export async function checkProbe(probe: SteadyStateProbe, phase: SteadyPhase, deps: ProbeDeps, signal?: AbortSignal): Promise<ProbeCheck> {
  const at = new Date().toISOString();
  const base = { probe: probe.name, kind: probe.type, phase, weight: probe.weight, at, tolerance: tolerance(probe) };
  try {
    const result = await measure(probe, deps, signal);
    return { ...base, ...result };
  } catch (error) {
    return { ...base, ok: false, value: null, detail: `could not be checked: ${errorMessage(error)}` };
  }
}

type Measured = { ok: boolean; value: number | string | null; detail: string };

function measure(probe: SteadyStateProbe, deps: ProbeDeps, signal?: AbortSignal): Promise<Measured> {
  switch (probe.type) {
    case 'http':
      return httpProbe(probe, deps, signal);
    case 'sql':
      return sqlProbe(probe, deps, signal);
    case 'command':
      return commandProbe(probe, deps, signal);
    case 'metric':
      return metricProbe(probe, deps, signal);
  }
}

/** The tolerance as a person reads it. */
export function tolerance(probe: SteadyStateProbe): string {
  switch (probe.type) {
    case 'http': {
      const statuses = Array.isArray(probe.expect_status) ? probe.expect_status.join('|') : String(probe.expect_status);
      return `status ${statuses}${probe.latency_ms ? `, p${probe.latency_ms.p} <= ${probe.latency_ms.max} ms` : ''}`;
    }
    case 'sql': {
      const e = probe.expect;
      return [
        e.equals !== undefined ? `= ${String(e.equals)}` : null,
        e.min !== undefined ? `>= ${e.min}` : null,
        e.max !== undefined ? `<= ${e.max}` : null,
        e.rows_min !== undefined ? `rows >= ${e.rows_min}` : null,
        e.rows_max !== undefined ? `rows <= ${e.rows_max}` : null,
      ]
        .filter(Boolean)
        .join(', ');
    }
    case 'command':
      return `exit ${probe.expect_exit}`;
    case 'metric':
      return [probe.min !== undefined ? `${probe.metric} >= ${probe.min}` : null, probe.max !== undefined ? `${probe.metric} <= ${probe.max}` : null].filter(Boolean).join(', ');
  }
}

async function httpProbe(probe: HttpProbe, deps: ProbeDeps, signal?: AbortSignal): Promise<Measured> {
  deps.checkUrl?.(probe.url);
  const expected = Array.isArray(probe.expect_status) ? probe.expect_status : [probe.expect_status];
  const latencies: number[] = [];
  const statuses: (number | string)[] = [];
  for (let i = 0; i < probe.requests; i++) {
    signal?.throwIfAborted();
    const started = performance.now();
    try {
      const res = await request(probe.url, {
        method: probe.method,
        headersTimeout: probe.timeout_ms,
        bodyTimeout: probe.timeout_ms,
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(probe.timeout_ms)]) : AbortSignal.timeout(probe.timeout_ms),
      });
      await res.body.dump();
      statuses.push(res.statusCode);
      latencies.push(performance.now() - started);
    } catch (error) {
      if (signal?.aborted) throw error;
      statuses.push(shortError(error));
    }
  }
  const bad = statuses.filter((s) => typeof s !== 'number' || !expected.includes(s));
  const shown = summarizeStatuses(statuses);
  if (bad.length) return { ok: false, value: typeof bad[0] === 'number' ? bad[0] : null, detail: `${bad.length} of ${statuses.length} requests not ${expected.join('|')}: ${shown}` };
  if (!probe.latency_ms) return { ok: true, value: statuses[0] as number, detail: `${statuses.length} requests: ${shown}` };
  const p = quantile(latencies, probe.latency_ms.p / 100) ?? 0;
  const ok = p <= probe.latency_ms.max;
  return { ok, value: Math.round(p * 10) / 10, detail: `p${probe.latency_ms.p} ${Math.round(p)} ms over ${latencies.length} requests (${shown})` };
}

async function sqlProbe(probe: SqlProbe, deps: ProbeDeps, signal?: AbortSignal): Promise<Measured> {
  // A read-only session: even a query that slipped past the schema cannot write.
  const command = `PGOPTIONS='-c default_transaction_read_only=on' psql -X -q -A -t -F ${shellQuote('\t')} -v ON_ERROR_STOP=1 -d ${shellQuote(probe.db)} -c ${shellQuote(probe.query)}`;
  const result = await deps.exec(probe.target ?? deps.defaultTarget, command, probe.timeout_ms, signal);
  if (result.outcome !== 'exited' || result.exitCode !== 0) {
    return { ok: false, value: null, detail: `psql ${result.outcome === 'exited' ? `exited ${result.exitCode}` : result.outcome}: ${tail(result.stderr)}` };
  }
  const rows = result.stdout.split('\n').filter((l) => l.length > 0);
  const first = rows[0]?.split('\t')[0] ?? null;
  const e = probe.expect;
  const problems: string[] = [];
  if (e.equals !== undefined && first !== normalize(e.equals)) problems.push(`first value ${JSON.stringify(first)} is not ${JSON.stringify(normalize(e.equals))}`);
  const n = first === null ? NaN : Number(first);
  if (e.min !== undefined && !(n >= e.min)) problems.push(`first value ${first ?? 'none'} below ${e.min}`);
  if (e.max !== undefined && !(n <= e.max)) problems.push(`first value ${first ?? 'none'} above ${e.max}`);
  if (e.rows_min !== undefined && rows.length < e.rows_min) problems.push(`${rows.length} rows, fewer than ${e.rows_min}`);
  if (e.rows_max !== undefined && rows.length > e.rows_max) problems.push(`${rows.length} rows, more than ${e.rows_max}`);
  const value = Number.isFinite(n) ? n : first;
  return { ok: problems.length === 0, value, detail: problems.length ? problems.join('; ') : `first value ${first ?? 'none'}, ${rows.length} rows` };
}

/** `true` is what psql prints as `t`; numbers and strings compare as text. */
function normalize(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return String(value);
}

/** The command line of a host command: a fixed program, every value quoted. */
export function hostCommandLine(command: HostCommand): string {
  switch (command.run) {
    case 'service_active':
      return `systemctl is-active --quiet ${shellQuote(command.service)}`;
    case 'service_status':
      return `${shellQuote(`/etc/chaos-handler/services/${command.service}.sh`)} status`;
    case 'pg_isready':
      return `pg_isready -d ${shellQuote(command.db)} -t 3`;
    case 'http_get':
      return `curl -fsS -o /dev/null -m 5 ${shellQuote(command.url)}`;
    case 'path_exists':
      return `test -e ${shellQuote(command.path)}`;
  }
}

async function commandProbe(probe: CommandProbe, deps: ProbeDeps, signal?: AbortSignal): Promise<Measured> {
  const result = await deps.exec(probe.target ?? deps.defaultTarget, hostCommandLine(probe.command), probe.timeout_ms, signal);
  if (result.outcome !== 'exited') return { ok: false, value: null, detail: `${probe.command.run}: ${result.outcome}` };
  const ok = result.exitCode === probe.expect_exit;
  return { ok, value: result.exitCode, detail: `${probe.command.run} exited ${result.exitCode}${ok ? '' : `: ${tail(result.stderr || result.stdout)}`}` };
}

/** How long the host's sampler runs for one look (it prints its first sample after one interval). */
const METRIC_SAMPLER_S = 2;

async function metricProbe(probe: MetricProbe, deps: ProbeDeps, signal?: AbortSignal): Promise<Measured> {
  // The sampler counts a PostgreSQL instance's connections only when given it as a db probe. It
  // runs under sudo where the login may (provision.sh allows it), as in the incident pipeline and
  // the watch: a full instance refuses SQL, and then only the process table (other users'
  // processes) can count its backends. Elsewhere it runs as the login, which measures the rest.
  const db = probe.db ? ['--probe', `db=${probe.db}`] : [];
  const args = ['--interval', '1', '--max-seconds', String(METRIC_SAMPLER_S), '--no-stdin-watch', ...db];
  const sampler = shellQuote(HOST_SCRIPTS.sampler);
  const sudo = buildCommand(HOST_SCRIPTS.sampler, args, { allowedScripts: ALLOWED_HOST_SCRIPTS, sudo: true });
  const command = `if sudo -n -l -- ${sampler} >/dev/null 2>&1; then ${sudo}; else python3 ${buildCommand(HOST_SCRIPTS.sampler, args, { allowedScripts: ALLOWED_HOST_SCRIPTS })}; fi`;
  const result = await deps.exec(probe.target ?? deps.defaultTarget, command, (METRIC_SAMPLER_S + 10) * 1000, signal);
  const samples = samplesOf(result.stdout);
  if (!samples.length) return { ok: false, value: null, detail: `the host's sampler printed no sample (${result.outcome} ${result.exitCode ?? ''}): ${tail(result.stderr)}` };
  // The first sample that has it: a db count can miss the first one (its connection still opening).
  const value = samples.map((s) => metricValue(s, probe)).find((v) => v !== null) ?? null;
  if (value === null) {
    // A full instance refuses the sampler's own connection too: say so rather than "not measured".
    const refused = probe.db ? dbProbeError(result.stdout) : null;
    return { ok: false, value: null, detail: refused ? `${probe.metric} not measured: the sampler could not connect to the instance: ${refused}` : `${probe.metric} is not measured on this host` };
  }
  const ok = (probe.min === undefined || value >= probe.min) && (probe.max === undefined || value <= probe.max);
  return { ok, value, detail: `${probe.metric}${probe.mount ? ` on ${probe.mount}` : ''} = ${value}` };
}

/** The last error of the sampler's db probe (`{"type":"probe","data":{"kind":"db","ok":false,"error":…}}`), if any. */
function dbProbeError(stdout: string): string | null {
  let error: string | null = null;
  for (const line of stdout.split('\n')) {
    try {
      const parsed = JSON.parse(line) as { type?: string; data?: { kind?: string; ok?: boolean; error?: unknown } };
      if (parsed.type === 'probe' && parsed.data?.kind === 'db' && parsed.data.ok === false && typeof parsed.data.error === 'string') error = parsed.data.error.slice(0, 200);
    } catch {
      // not a JSON line: skipped
    }
  }
  return error;
}

/** The `{"type":"sample"}` lines of the sampler's output, in order. */
function samplesOf(stdout: string): SamplerData[] {
  const samples: SamplerData[] = [];
  for (const line of stdout.split('\n')) {
    try {
      const parsed = JSON.parse(line) as { type?: string; data?: SamplerData };
      if (parsed.type === 'sample' && parsed.data) samples.push(parsed.data);
    } catch {
      // not a JSON line: skipped
    }
  }
  return samples;
}

type SamplerData = {
  cpu?: { busy_pct?: number; iowait_pct?: number };
  load1?: number;
  mem?: { used_pct?: number; available_mb?: number; swap_used_mb?: number };
  disks?: { mount: string; used_pct: number; inodes_used_pct?: number }[];
  db?: { connections: number; max_connections: number };
};

/** One metric of a sample; disks: the named mount, else the fullest filesystem. */
export function metricValue(sample: SamplerData, probe: Pick<MetricProbe, 'metric' | 'mount'>): number | null {
  const disk = () => {
    const disks = sample.disks ?? [];
    if (probe.mount) return disks.find((d) => d.mount === probe.mount) ?? null;
    return [...disks].sort((a, b) => b.used_pct - a.used_pct)[0] ?? null;
  };
  const v = (() => {
    switch (probe.metric) {
      case 'cpu.busy_pct':
        return sample.cpu?.busy_pct;
      case 'cpu.iowait_pct':
        return sample.cpu?.iowait_pct;
      case 'load1':
        return sample.load1;
      case 'mem.used_pct':
        return sample.mem?.used_pct;
      case 'mem.available_mb':
        return sample.mem?.available_mb;
      case 'mem.swap_used_mb':
        return sample.mem?.swap_used_mb;
      case 'disk.used_pct':
        return disk()?.used_pct;
      case 'disk.inodes_used_pct':
        return disk()?.inodes_used_pct;
      case 'db.connections':
        return sample.db?.connections;
      case 'db.connections_pct':
        return sample.db ? (sample.db.connections / sample.db.max_connections) * 100 : undefined;
    }
  })();
  return typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 100) / 100 : null;
}

function summarizeStatuses(statuses: (number | string)[]): string {
  const counts = new Map<string, number>();
  for (const s of statuses) counts.set(String(s), (counts.get(String(s)) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n}× ${s}`).join(', ');
}

function shortError(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || (error as Error).name === 'TimeoutError') return 'timeout';
  return code ?? errorMessage(error).slice(0, 60);
}

function tail(text: string): string {
  const t = text.trim();
  return t.length > 200 ? `…${t.slice(-200)}` : t || '(no output)';
}
