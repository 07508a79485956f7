import { clamp, describeProcess, groupByProgram, median, offenders, round, type Candidate, type Facts, type ProcessGroup, type Signal } from '../facts.js';
import type { Culprit } from '../../findings.js';

/** CPUs pinned: busy in (nearly) every sample of the latest window, whatever came before it. */
const PINNED_PCT = 90;
/** Share of one core (summed over a program's processes) below which a process is nobody's culprit. */
const MIN_CULPRIT_PCT = 25;
/** Share of one core below which one process of the culprit's program is not among the offenders. */
const MIN_OFFENDER_PCT = 2;

export function cpu(f: Facts): Candidate {
  const signals: Signal[] = [];
  const incident = f.incidentSamples();
  const cores = incident[0]?.cpu.cores ?? 1;
  const busyMedian = median(incident.map((s) => s.cpu.busy_pct));

  // Who burns the CPU now, and who started burning more of it during the run. A culprit must be
  // this host's dominant consumer; on a VM its share of the busy time is its share of the CPUs,
  // while in a container the host's neighbours' load is invisible, which weakens, not erases, it.
  // Processes are added up per program, not per name: a python3 web app and a python3 batch job
  // are two suspects, and only the processes that burn the CPU are named.
  const groups = groupByProgram(f.metrics?.processes.busiest ?? [], (p) => p.incident_cpu_pct);
  const visible = groups.reduce((n, g) => n + g.total, 0);
  const busiest = groups[0];
  const grower = groupByProgram(f.metrics?.processes.by_cpu ?? [], (p) => p.incident_cpu_pct - p.baseline_cpu_pct)[0];
  let culprit: Culprit | null = null;
  let holder: { name: string; ofBusy: number; ofVisible: number } | null = null;
  if (busiest && busiest.total >= MIN_CULPRIT_PCT && busiest.total >= 0.5 * visible) {
    holder = { name: busiest.name, ofBusy: busiest.total / Math.max(1, cores * Math.max(busyMedian, 1)), ofVisible: busiest.total / Math.max(1, visible) };
    culprit = processCulprit(busiest, `${busiest.members.length} process(es) using ${round(busiest.total)}% of one core on average`);
  }

  if (busyMedian >= PINNED_PCT && holder) {
    // Absolute: pinned CPUs with a process of this host behind them, old fault or new.
    signals.push({
      weight: 0.75,
      primary: true,
      strength: clamp((busyMedian - 85) / 12) * (0.6 + 0.4 * clamp(holder.ofBusy / 0.6)),
      ref: { kind: 'limit', ref: 'limit:cpu.busy_pct', detail: `CPUs pinned: busy ${round(busyMedian)}% (median of ${incident.length} samples over ${cores} core(s)), ${holder.name} the main consumer` },
    });
  }
  const busy = f.series('cpu.busy_pct');
  if (busy && f.up(busy) && busy.incident.median >= 60) {
    signals.push({ weight: 0.7, primary: true, strength: clamp((busy.incident.median - 50) / 40), ref: f.metricRef(busy, `CPU busy median ${busy.incident.median}% vs baseline ${busy.baseline.median}%`) });
  }
  const aboveRef = f.aboveReference(busy, 15);
  // Far above its normal counts only with a process of this host behind it: busy time nobody
  // here uses is a neighbour's (a container) or the hypervisor's, not this host's fault.
  if (busy && aboveRef > 0 && busy.incident.median >= 60 && (holder || (grower && grower.total >= MIN_CULPRIT_PCT))) {
    signals.push({ weight: 0.5, primary: true, strength: clamp(aboveRef / 3), ref: f.metricRef(busy, `CPU busy median ${busy.incident.median}% vs ${f.band(busy.key)!.median}% normally (${f.referenceLabel()})`) });
  }
  const load = f.series('load1');
  // The load average lags by a minute or more: high after a fault ended, it is no evidence alone.
  if (load && !f.echoOfThePast(load) && (f.up(load) || load.incident.median >= 1.5) && load.incident.max >= 1) {
    signals.push({ weight: 0.3, primary: false, strength: clamp(load.incident.max / 2), ref: f.metricRef(load, `load per core up to ${load.incident.max} vs ${load.baseline.median}`) });
  }
  if (holder && culprit) {
    signals.push({ weight: 0.4, primary: false, strength: clamp(Math.max(holder.ofBusy / 0.6, holder.ofVisible - 0.2)), ref: { kind: 'process', ref: `process:${holder.name}:${culprit.pid}`, detail: `${culprit.detail}; ${Math.round(holder.ofBusy * 100)}% of the busy CPU, ${Math.round(holder.ofVisible * 100)}% of what this host's processes use` } });
  } else if (grower && grower.total >= MIN_CULPRIT_PCT) {
    culprit = processCulprit(grower, `${grower.members.length} process(es), ${round(grower.total)}% of one core on average above baseline`);
    signals.push({ weight: 0.4, primary: false, strength: clamp(grower.total / 100), ref: { kind: 'process', ref: `process:${grower.name}:${culprit.pid}`, detail: culprit.detail ?? '' } });
  }
  signals.push(...f.signatureSignal('cpu_throttled', 0.2, false));
  return { category: 'cpu_saturation', signals, culprit };
}

/** A program's processes as the culprit: every one of them that burns the CPU, heaviest first. */
function processCulprit(g: ProcessGroup, what: string): Culprit & { pid: number } {
  const pids = offenders(g, MIN_OFFENDER_PCT);
  return {
    kind: 'process',
    name: g.name,
    pid: pids[0]!,
    pids,
    ...(g.exe ? { exe: g.exe } : {}),
    detail: `${describeProcess(g)}: ${what}; pids ${pids.slice(0, 10).join(', ')}${g.sample.args ? `; ${g.sample.args.slice(0, 120)}` : ''}`,
  };
}
