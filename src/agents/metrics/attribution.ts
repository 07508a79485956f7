import { median } from 'simple-statistics';
import { probeKind, type Evidence, type MetricSample, type Phase } from '../../evidence/schema.js';
import type { MetricFindings, ProcessAttribution } from '../findings.js';
import { round } from './anomalies.js';

/** Who is behind the numbers: processes, mounts, interfaces, DB clients, probe errors. */
export function attribute(evidence: Evidence): Omit<MetricFindings, 'series' | 'anomalous' | 'time_to_detect_s' | 'recovery_s' | 'recovery'> {
  const byPhase = (phase: Phase) => evidence.samples.filter((s) => s.phase === phase);
  const baseline = byPhase('baseline');
  const incident = byPhase('incident');
  return {
    processes: processes(baseline, incident),
    disks: disks(baseline, incident, evidence),
    interfaces: interfaces(baseline, incident),
    db: db(baseline, incident),
    probes: probes(evidence),
  };
}

function processes(baseline: MetricSample[], incident: MetricSample[]): MetricFindings['processes'] {
  type Acc = { pid: number; comm: string; args?: string; argv0?: string; exe?: string; user?: string; cpu: Record<Phase, number>; rss: Record<Phase, number[]> };
  const acc = new Map<number, Acc>();
  const visit = (samples: MetricSample[], phase: Phase) => {
    for (const s of samples) {
      for (const p of s.top) {
        const a = acc.get(p.pid) ?? { pid: p.pid, comm: p.comm, args: p.args, argv0: p.argv0, exe: p.exe, user: p.user, cpu: { baseline: 0, incident: 0 }, rss: { baseline: [], incident: [] } };
        a.cpu[phase] += p.cpu_pct;
        a.rss[phase].push(p.rss_mb);
        acc.set(p.pid, a);
      }
    }
  };
  visit(baseline, 'baseline');
  visit(incident, 'incident');
  const all: ProcessAttribution[] = [...acc.values()].map((a) => {
    // A process missing from a sample's top list was below the cut: count it as zero CPU.
    const baseCpu = baseline.length ? a.cpu.baseline / baseline.length : 0;
    const incCpu = incident.length ? a.cpu.incident / incident.length : 0;
    const baseRss = a.rss.baseline.length ? Math.max(...a.rss.baseline) : 0;
    const incRss = a.rss.incident.length ? Math.max(...a.rss.incident) : 0;
    const firstIncRss = a.rss.incident[0] ?? 0;
    const growth = a.rss.baseline.length ? incRss - baseRss : incRss - Math.min(firstIncRss, incRss);
    return {
      pid: a.pid,
      comm: a.comm,
      ...(a.args ? { args: a.args } : {}),
      ...(a.argv0 ? { argv0: a.argv0 } : {}),
      ...(a.exe ? { exe: a.exe } : {}),
      ...(a.user ? { user: a.user } : {}),
      baseline_cpu_pct: round(baseCpu),
      incident_cpu_pct: round(incCpu),
      baseline_rss_mb: round(baseRss),
      incident_rss_mb: round(incRss),
      rss_growth_mb: round(Math.max(0, growth)),
      new_in_incident: a.rss.baseline.length === 0,
    };
  });
  return {
    by_cpu: [...all].sort((a, b) => b.incident_cpu_pct - b.baseline_cpu_pct - (a.incident_cpu_pct - a.baseline_cpu_pct)).slice(0, 10),
    by_rss_growth: [...all].filter((p) => p.rss_growth_mb > 0).sort((a, b) => b.rss_growth_mb - a.rss_growth_mb).slice(0, 10),
    busiest: [...all].filter((p) => p.incident_cpu_pct > 0).sort((a, b) => b.incident_cpu_pct - a.incident_cpu_pct).slice(0, 10),
    largest: [...all].sort((a, b) => b.incident_rss_mb - a.incident_rss_mb).slice(0, 10),
  };
}

function disks(baseline: MetricSample[], incident: MetricSample[], evidence: Evidence): MetricFindings['disks'] {
  const mounts = new Set([...baseline, ...incident].flatMap((s) => s.disks.map((d) => d.mount)));
  return [...mounts].map((mount) => {
    const of = (samples: MetricSample[]) => samples.flatMap((s) => s.disks.filter((d) => d.mount === mount));
    const b = of(baseline);
    const i = of(incident);
    const baseUsed = b.length ? median(b.map((d) => d.used_mb)) : 0;
    const incMax = i.length ? Math.max(...i.map((d) => d.used_mb)) : baseUsed;
    const files = evidence.snapshot?.largest_files.find((l) => l.mount === mount)?.files ?? [];
    const inodes = i.flatMap((d) => (d.inodes_used_pct === undefined ? [] : [d.inodes_used_pct]));
    const fstype = [...b, ...i].find((d) => d.fstype)?.fstype;
    return {
      mount,
      ...(fstype ? { fstype } : {}),
      incident_inodes_pct: inodes.length ? round(Math.max(...inodes)) : null,
      baseline_used_pct: round(b.length ? median(b.map((d) => d.used_pct)) : 0),
      incident_used_pct: round(i.length ? Math.max(...i.map((d) => d.used_pct)) : 0),
      growth_mb: round(incMax - baseUsed),
      largest_files: files.slice(0, 10),
    };
  });
}

function interfaces(baseline: MetricSample[], incident: MetricSample[]): MetricFindings['interfaces'] {
  const names = new Set([...baseline, ...incident].flatMap((s) => s.net.map((n) => n.iface)));
  const sum = (samples: MetricSample[], iface: string, pick: (n: MetricSample['net'][number]) => number) =>
    samples.reduce((acc, s) => acc + s.net.filter((n) => n.iface === iface).reduce((a, n) => a + pick(n), 0), 0);
  return [...names].map((iface) => ({
    iface,
    errors: sum(incident, iface, (n) => n.rx_errs + n.tx_errs),
    drops: sum(incident, iface, (n) => n.rx_drop + n.tx_drop),
    baseline_errors: sum(baseline, iface, (n) => n.rx_errs + n.tx_errs),
    baseline_drops: sum(baseline, iface, (n) => n.rx_drop + n.tx_drop),
  }));
}

function db(baseline: MetricSample[], incident: MetricSample[]): MetricFindings['db'] {
  const b = baseline.flatMap((s) => (s.db ? [s.db] : []));
  const i = incident.flatMap((s) => (s.db ? [s.db] : []));
  if (!i.length && !b.length) return null;
  const apps = new Set([...b, ...i].flatMap((d) => d.by_application.map((a) => a.application)));
  const countOf = (d: (typeof b)[number], app: string) => d.by_application.filter((a) => a.application === app).reduce((n, a) => n + a.count, 0);
  return {
    max_connections: Math.max(...[...b, ...i].map((d) => d.max_connections)),
    baseline_connections: b.length ? round(median(b.map((d) => d.connections))) : 0,
    incident_connections: i.length ? Math.max(...i.map((d) => d.connections)) : 0,
    by_application: [...apps]
      .map((application) => ({
        application,
        baseline: b.length ? round(median(b.map((d) => countOf(d, application)))) : 0,
        incident: i.length ? Math.max(...i.map((d) => countOf(d, application))) : 0,
      }))
      .sort((x, y) => y.incident - y.baseline - (x.incident - x.baseline)),
  };
}

function probes(evidence: Evidence): MetricFindings['probes'] {
  const targets = [...new Set(evidence.probes.map((p) => p.target))];
  return targets.map((target) => {
    const of = (phase: Phase) => evidence.probes.filter((p) => p.target === target && p.phase === phase);
    const okPct = (ps: typeof evidence.probes) => (ps.length ? round((100 * ps.filter((p) => p.ok).length) / ps.length) : 100);
    const latency = (ps: typeof evidence.probes) => {
      const values = ps.filter((p) => p.ok && p.latency_ms !== null).map((p) => p.latency_ms as number);
      return values.length ? round(median(values)) : null;
    };
    const errors = new Map<string, number>();
    for (const p of of('incident')) if (!p.ok) errors.set(p.error ?? `status ${p.status ?? '?'}`, (errors.get(p.error ?? `status ${p.status ?? '?'}`) ?? 0) + 1);
    const all = evidence.probes.filter((p) => p.target === target && p.phase !== 'recovery');
    return {
      target,
      kind: probeKind(all[0] ?? { target }),
      total: all.length,
      failed: all.filter((p) => !p.ok).length,
      baseline_ok_pct: okPct(of('baseline')),
      incident_ok_pct: okPct(of('incident')),
      baseline_latency_ms: latency(of('baseline')),
      incident_latency_ms: latency(of('incident')),
      errors: [...errors.entries()].map(([error, count]) => ({ error, count })).sort((a, b) => b.count - a.count).slice(0, 5),
    };
  });
}
