import { median as ssMedian } from 'simple-statistics';
import { round } from '../metrics/anomalies.js';
import type { Evidence, MetricSample, Phase } from '../../evidence/schema.js';
import { streamName, type Listener } from '../../evidence/inventory.js';
import { referenceLabel, type LevelBand } from '../../evidence/reference.js';
import type { Culprit, EvidenceRef, LogFindings, LogSignature, MetricFindings, ProcessAttribution, SeriesFinding } from '../findings.js';

/** Series where a drop is as telling as a rise (traffic vanishing); everything else only hurts going up. */
const THROUGHPUT = /^net:.*\.(rx|tx)_kbps$/;
/**
 * Series that lag by construction (the 1-minute load average decays over minutes; swapped-out
 * pages stay in swap until touched), each with the series that say what is happening now. A
 * lagging series is evidence of a fault now only while one of those is up with it; the load
 * average not even while it rises (it counts every task of a shared kernel, blocked or not, and
 * rises for a minute after the burst that caused it), swap while it fills.
 */
const LAGGING: { key: RegExp; now: RegExp; risingAlone: boolean }[] = [
  { key: /^load1$/, now: /^cpu\.(busy|iowait)_pct$/, risingAlone: false },
  { key: /^mem\.swap_used_mb$/, now: /^mem\.used_pct$/, risingAlone: true },
];

/**
 * One piece of evidence for a category. `weight` is how telling this kind of evidence is on its
 * own; `strength` in [0,1] how strongly this incident shows it. `primary` signals are the ones a
 * category cannot do without: a CPU diagnosis without busy CPUs is not one.
 */
export type Signal = { weight: number; strength: number; primary: boolean; ref: EvidenceRef };

export type Category = 'cpu_saturation' | 'memory_pressure' | 'disk_full' | 'network_degradation' | 'service_down' | 'db_connection_exhaustion' | 'resource_limit';

export type Candidate = { category: Category; signals: Signal[]; culprit: Culprit | null };

/**
 * The name a person knows a process by: argv[0] as `ps` shows it (`exec -a shop-indexer perl`
 * shows shop-indexer; nginx and postgres retitle themselves "nginx: master process …"), else the
 * kernel's comm. A path keeps only its last part.
 */
export function processName(p: { comm: string; argv0?: string }): string {
  const argv0 = p.argv0?.trim();
  if (!argv0) return p.comm;
  const first = argv0.split(/\s+/)[0]!.replace(/:$/, '');
  const base = first.includes('/') ? first.slice(first.lastIndexOf('/') + 1) : first;
  return base || p.comm;
}

/**
 * Interpreters and runtimes: their name says which language runs, not which program. Two
 * `python3` processes running different scripts (a web app, a leaking batch job, a metrics
 * collector) are different programs and must never be added up into one culprit.
 */
const RUNTIME = /^(python[\d.]*|pypy[\d.]*|perl[\d.]*|ruby[\d.]*|node|nodejs|deno|bun|java|php[\d.]*|php-cgi|lua[\d.]*|luajit|Rscript|bash|sh|dash|zsh|ksh|pwsh|tclsh[\d.]*|erl|beam\.smp|dotnet|mono)$/;
/** Runtime options whose next word is a value, not the program (java -cp LIB Main, python -W ignore app.py). */
const OPTION_WITH_VALUE = new Set(['-cp', '-classpath', '--class-path', '-W', '-X', '--require', '-r', '-e', '-c']);
/** Runtime options whose next word is the program itself (python -m pkg, java -jar app.jar). */
const OPTION_PROGRAM = new Set(['-m', '-jar']);

/**
 * Which program a process runs: its name as `ps` shows it, and for an interpreter the script or
 * module it runs (`python3 victim_api.py`, `java app.jar`); without a command line, the name.
 */
export function programOf(p: { comm: string; argv0?: string; args?: string }): string {
  const name = processName(p);
  if (!RUNTIME.test(name) || !p.args) return name;
  const words = p.args.trim().split(/\s+/).slice(1);
  for (let i = 0; i < words.length; i += 1) {
    const w = words[i]!;
    if (OPTION_PROGRAM.has(w)) return words[i + 1] ? `${name} ${baseName(words[i + 1]!)}` : name;
    if (OPTION_WITH_VALUE.has(w)) {
      // `python3 -c CODE` and `perl -e CODE` run inline code: no file names the program.
      if (w === '-c' || w === '-e') return `${name} ${w}`;
      i += 1;
      continue;
    }
    if (w.startsWith('-')) continue;
    return `${name} ${baseName(w)}`;
  }
  return name;
}

function baseName(path: string): string {
  return path.includes('/') ? path.slice(path.lastIndexOf('/') + 1) || path : path;
}

/**
 * Processes of one program, added up: two workers of one runaway are one culprit, a web app and
 * a batch job that share an interpreter are two. `members` are its processes with their share
 * of the total, heaviest first.
 */
export type ProcessGroup = {
  name: string;
  program: string;
  comm: string;
  exe?: string;
  members: { pid: number; value: number }[];
  total: number;
  sample: ProcessAttribution;
};

export function groupByProgram(items: ProcessAttribution[], value: (p: ProcessAttribution) => number): ProcessGroup[] {
  const groups = new Map<string, ProcessGroup>();
  for (const item of items) {
    const v = value(item);
    if (v <= 0) continue;
    const program = programOf(item);
    const g = groups.get(program) ?? { name: processName(item), program, comm: item.comm, ...(item.exe ? { exe: item.exe } : {}), members: [], total: 0, sample: item };
    g.members.push({ pid: item.pid, value: v });
    g.total += v;
    groups.set(program, g);
  }
  for (const g of groups.values()) g.members.sort((a, b) => b.value - a.value);
  return [...groups.values()].sort((a, b) => b.total - a.total);
}

/**
 * The group's processes that the evidence blames: each carrying at least `floor` and a tenth of
 * the heaviest one's share (a worker idling next to a runaway is not a runaway). Heaviest first.
 */
export function offenders(g: ProcessGroup, floor: number): number[] {
  const top = g.members[0]?.value ?? 0;
  return g.members.filter((m, i) => i === 0 || m.value >= Math.max(floor, 0.1 * top)).map((m) => m.pid);
}

/** "shop-indexer (perl, /usr/bin/perl)", "python3 (app.py, /usr/bin/python3.11)": the name, and what it really runs. */
export function describeProcess(g: { name: string; comm: string; exe?: string; program?: string }): string {
  const script = g.program && g.program !== g.name ? g.program.slice(g.name.length + 1) : null;
  const extra = [script, g.comm !== g.name ? g.comm : null, g.exe ?? null].filter((x): x is string => !!x);
  return extra.length ? `${g.name} (${extra.join(', ')})` : g.name;
}

/** Lookups over the evidence, the earlier agents' findings and the host's known-good reference. */
export class Facts {
  constructor(
    readonly evidence: Evidence,
    readonly logs: LogFindings | undefined,
    readonly metrics: MetricFindings | undefined,
  ) {}

  get reference() {
    return this.evidence.reference;
  }

  /** The most recent window: where a fault, old or new, must show. */
  incidentSamples(): MetricSample[] {
    return this.samples('incident');
  }

  samples(phase: Phase): MetricSample[] {
    return this.evidence.samples.filter((s) => s.phase === phase);
  }

  series(key: string): SeriesFinding | undefined {
    return this.metrics?.series.find((s) => s.key === key);
  }

  seriesMatching(pattern: RegExp): SeriesFinding[] {
    return this.metrics?.series.filter((s) => pattern.test(s.key)) ?? [];
  }

  /** An upward anomaly: the series' incident peak window went up. */
  up(s: SeriesFinding | undefined): boolean {
    return !!s && s.windows.some((w) => w.direction === 'up');
  }

  /** Going down through the incident window and no higher than in the baseline: a fault receding. */
  receding(s: SeriesFinding): boolean {
    const inc = s.points.filter((p) => p.phase === 'incident');
    return inc.length >= 2 && inc.at(-1)!.v < inc[0]!.v && s.incident.median <= s.baseline.median;
  }

  /**
   * A lagging series (load average, swap in use) that is only the echo of something past, or of
   * nothing this host does: nothing that measures the present (CPU busy or iowait, memory used)
   * is up with it, the CPUs are not pinned, and it recedes (the load average: even when not).
   * Right after a fault ends the load average stays high for minutes while everything is fine.
   */
  echoOfThePast(s: SeriesFinding): boolean {
    const lag = LAGGING.find((l) => l.key.test(s.key));
    if (!lag || (lag.risingAlone && !this.receding(s))) return false;
    const incident = this.incidentSamples();
    const pinned = s.key === 'load1' && (median(incident.map((x) => x.cpu.busy_pct)) >= 90 || median(incident.map((x) => x.cpu.iowait_pct)) >= 20);
    return !pinned && !this.seriesMatching(lag.now).some((x) => this.up(x));
  }

  band(key: string): LevelBand | undefined {
    return this.reference?.levels[key];
  }

  /**
   * How far a series' incident median sits above the reference's normal, in units of `floor`
   * (the smallest change that matters for it); 0 when inside the band or without a reference.
   */
  aboveReference(s: SeriesFinding | undefined, floor: number): number {
    if (!s) return 0;
    const band = this.band(s.key);
    if (!band) return 0;
    return Math.max(0, (s.incident.median - Math.max(band.p95, band.median + floor)) / floor);
  }

  /** One process's resident memory in each sample of the incident window that listed it, in order. */
  rssTrail(pid: number): number[] {
    return this.incidentSamples().flatMap((s) => s.top.filter((p) => p.pid === pid).map((p) => p.rss_mb));
  }

  signature(name: LogSignature) {
    return this.logs?.signatures.find((s) => s.signature === name);
  }

  /**
   * A log signature as a signal. `absolute`: the phrase means a limit was hit whenever it is
   * printed (OOM kill, EMFILE), so a steady rate from before the run counts as much as a rise;
   * otherwise it counts only when it rose in the window or the healthy host never printed it.
   */
  signatureSignal(name: LogSignature, weight: number, primary: boolean, opts: { absolute?: boolean; minCount?: number } = {}): Signal[] {
    const hit = this.signature(name);
    if (!hit || hit.count < (opts.minCount ?? 1)) return [];
    const steadyButNew = this.reference !== null && !this.reference.log_templates.some((t) => hit.streams.includes(t.stream) && matchesTemplate(hit.example, t.template));
    if (!opts.absolute && !hit.rose && !steadyButNew) return [];
    const where = hit.streams.length ? ` in ${hit.streams.slice(0, 3).join(', ')}` : '';
    return [
      {
        weight,
        primary,
        strength: clamp(Math.log2(1 + hit.count) / 3),
        ref: { kind: 'signature', ref: `signature:${name}`, detail: `${hit.count} log lines${where} like: ${hit.example.slice(0, 200)}` },
      },
    ];
  }

  metricRef(s: SeriesFinding, detail: string): EvidenceRef {
    const w = s.windows[0];
    return { kind: 'metric', ref: `metric:${s.key}${w ? `@${w.start}` : ''}`, detail };
  }

  /** "reference of 2026-11-30T10:00Z (enroll, 3 h old)", for evidence lines. */
  referenceLabel(): string {
    return this.reference ? referenceLabel(this.reference, this.evidence.windows.incident.end) : 'no reference';
  }

  /** Listening sockets now: from this run's discovery, else the snapshot's summary lines. */
  listeningNow(): { proto: string; port: number; address: string }[] | null {
    if (this.evidence.inventory) return this.evidence.inventory.listeners;
    const lines = this.evidence.snapshot?.listeners;
    if (!lines?.length) return null;
    return lines.flatMap((l) => {
      const m = /^(tcp|udp) (\S+):(\d+) /.exec(l);
      return m ? [{ proto: m[1]!, address: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) }] : [];
    });
  }

  /**
   * TCP ports the host listened on when it was known good and does not listen on now, with who
   * had them then. Ephemeral ports are left out: a client's passing listener is not a service.
   */
  missingListeners(): Listener[] {
    const now = this.listeningNow();
    const ref = this.reference;
    if (!ref || !now) return [];
    const open = new Set(now.filter((l) => l.proto === 'tcp').map((l) => l.port));
    const seen = new Set<number>();
    return ref.inventory.listeners.filter((l) => {
      if (l.proto !== 'tcp' || l.port >= 32768 || open.has(l.port) || seen.has(l.port)) return false;
      seen.add(l.port);
      return true;
    });
  }

  /** The service (from discovery now or at the reference) that listens on, or owned, a port. */
  ownerOfPort(port: number): { service?: string; name?: string; pid?: number; exe?: string } | null {
    for (const inv of [this.evidence.inventory, this.reference?.inventory]) {
      const l = inv?.listeners.find((x) => x.port === port && x.proto === 'tcp');
      if (l) return { ...(l.service ? { service: l.service } : {}), ...(l.comm || l.argv0 ? { name: processName({ comm: l.comm ?? '', argv0: l.argv0 }) } : {}), ...(l.pid ? { pid: l.pid } : {}), ...(l.exe ? { exe: l.exe } : {}) };
    }
    return null;
  }

  /** A service by name, from discovery now or at the reference (its pids, ports and logs). */
  service(name: string) {
    return this.evidence.inventory?.services.find((s) => s.name === name) ?? this.reference?.inventory.services.find((s) => s.name === name);
  }

  /** The service whose log file a log stream was read from (streams of services are named after them). */
  serviceOfStream(stream: string) {
    const direct = this.service(stream);
    if (direct) return direct;
    const services = [...(this.evidence.inventory?.services ?? []), ...(this.reference?.inventory.services ?? [])];
    return services.find((s) => s.log_files.some((f) => streamName(s.name, f) === stream));
  }

  /**
   * For `unknown`: what moved most, so a human can take it from there. Only moves in the harmful
   * direction count: CPU, memory, disk, latency, errors and connections going *down* is a host
   * getting better (a previous fault receding), not a fault.
   */
  strongestEvidence(): EvidenceRef[] {
    const refs: EvidenceRef[] = [];
    const harmful = (s: SeriesFinding) => s.windows.filter((w) => w.direction === 'up' || THROUGHPUT.test(s.key));
    const anomalous = (this.metrics?.series ?? [])
      .filter((s) => harmful(s).length > 0 && !this.echoOfThePast(s))
      .sort((a, b) => Math.max(...harmful(b).map((w) => Math.abs(w.peak_z))) - Math.max(...harmful(a).map((w) => Math.abs(w.peak_z))));
    for (const s of anomalous.slice(0, 5)) {
      const w = harmful(s)[0]!;
      refs.push(this.metricRef(s, `${s.label}: baseline median ${s.baseline.median}${s.unit}, peak ${w.peak}${s.unit} (robust z ${w.peak_z})`));
    }
    // One stray error line on a real host is noise; three of a new kind are worth a look.
    for (const t of (this.logs?.templates ?? []).filter((t) => (t.severity === 'error' || t.severity === 'critical') && t.incident_count >= 3).slice(0, 5)) {
      const how = t.is_new ? 'new' : t.unknown_to_reference && (t.rate_ratio ?? 0) < 3 ? 'unknown to the reference' : `${t.rate_ratio}x`;
      refs.push({ kind: 'template', ref: `template:${t.template_id}`, detail: `${how} ${t.severity} template (${t.incident_count} lines): ${t.template.slice(0, 200)}` });
    }
    for (const p of (this.metrics?.probes ?? []).filter((p) => p.incident_ok_pct < 95 && (p.incident_ok_pct < p.baseline_ok_pct || p.failed === p.total))) {
      refs.push({ kind: 'probe', ref: `probe:${p.target}`, detail: `${p.target} probe ${p.incident_ok_pct}% ok (baseline ${p.baseline_ok_pct}%): ${p.errors[0]?.error ?? ''}` });
    }
    for (const l of this.missingListeners().slice(0, 3)) {
      refs.push({ kind: 'reference', ref: `reference:listener:${l.port}`, detail: `port ${l.port} (${l.argv0 ?? l.comm ?? 'unknown process'}) listened in ${this.referenceLabel()} and does not now` });
    }
    return refs;
  }
}

/** A line fits a mined template when its constant words all appear in order (variables masked as <*>). */
function matchesTemplate(line: string, template: string): boolean {
  const parts = template.split('<*>').map((p) => p.trim()).filter(Boolean);
  let at = 0;
  for (const part of parts) {
    const i = line.indexOf(part, at);
    if (i < 0) return false;
    at = i + part.length;
  }
  return parts.length > 0;
}

export function clamp(v: number): number {
  return Math.max(0, Math.min(1, v));
}

/** Median of the values, 0 for none (simple-statistics throws on an empty list). */
export function median(values: number[]): number {
  return values.length ? ssMedian(values) : 0;
}

export { round };
