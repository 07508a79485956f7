import { clamp, describeProcess, groupByProgram, median, offenders, programOf, round, type Candidate, type Facts, type Signal } from '../facts.js';
import type { Culprit } from '../../findings.js';

/** Memory used (against the host's memory cgroup limit when it has one) past which it is exhausted. */
const EXHAUSTED_PCT = 92;
/** RSS growth within the run that makes one process's growth primary evidence of a leak. */
const LEAK_MB = 256;
/** A gradual climb (over many samples, never given back) is a leak from half that: a leak's shape. */
const GRADUAL_LEAK_MB = LEAK_MB / 2;
/** RSS growth below which a process is not among a leak's offenders. */
const MIN_OFFENDER_MB = 32;
/** Pages swapped in+out per second that mean thrashing rather than housekeeping. */
const THRASH_PAGES_PER_S = 200;

export function memory(f: Facts): Candidate {
  const signals: Signal[] = [];
  const incident = f.incidentSamples();
  const usedMedian = median(incident.map((s) => s.mem.used_pct));
  const scope = incident.find((s) => s.mem.scope)?.mem.scope === 'cgroup' ? ' of its memory cgroup limit' : '';
  if (usedMedian >= EXHAUSTED_PCT) {
    const avail = median(incident.map((s) => s.mem.available_mb));
    signals.push({ weight: 0.7, primary: true, strength: clamp((usedMedian - 88) / 8), ref: { kind: 'limit', ref: 'limit:mem.used_pct', detail: `memory ${round(usedMedian)}% used${scope}, ${round(avail)} MB available (median of ${incident.length} samples)` } });
  }
  // OOM kills: during the run they are the fault itself; since the reference only, a past event
  // (the counter never goes down), worth citing but not proof of pressure now.
  const kills = f.evidence.samples.flatMap((s) => (s.mem.oom_kills === undefined ? [] : [s.mem.oom_kills]));
  if (kills.length) {
    const during = Math.max(...kills) - Math.min(...kills);
    const since = f.band('mem.oom_kills') ? Math.max(0, Math.min(...kills) - f.band('mem.oom_kills')!.max) : 0;
    if (during > 0) signals.push({ weight: 0.6, primary: true, strength: clamp(0.5 + during / 6), ref: { kind: 'limit', ref: 'limit:mem.oom_kills', detail: `${during} process(es) killed by the OOM killer during the run` } });
    else if (since > 0) signals.push({ weight: 0.3, primary: false, strength: clamp(since / 3), ref: { kind: 'limit', ref: 'limit:mem.oom_kills', detail: `${since} process(es) killed by the OOM killer since ${f.referenceLabel()} (none during the run)` } });
  }
  const thrash = median(incident.map((s) => (s.mem.swap_in_per_s ?? 0) + (s.mem.swap_out_per_s ?? 0)));
  if (thrash >= THRASH_PAGES_PER_S) {
    signals.push({ weight: 0.35, primary: usedMedian >= 85, strength: clamp(thrash / 2000), ref: { kind: 'limit', ref: 'limit:mem.swap', detail: `swapping ${round(thrash)} pages/s (median)` } });
  }
  const used = f.series('mem.used_pct');
  if (used && f.up(used)) {
    const growth = used.incident.max - used.baseline.median;
    // A few points of a large machine's memory is already a leak worth naming.
    signals.push({ weight: 0.55, primary: true, strength: clamp(growth / 8), ref: f.metricRef(used, `memory used up to ${used.incident.max}% vs baseline ${used.baseline.median}%`) });
  }
  const aboveRef = f.aboveReference(used, 8);
  if (used && aboveRef > 0 && used.incident.median >= 70) {
    signals.push({ weight: 0.45, primary: true, strength: clamp(aboveRef / 3), ref: f.metricRef(used, `memory used ${used.incident.median}% vs ${f.band(used.key)!.median}% normally (${f.referenceLabel()})`) });
  }
  const swap = f.series('mem.swap_used_mb');
  if (swap && f.up(swap)) signals.push({ weight: 0.25, primary: false, strength: clamp((swap.incident.max - swap.baseline.median) / 512), ref: f.metricRef(swap, `swap up to ${swap.incident.max} MB`) });

  let culprit: Culprit | null = null;
  const top = f.metrics?.processes.by_rss_growth[0];
  // The leaking program's processes whose RSS grew (workers of one app leak together), never a
  // process that only shares its name.
  const growers = top ? groupByProgram(f.metrics?.processes.by_rss_growth ?? [], (p) => p.rss_growth_mb).find((g) => g.program === programOf(top)) : undefined;
  const largest = groupByProgram(f.metrics?.processes.largest ?? [], (p) => p.incident_rss_mb)[0];
  const total = incident[0]?.mem.total_mb ?? 0;
  if (top && growers && top.rss_growth_mb >= 64) {
    const pids = offenders(growers, MIN_OFFENDER_MB);
    const climb = gradualClimb(f.rssTrail(top.pid));
    culprit = {
      kind: 'process',
      name: growers.name,
      pid: top.pid,
      pids,
      ...(top.exe ? { exe: top.exe } : {}),
      detail: `${describeProcess(growers)}: RSS grew by ${top.rss_growth_mb} MB to ${top.incident_rss_mb} MB${climb ? `, up in ${climb.up} of ${climb.steps} samples` : ''}${pids.length > 1 ? `; pids ${pids.join(', ')}` : ''}${top.args ? `: ${top.args.slice(0, 120)}` : ''}`,
    };
    // One process growing by hundreds of MB within minutes is a leak on its own, however large
    // the host (on 24 GB, 1 GB is lost in the noise of the host-wide figure), and whatever CPU it
    // burns writing the pages it allocates. Growth spread over many samples and kept is a leak's
    // shape (a program loading its data or a cache filled at once jumps), so LEAK_MB counts then
    // whatever the host's size, and half of it counts too; one jump must also be 3 % of memory.
    const leak = climb?.gradual ? top.rss_growth_mb >= GRADUAL_LEAK_MB : top.rss_growth_mb >= Math.max(LEAK_MB, 0.03 * total);
    signals.push({ weight: leak ? 0.6 : 0.45, primary: leak, strength: leak ? clamp(0.5 + top.rss_growth_mb / (2 * LEAK_MB)) : clamp(top.rss_growth_mb / 300), ref: { kind: 'process', ref: `process:${growers.name}:${top.pid}`, detail: culprit.detail ?? '' } });
  } else if (largest && total > 0 && largest.total >= 0.25 * total) {
    // Already large when the run began: the biggest holder of the memory is the suspect.
    const pids = offenders(largest, MIN_OFFENDER_MB);
    culprit = { kind: 'process', name: largest.name, pid: pids[0]!, pids, ...(largest.exe ? { exe: largest.exe } : {}), detail: `${describeProcess(largest)}: ${round(largest.total)} MB resident, ${Math.round((100 * largest.total) / total)}% of ${round(total)} MB; pids ${pids.slice(0, 10).join(', ')}` };
    signals.push({ weight: 0.45, primary: false, strength: clamp(largest.total / total / 0.6), ref: { kind: 'process', ref: `process:${largest.name}:${pids[0]}`, detail: culprit.detail ?? '' } });
  }
  signals.push(...f.signatureSignal('oom_kill', 0.6, true, { absolute: true }));
  // "Cannot allocate memory" alone may be a limit rather than exhaustion: supporting only.
  signals.push(...f.signatureSignal('out_of_memory', 0.3, false));
  return { category: 'memory_pressure', signals, culprit };
}

/**
 * The shape of an RSS trail over the incident window: in how many sample-to-sample steps it went
 * up, and whether the growth is gradual (at least 3 steps up, no single step more than half of
 * it, nearly all of it still held at the end). Null when too short to have a shape.
 */
function gradualClimb(trail: number[]): { up: number; steps: number; gradual: boolean } | null {
  if (trail.length < 4) return null;
  let up = 0;
  let biggest = 0;
  for (let i = 1; i < trail.length; i += 1) {
    const step = trail[i]! - trail[i - 1]!;
    if (step > 0) up += 1;
    biggest = Math.max(biggest, step);
  }
  const growth = Math.max(...trail) - trail[0]!;
  const held = trail.at(-1)! >= Math.max(...trail) - 0.1 * growth;
  return { up, steps: trail.length - 1, gradual: growth > 0 && up >= 3 && biggest <= 0.5 * growth && held };
}
