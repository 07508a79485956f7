import { clamp, type Candidate, type Facts, type Signal } from '../facts.js';
import type { Culprit } from '../../findings.js';

export function network(f: Facts): Candidate {
  const signals: Signal[] = [];
  let culprit: Culprit | null = null;
  for (const s of f.seriesMatching(/^probe:.*\.latency_ms$/).filter((s) => f.up(s))) {
    const rise = s.incident.median - s.baseline.median;
    if (rise >= 20) signals.push({ weight: 0.45, primary: true, strength: clamp(rise / 150), ref: f.metricRef(s, `${s.label} median ${s.incident.median} ms vs baseline ${s.baseline.median} ms`) });
  }
  // Slow since before the run: the reference knows how fast the probe normally answers.
  for (const s of f.seriesMatching(/^probe:.*\.latency_ms$/)) {
    const band = f.band(s.key);
    if (!band) continue;
    const rise = s.incident.median - band.median;
    if (rise >= 50 && s.incident.median >= 3 * band.median) {
      signals.push({ weight: 0.45, primary: true, strength: clamp(rise / 200), ref: f.metricRef(s, `${s.label} median ${s.incident.median} ms vs ${band.median} ms normally (${f.referenceLabel()})`) });
    }
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
