import { clamp, describeProcess, groupByName, median, round, type Candidate, type Facts, type Signal } from '../facts.js';
import type { Culprit } from '../../findings.js';

/** CPUs pinned: busy in (nearly) every sample of the latest window, whatever came before it. */
const PINNED_PCT = 90;

export function cpu(f: Facts): Candidate {
  const signals: Signal[] = [];
  const incident = f.incidentSamples();
  const cores = incident[0]?.cpu.cores ?? 1;
  const busyMedian = median(incident.map((s) => s.cpu.busy_pct));

  // Who burns the CPU now, and who started burning more of it during the run.
  const busiest = groupByName(f.metrics?.processes.busiest ?? [], (p) => p.incident_cpu_pct)[0];
  const grower = groupByName(f.metrics?.processes.by_cpu ?? [], (p) => p.incident_cpu_pct - p.baseline_cpu_pct)[0];
  let culprit: Culprit | null = null;
  let holder: { name: string; share: number; pct: number } | null = null;
  if (busiest && busiest.total >= 40) {
    // Share of all the busy CPU time on the host that this one name accounts for.
    const share = busiest.total / Math.max(1, cores * Math.max(busyMedian, 1));
    holder = { name: busiest.name, share, pct: busiest.total };
    culprit = {
      kind: 'process',
      name: busiest.name,
      pid: busiest.pids[0]!,
      ...(busiest.exe ? { exe: busiest.exe } : {}),
      detail: `${describeProcess(busiest)}: ${busiest.pids.length} process(es) using ${round(busiest.total)}% of one core on average; pids ${busiest.pids.slice(0, 10).join(', ')}${busiest.sample.args ? `; ${busiest.sample.args.slice(0, 120)}` : ''}`,
    };
  }

  if (busyMedian >= PINNED_PCT && holder && holder.share >= 0.4) {
    // Absolute: pinned CPUs with a process of this host behind them, old fault or new.
    signals.push({
      weight: 0.75,
      primary: true,
      strength: clamp((busyMedian - 85) / 12),
      ref: { kind: 'limit', ref: 'limit:cpu.busy_pct', detail: `CPUs pinned: busy ${round(busyMedian)}% (median of ${incident.length} samples over ${cores} core(s))` },
    });
  }
  const busy = f.series('cpu.busy_pct');
  if (busy && f.up(busy) && busy.incident.median >= 60) {
    signals.push({ weight: 0.7, primary: true, strength: clamp((busy.incident.median - 50) / 40), ref: f.metricRef(busy, `CPU busy median ${busy.incident.median}% vs baseline ${busy.baseline.median}%`) });
  }
  const aboveRef = f.aboveReference(busy, 15);
  if (busy && aboveRef > 0 && busy.incident.median >= 60) {
    signals.push({ weight: 0.5, primary: true, strength: clamp(aboveRef / 3), ref: f.metricRef(busy, `CPU busy median ${busy.incident.median}% vs ${f.band(busy.key)!.median}% normally (${f.referenceLabel()})`) });
  }
  const load = f.series('load1');
  if (load && (f.up(load) || load.incident.median >= 1.5) && load.incident.max >= 1) {
    signals.push({ weight: 0.3, primary: false, strength: clamp(load.incident.max / 2), ref: f.metricRef(load, `load per core up to ${load.incident.max} vs ${load.baseline.median}`) });
  }
  if (holder && culprit) {
    signals.push({ weight: 0.4, primary: false, strength: clamp(holder.share / 0.6), ref: { kind: 'process', ref: `process:${holder.name}:${culprit.pid}`, detail: `${culprit.detail}; ${Math.round(holder.share * 100)}% of the busy CPU` } });
  } else if (grower && grower.total >= 40) {
    culprit = { kind: 'process', name: grower.name, pid: grower.pids[0]!, ...(grower.exe ? { exe: grower.exe } : {}), detail: `${describeProcess(grower)}: ${grower.pids.length} process(es), ${round(grower.total)}% of one core on average above baseline; pids ${grower.pids.slice(0, 10).join(', ')}` };
    signals.push({ weight: 0.4, primary: false, strength: clamp(grower.total / 100), ref: { kind: 'process', ref: `process:${grower.name}:${grower.pids[0]}`, detail: culprit.detail ?? '' } });
  }
  signals.push(...f.signatureSignal('cpu_throttled', 0.2, false));
  return { category: 'cpu_saturation', signals, culprit };
}
