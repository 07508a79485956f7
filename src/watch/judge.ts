/**
 * Is the host inside its band right now? A pure judgement of one light sample against the
 * absolute limits that hold on any host (the same ones as src/agents/fixer/health.ts) and the
 * target's known-good reference, or, without one, what the watch saw in its first samples.
 * Deliberately quick and coarse: it only decides when to open an investigation; the
 * investigation decides what is wrong.
 */
import type { KnownGoodReference, LevelBand } from '../evidence/reference.js';
import type { MetricSample, ProbeResult } from '../evidence/schema.js';

export type WatchSample = Omit<MetricSample, 'phase'>;
export type WatchProbe = Omit<ProbeResult, 'phase'>;

/**
 * One reason the host is out of its band, e.g. `{ key: 'cpu', detail: 'CPU 98% busy (limit 95%)' }`;
 * `pid`: the process, for a process's breach.
 */
export type Breach = { key: string; detail: string; pid?: number };

/** Limits that are a fault on any host (health.ts); per sample, so a little tighter than its medians. */
export const LIMITS = { cpuPct: 95, memPct: 90, diskPct: 90, dbPct: 85, limitsPct: 85 } as const;

/** CPUs pinned count when this host's own processes use at least this share of each core (a quarter: neighbours on shared CPUs leave them less than their fair half). */
export const OWN_CPU_PCT_PER_CORE = 25;
/** How far above the reference band counts as out of it: max + this many points, for percentages. */
const MARGIN = { disk: 10, db: 30, mem: 15 } as const;
/** A process whose RSS grew this much since the watch first saw it is leaking, whatever the host's size. */
export const RSS_GROWTH_MB = 256;
/** A probe this much slower than its normal median (and by at least LATENCY_FLOOR_MS) is out of band. */
const LATENCY_FACTOR = 5;
const LATENCY_FLOOR_MS = 300;

/**
 * What the watch has learnt since it started: the first level of each metric (the band when no
 * reference exists), each process's smallest RSS, and each probe's normal latency.
 */
export type WatchMemory = {
  /** Key → level seen in the watch's first samples. */
  start: Map<string, number>;
  /** `pid:comm` → smallest RSS seen (MB). */
  rss: Map<string, { comm: string; pid: number; min_mb: number }>;
  /** Probe target → latencies seen while in band (for a normal when the reference has none). */
  probeLatency: Map<string, number[]>;
};

export function newWatchMemory(): WatchMemory {
  return { start: new Map(), rss: new Map(), probeLatency: new Map() };
}

/**
 * The breaches of one sample and the probes that came with it; updates `memory` (the first
 * levels, the processes' smallest RSS). Empty: the host is inside its band.
 */
export function judgeSample(sample: WatchSample, probes: readonly WatchProbe[], reference: KnownGoodReference | null, memory: WatchMemory): Breach[] {
  const out: Breach[] = [];
  const level = (key: string, value: number): LevelBand | { max: number; median: number } => {
    const band = reference?.levels[key];
    if (band) return band;
    if (!memory.start.has(key)) memory.start.set(key, value);
    const first = memory.start.get(key)!;
    return { max: first, median: first };
  };

  // Pinned, and by this host's own processes: a neighbour's load on shared CPUs is not this host's fault.
  const ownCpu = sample.top.reduce((n, p) => n + p.cpu_pct, 0);
  if (sample.cpu.busy_pct >= LIMITS.cpuPct && ownCpu >= OWN_CPU_PCT_PER_CORE * sample.cpu.cores) {
    out.push({ key: 'cpu', detail: `CPU ${round(sample.cpu.busy_pct)}% busy (limit ${LIMITS.cpuPct}%), ${Math.round(ownCpu)}% of a core by this host's processes` });
  }

  const mem = sample.mem.used_pct;
  const memBand = level('mem.used_pct', mem);
  if (mem >= LIMITS.memPct) out.push({ key: 'memory', detail: `memory ${round(mem)}% used (limit ${LIMITS.memPct}%)` });
  else if (mem > memBand.max + MARGIN.mem) out.push({ key: 'memory', detail: `memory ${round(mem)}% used, normal at most ${round(memBand.max)}%` });
  // A cumulative counter: kills since the watch began are news; those since an old reference
  // would keep a host that recovered long ago out of band for good.
  if (sample.mem.oom_kills !== undefined) {
    if (!memory.start.has('mem.oom_kills')) memory.start.set('mem.oom_kills', sample.mem.oom_kills);
    const before = memory.start.get('mem.oom_kills')!;
    if (sample.mem.oom_kills > before) out.push({ key: 'oom', detail: `${sample.mem.oom_kills - before} OOM kill(s) since the watch began` });
  }
  for (const p of sample.top) {
    const id = `${p.pid}:${p.comm}`;
    const seen = memory.rss.get(id);
    if (!seen) {
      memory.rss.set(id, { comm: p.comm, pid: p.pid, min_mb: p.rss_mb });
      continue;
    }
    seen.min_mb = Math.min(seen.min_mb, p.rss_mb);
    const grown = p.rss_mb - seen.min_mb;
    if (grown >= RSS_GROWTH_MB) out.push({ key: `rss:${p.comm}`, detail: `${p.argv0 ?? p.comm} (pid ${p.pid}) grew by ${Math.round(grown)} MB to ${Math.round(p.rss_mb)} MB`, pid: p.pid });
  }

  for (const d of sample.disks) {
    const used = Math.max(d.used_pct, d.inodes_used_pct ?? 0);
    const band = level(`disk:${d.mount}.used_pct`, d.used_pct);
    if (used >= LIMITS.diskPct) out.push({ key: `disk:${d.mount}`, detail: `${d.mount} ${round(used)}% full (limit ${LIMITS.diskPct}%)` });
    else if (d.used_pct > band.max + MARGIN.disk) out.push({ key: `disk:${d.mount}`, detail: `${d.mount} ${round(d.used_pct)}% full, normal at most ${round(band.max)}%` });
  }

  if (sample.db) {
    const pct = (100 * sample.db.connections) / sample.db.max_connections;
    const band = level('db.connections_pct', pct);
    if (pct >= LIMITS.dbPct) out.push({ key: 'db', detail: `DB connections at ${round(pct)}% of max_connections (limit ${LIMITS.dbPct}%)` });
    else if (pct > band.max + MARGIN.db) out.push({ key: 'db', detail: `DB connections at ${round(pct)}%, normal at most ${round(band.max)}%` });
  }
  if (sample.limits) {
    const pct = 100 * Math.max(sample.limits.files_open / sample.limits.files_max, sample.limits.tasks / sample.limits.tasks_max);
    if (pct >= LIMITS.limitsPct) out.push({ key: 'limits', detail: `system limits at ${round(pct)}% (open files or tasks; limit ${LIMITS.limitsPct}%)` });
  }

  for (const p of probes) {
    if (!p.ok) {
      out.push({ key: `probe:${p.target}`, detail: `${p.target} failed${p.error ? `: ${p.error.slice(0, 160)}` : ''}` });
      continue;
    }
    if (p.latency_ms === null) continue;
    const normal = normalLatency(p.target, reference, memory);
    if (normal !== null && p.latency_ms > Math.max(normal * LATENCY_FACTOR, normal + LATENCY_FLOOR_MS)) {
      out.push({ key: `probe:${p.target}`, detail: `${p.target} answered in ${Math.round(p.latency_ms)} ms, normally ${Math.round(normal)} ms` });
    }
  }
  return out;
}

/**
 * How many of the last samples in band were already the breach building up. Walking back from
 * the first sample out of band, a sample belongs to the build-up while one of the breached
 * measures rose into it by more than its noise (a process appearing and growing, memory or a
 * filesystem filling, DB connections piling up): inside the band's coarse limits, yet the fault's
 * beginning rather than the host's normal. 0 for breaches that arrive at once or measure no level
 * (a probe failing, CPUs pinned, an OOM kill, a file written in one go). `inBand`: oldest first.
 */
export function buildUp(inBand: readonly WatchSample[], breaches: readonly Breach[]): number {
  const measures = breaches.flatMap((b) => measureOf(b) ?? []);
  if (!measures.length) return 0;
  const rose = (from: WatchSample, to: WatchSample) =>
    measures.some(({ of, noise }) => {
      const now = of(to);
      if (now === undefined) return false;
      const then = of(from);
      return then === undefined || now - then > noise;
    });
  let n = 0;
  // The oldest sample has nothing before it to have risen from: it stays the baseline.
  for (let i = inBand.length - 1; i >= 1 && rose(inBand[i - 1]!, inBand[i]!); i -= 1) n += 1;
  return n;
}

type Measure = { of: (s: WatchSample) => number | undefined; noise: number };

/** The level a breach is about, sample by sample, and how much it wanders by itself between two samples. */
function measureOf(b: Breach): Measure | null {
  if (b.key === 'memory') return { of: (s) => s.mem.used_pct, noise: 0.5 };
  if (b.key.startsWith('rss:') && b.pid !== undefined) {
    const comm = b.key.slice('rss:'.length);
    // Absent from the list: not running yet, or too small and idle to make the sampler's cut.
    return { of: (s) => s.top.find((p) => p.pid === b.pid && p.comm === comm)?.rss_mb, noise: 1 };
  }
  if (b.key.startsWith('disk:')) {
    const mount = b.key.slice('disk:'.length);
    return {
      of: (s) => {
        const d = s.disks.find((x) => x.mount === mount);
        return d && Math.max(d.used_pct, d.inodes_used_pct ?? 0);
      },
      noise: 0.2,
    };
  }
  if (b.key === 'db') return { of: (s) => (s.db ? (100 * s.db.connections) / s.db.max_connections : undefined), noise: 2 };
  return null;
}

/** Remembers the latencies of probes that answered while the host was in band (no reference: the watch's normal). */
export function learnProbes(probes: readonly WatchProbe[], memory: WatchMemory): void {
  for (const p of probes) {
    if (!p.ok || p.latency_ms === null) continue;
    const seen = memory.probeLatency.get(p.target) ?? [];
    if (seen.length < 20) seen.push(p.latency_ms);
    memory.probeLatency.set(p.target, seen);
  }
}

function normalLatency(target: string, reference: KnownGoodReference | null, memory: WatchMemory): number | null {
  const fromReference = reference?.probes.find((p) => p.target === target)?.latency_ms_median;
  if (fromReference !== undefined && fromReference !== null) return fromReference;
  const seen = memory.probeLatency.get(target);
  if (!seen || seen.length < 3) return null;
  return [...seen].sort((a, b) => a - b)[Math.floor(seen.length / 2)]!;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
