import type { Evidence } from '../../evidence/schema.js';
import type { RootCauseCategory } from '../../domain/index.js';
import type { Culprit, Diagnosis, EvidenceRef, Hypothesis, LogFindings, LogSignature, MetricFindings, SeriesFinding } from '../findings.js';
import { planActions } from './actions.js';

/** Series where a drop is as telling as a rise (traffic vanishing); everything else only hurts going up. */
const THROUGHPUT = /^net:.*\.(rx|tx)_kbps$/;

/** Below this, the best hypothesis is not trusted: the answer is `unknown` (or `healthy`). */
export const CONFIDENCE_THRESHOLD = 0.5;

/**
 * One piece of evidence for a category. `weight` is how telling this kind of evidence is on its
 * own; `strength` in [0,1] how strongly this incident shows it. `primary` signals are the ones a
 * category cannot do without: a CPU diagnosis without busy CPUs is not one.
 */
type Signal = { weight: number; strength: number; primary: boolean; ref: EvidenceRef };

type Candidate = { category: Exclude<RootCauseCategory, 'healthy' | 'unknown'>; signals: Signal[]; culprit: Culprit | null };

/**
 * FixerAgent's reasoning, as a pure function of the evidence and the earlier agents' findings.
 * It never sees the scenario's name: the only way to a category is through the signals below.
 */
export function diagnose(evidence: Evidence, logs: LogFindings | undefined, metrics: MetricFindings | undefined): Diagnosis {
  const facts = new Facts(evidence, logs, metrics);
  const candidates = [cpu(facts), memory(facts), disk(facts), network(facts), service(facts), database(facts)];
  const hypotheses: Hypothesis[] = candidates
    .map((c) => ({ category: c.category, confidence: confidenceOf(c.signals), culprit: c.culprit, evidence: c.signals.map((s) => s.ref) }))
    .filter((h) => h.confidence > 0)
    .sort((a, b) => b.confidence - a.confidence);

  const strongest = facts.strongestEvidence();
  const best = hypotheses[0];
  if (best && best.confidence >= CONFIDENCE_THRESHOLD) {
    return {
      root_cause: { category: best.category, summary: summarize(best), culprit: best.culprit, confidence: best.confidence, evidence: best.evidence },
      hypotheses,
      strongest_evidence: strongest,
      actions: planActions(best.category, best.culprit, evidence),
    };
  }
  if (strongest.length === 0) {
    // Nothing moved: every series inside its band, probes fine, no new errors.
    const coverage = Math.min(1, (metrics?.series.length ?? 0) / 6) * 0.6 + (evidence.probes.length ? 0.3 : 0) + (logs ? 0.1 : 0);
    const confidence = round(Math.max(0.5, coverage * (1 - (best?.confidence ?? 0))));
    return {
      root_cause: {
        category: 'healthy',
        summary: 'No anomaly: every metric stayed inside its baseline band, health probes passed and no new error templates appeared.',
        culprit: null,
        confidence,
        evidence: [{ kind: 'metric', ref: 'metrics:all', detail: `${metrics?.series.length ?? 0} series inside their baseline bands` }],
      },
      hypotheses,
      strongest_evidence: [],
      actions: planActions('healthy', null, evidence),
    };
  }
  return {
    root_cause: {
      category: 'unknown',
      summary: `The evidence fits no known fault well enough (best: ${best ? `${best.category} at ${best.confidence}` : 'none'}); see the strongest evidence.`,
      culprit: null,
      confidence: round(1 - (best?.confidence ?? 0)) * 0.5,
      evidence: strongest,
    },
    hypotheses,
    strongest_evidence: strongest,
    actions: planActions('unknown', null, evidence),
  };
}

function confidenceOf(signals: Signal[]): number {
  const live = signals.filter((s) => s.strength > 0);
  if (!live.length) return 0;
  const combined = 1 - live.reduce((p, s) => p * (1 - s.weight * clamp(s.strength)), 1);
  // Without its primary evidence a category is at most a weak hunch.
  const hasPrimary = live.some((s) => s.primary);
  return round(hasPrimary ? combined : Math.min(combined, 0.3) * 0.5);
}

function summarize(h: Hypothesis): string {
  const who = h.culprit ? ` Culprit: ${h.culprit.kind} ${h.culprit.name}${h.culprit.pid ? ` (pid ${h.culprit.pid})` : ''}.` : '';
  const what: Record<string, string> = {
    cpu_saturation: 'CPU saturation: the CPUs were busy far above their baseline.',
    memory_pressure: 'Memory pressure: memory use grew far above its baseline.',
    disk_full: 'Disk filling up: a filesystem grew far above its baseline usage.',
    network_degradation: 'Network degradation: latency or packet loss rose on the network path.',
    service_down: 'Service down: a service stopped answering its health checks.',
    db_connection_exhaustion: 'Database connection exhaustion: PostgreSQL ran out of connection slots.',
  };
  return `${what[h.category] ?? h.category}${who} ${h.evidence.length} pieces of evidence, confidence ${h.confidence}.`;
}

/** Lookups over the evidence and findings, shared by the category rules. */
class Facts {
  constructor(
    readonly evidence: Evidence,
    readonly logs: LogFindings | undefined,
    readonly metrics: MetricFindings | undefined,
  ) {}

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

  signature(name: LogSignature) {
    return this.logs?.signatures.find((s) => s.signature === name);
  }

  signatureSignal(name: LogSignature, weight: number, primary: boolean): Signal[] {
    const hit = this.signature(name);
    if (!hit) return [];
    return [
      {
        weight,
        primary,
        strength: clamp(Math.log2(1 + hit.count) / 3),
        ref: { kind: 'signature', ref: `signature:${name}`, detail: `${hit.count} log lines like: ${hit.example.slice(0, 200)}` },
      },
    ];
  }

  metricRef(s: SeriesFinding, detail: string): EvidenceRef {
    const w = s.windows[0];
    return { kind: 'metric', ref: `metric:${s.key}${w ? `@${w.start}` : ''}`, detail };
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
      .filter((s) => harmful(s).length > 0)
      .sort((a, b) => Math.max(...harmful(b).map((w) => Math.abs(w.peak_z))) - Math.max(...harmful(a).map((w) => Math.abs(w.peak_z))));
    for (const s of anomalous.slice(0, 5)) {
      const w = harmful(s)[0]!;
      refs.push(this.metricRef(s, `${s.label}: baseline median ${s.baseline.median}${s.unit}, peak ${w.peak}${s.unit} (robust z ${w.peak_z})`));
    }
    // One stray error line on a real host is noise; three of a new kind are worth a look.
    for (const t of (this.logs?.templates ?? []).filter((t) => (t.severity === 'error' || t.severity === 'critical') && t.incident_count >= 3).slice(0, 5)) {
      refs.push({ kind: 'template', ref: `template:${t.template_id}`, detail: `${t.is_new ? 'new' : `${t.rate_ratio}x`} ${t.severity} template (${t.incident_count} lines): ${t.template.slice(0, 200)}` });
    }
    for (const p of (this.metrics?.probes ?? []).filter((p) => p.incident_ok_pct < 95 && p.incident_ok_pct < p.baseline_ok_pct)) {
      refs.push({ kind: 'probe', ref: `probe:${p.target}`, detail: `${p.target} probe ${p.incident_ok_pct}% ok (baseline ${p.baseline_ok_pct}%): ${p.errors[0]?.error ?? ''}` });
    }
    return refs;
  }
}

function cpu(f: Facts): Candidate {
  const signals: Signal[] = [];
  const busy = f.series('cpu.busy_pct');
  if (busy && f.up(busy) && busy.incident.median >= 60) {
    signals.push({
      weight: 0.7,
      primary: true,
      strength: clamp((busy.incident.median - 50) / 40),
      ref: f.metricRef(busy, `CPU busy median ${busy.incident.median}% vs baseline ${busy.baseline.median}%`),
    });
  }
  const load = f.series('load1');
  if (load && f.up(load) && load.incident.max >= 1) {
    signals.push({ weight: 0.3, primary: false, strength: clamp(load.incident.max / 2), ref: f.metricRef(load, `load per core up to ${load.incident.max} vs ${load.baseline.median}`) });
  }
  const groups = groupByComm(f.metrics?.processes.by_cpu ?? [], (p) => p.incident_cpu_pct - p.baseline_cpu_pct);
  const top = groups[0];
  let culprit: Culprit | null = null;
  if (top && top.total >= 40) {
    culprit = { kind: 'process', name: top.comm, pid: top.pids[0]!, detail: `${top.pids.length} process(es), ${round(top.total)}% of one core on average above baseline; pids ${top.pids.slice(0, 10).join(', ')}` };
    signals.push({ weight: 0.4, primary: false, strength: clamp(top.total / 100), ref: { kind: 'process', ref: `process:${top.comm}:${top.pids[0]}`, detail: culprit.detail ?? '' } });
  }
  signals.push(...f.signatureSignal('cpu_throttled', 0.2, false));
  return { category: 'cpu_saturation', signals, culprit };
}

function memory(f: Facts): Candidate {
  const signals: Signal[] = [];
  const used = f.series('mem.used_pct');
  if (used && f.up(used)) {
    const growth = used.incident.max - used.baseline.median;
    // A few points of a large machine's memory is already a leak worth naming.
    signals.push({ weight: 0.55, primary: true, strength: clamp(growth / 8), ref: f.metricRef(used, `memory used up to ${used.incident.max}% vs baseline ${used.baseline.median}%`) });
  }
  const swap = f.series('mem.swap_used_mb');
  if (swap && f.up(swap)) signals.push({ weight: 0.25, primary: false, strength: clamp((swap.incident.max - swap.baseline.median) / 512), ref: f.metricRef(swap, `swap up to ${swap.incident.max} MB`) });
  const grower = f.metrics?.processes.by_rss_growth[0];
  let culprit: Culprit | null = null;
  if (grower && grower.rss_growth_mb >= 64) {
    culprit = { kind: 'process', name: grower.comm, pid: grower.pid, detail: `RSS grew by ${grower.rss_growth_mb} MB to ${grower.incident_rss_mb} MB${grower.args ? `: ${grower.args.slice(0, 120)}` : ''}` };
    signals.push({ weight: 0.45, primary: false, strength: clamp(grower.rss_growth_mb / 300), ref: { kind: 'process', ref: `process:${grower.comm}:${grower.pid}`, detail: culprit.detail ?? '' } });
  }
  signals.push(...f.signatureSignal('out_of_memory', 0.6, true));
  return { category: 'memory_pressure', signals, culprit };
}

function disk(f: Facts): Candidate {
  const signals: Signal[] = [];
  let culprit: Culprit | null = null;
  const grown = f
    .seriesMatching(/^disk:/)
    .filter((s) => f.up(s))
    .map((s) => ({ s, growth: s.incident.max - s.baseline.median }))
    .sort((a, b) => b.growth - a.growth)[0];
  if (grown && grown.growth >= 2) {
    const mount = grown.s.key.slice('disk:'.length, -'.used_pct'.length);
    signals.push({
      weight: 0.7,
      primary: true,
      strength: clamp(grown.growth / 25 + (grown.s.incident.max >= 90 ? 0.4 : 0)),
      ref: f.metricRef(grown.s, `${mount} used ${grown.s.incident.max}% vs baseline ${grown.s.baseline.median}%`),
    });
    const info = f.metrics?.disks.find((d) => d.mount === mount);
    const files = info?.largest_files ?? [];
    culprit = { kind: 'mount', name: mount, files: files.slice(0, 5), detail: `grew by ${info?.growth_mb ?? '?'} MB${files[0] ? `; largest file ${files[0].path} (${files[0].size_mb} MB)` : ''}` };
    if (files.length) signals.push({ weight: 0.2, primary: false, strength: 1, ref: { kind: 'snapshot', ref: `snapshot:largest_files:${mount}`, detail: files.slice(0, 3).map((x) => `${x.path} ${x.size_mb} MB`).join(', ') } });
  }
  signals.push(...f.signatureSignal('no_space_left', 0.6, true));
  return { category: 'disk_full', signals, culprit };
}

function network(f: Facts): Candidate {
  const signals: Signal[] = [];
  let culprit: Culprit | null = null;
  for (const s of f.seriesMatching(/^probe:.*\.latency_ms$/).filter((s) => f.up(s))) {
    const rise = s.incident.median - s.baseline.median;
    if (rise >= 20) signals.push({ weight: 0.45, primary: true, strength: clamp(rise / 150), ref: f.metricRef(s, `${s.label} median ${s.incident.median} ms vs baseline ${s.baseline.median} ms`) });
  }
  for (const s of f.seriesMatching(/^net:.*\.errors$/).filter((s) => f.up(s))) {
    const iface = s.key.slice('net:'.length, -'.errors'.length);
    signals.push({ weight: 0.4, primary: true, strength: clamp(s.incident.max / 20), ref: f.metricRef(s, `${iface}: up to ${s.incident.max} errors+drops/s vs ${s.baseline.median}`) });
    culprit ??= { kind: 'interface', name: iface, detail: `${s.incident.max} errors+drops per second at peak` };
  }
  // The shaper that hurts traffic most (by its own counters), else the first one configured.
  const shapers = (f.evidence.snapshot?.qdiscs ?? []).filter((q) => q.kind === 'netem' || (q.kind === 'tbf' && /latency|rate/.test(q.detail)));
  const shaping = [...shapers].sort((a, b) => harmOf(b) - harmOf(a))[0];
  if (shaping) {
    culprit = { kind: 'interface', name: shaping.iface, detail: `${shaping.kind} qdisc: ${shaping.detail}` };
    signals.push({ weight: 0.5, primary: signals.length > 0, strength: 1, ref: { kind: 'qdisc', ref: `qdisc:${shaping.iface}`, detail: `${shaping.kind} on ${shaping.iface}: ${shaping.detail}` } });
    // A shaper configured is a hunch; one whose counters show it dropping or holding back the
    // traffic it was given is the fault itself, even when it predates the baseline (investigate).
    // Strength: 10 % of the packets dropped, or as many overlimits as packets, is full strength;
    // under 1 % dropped and 10 % over the limit is too little to call a fault.
    const stats = qdiscStats(shaping.detail);
    const offered = Math.max(1, (stats?.packets ?? 0) + (stats?.dropped ?? 0));
    const harm = stats ? clamp(Math.max((10 * stats.dropped) / offered, stats.overlimits / offered)) : 0;
    if (stats && stats.dropped + stats.overlimits >= 5 && harm >= 0.1) {
      signals.push({
        weight: 0.5,
        primary: true,
        strength: harm,
        ref: { kind: 'qdisc', ref: `qdisc:${shaping.iface}:stats`, detail: `${shaping.kind} on ${shaping.iface} dropped ${stats.dropped} of ${offered} packets offered and went over its limit ${stats.overlimits} times (tc -s counters)` },
      });
    }
  }
  signals.push(...f.signatureSignal('network_unreachable', 0.3, false));
  for (const p of f.metrics?.probes ?? []) {
    const timeouts = p.errors.filter((e) => /time ?out|timed out/i.test(e.error)).reduce((n, e) => n + e.count, 0);
    if (timeouts >= 2) signals.push({ weight: 0.3, primary: false, strength: clamp(timeouts / 10), ref: { kind: 'probe', ref: `probe:${p.target}`, detail: `${timeouts} ${p.target} probes timed out` } });
  }
  return { category: 'network_degradation', signals, culprit };
}

/** A qdisc's counters as the host snapshot reports them, in tc -s's words ("Sent … pkt (dropped …, overlimits …"). */
function qdiscStats(detail: string): { packets: number; dropped: number; overlimits: number } | null {
  const m = /\bSent \d+ bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)/.exec(detail);
  return m ? { packets: Number(m[1]), dropped: Number(m[2]), overlimits: Number(m[3]) } : null;
}

function harmOf(q: { detail: string }): number {
  const stats = qdiscStats(q.detail);
  return stats ? stats.dropped + stats.overlimits : 0;
}

function service(f: Facts): Candidate {
  const signals: Signal[] = [];
  let culprit: Culprit | null = null;
  const http = f.metrics?.probes.find((p) => p.target === 'http');
  if (http && http.baseline_ok_pct >= 80 && http.incident_ok_pct <= 70) {
    const refused = http.errors.filter((e) => /refused|reset|connect|unreachable/i.test(e.error)).reduce((n, e) => n + e.count, 0);
    const total = http.errors.reduce((n, e) => n + e.count, 0) || 1;
    signals.push({
      weight: 0.6,
      primary: true,
      // A refused connection means nothing listens; a 5xx means something answered.
      strength: clamp(((http.baseline_ok_pct - http.incident_ok_pct) / 60) * (0.3 + 0.7 * (refused / total))),
      ref: { kind: 'probe', ref: 'probe:http', detail: `HTTP probe ${http.incident_ok_pct}% ok (baseline ${http.baseline_ok_pct}%): ${http.errors[0]?.error ?? ''}` },
    });
  }
  const down = f.evidence.snapshot?.services.find((s) => !s.active);
  if (down) {
    culprit = { kind: 'service', name: down.name, detail: `${down.manager}: inactive${down.detail ? ` (${down.detail})` : ''}` };
    signals.push({ weight: 0.6, primary: true, strength: 1, ref: { kind: 'service', ref: `service:${down.name}`, detail: `${down.name} is not running (${down.manager})` } });
  }
  signals.push(...f.signatureSignal('connection_refused', 0.3, false), ...f.signatureSignal('service_stopped', 0.3, false));
  return { category: 'service_down', signals, culprit };
}

function database(f: Facts): Candidate {
  const signals: Signal[] = [];
  let culprit: Culprit | null = null;
  const used = f.series('db.connections_pct');
  if (used && f.up(used) && used.incident.max >= 70) {
    signals.push({ weight: 0.65, primary: true, strength: clamp((used.incident.max - 60) / 35), ref: f.metricRef(used, `DB connections up to ${used.incident.max}% of max_connections vs baseline ${used.baseline.median}%`) });
  }
  const app = f.metrics?.db?.by_application[0];
  if (app && app.incident - app.baseline >= 5) {
    culprit = { kind: 'db_application', name: app.application || '(no application_name)', detail: `${app.incident} connections vs ${app.baseline} in the baseline` };
    signals.push({ weight: 0.3, primary: false, strength: clamp((app.incident - app.baseline) / 50), ref: { kind: 'db', ref: `db:application:${app.application}`, detail: culprit.detail ?? '' } });
  }
  signals.push(...f.signatureSignal('too_many_connections', 0.6, true));
  return { category: 'db_connection_exhaustion', signals, culprit };
}

function groupByComm<T extends { comm: string; pid: number }>(items: T[], value: (t: T) => number) {
  const groups = new Map<string, { comm: string; pids: number[]; total: number }>();
  for (const item of items) {
    const v = value(item);
    if (v <= 0) continue;
    const g = groups.get(item.comm) ?? { comm: item.comm, pids: [], total: 0 };
    g.pids.push(item.pid);
    g.total += v;
    groups.set(item.comm, g);
  }
  return [...groups.values()].sort((a, b) => b.total - a.total);
}

function clamp(v: number): number {
  return Math.max(0, Math.min(1, v));
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
