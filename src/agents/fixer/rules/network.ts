import { clamp, type Candidate, type Facts, type Signal } from '../facts.js';
import type { Culprit, SeriesFinding } from '../../findings.js';

/** A rise in probe latency this small (ms) is noise, for the network as for the reference. */
const MIN_RISE_MS = 20;

export function network(f: Facts): Candidate {
  const signals: Signal[] = [];
  let culprit: Culprit | null = null;
  // A slow path delays everything that crosses it, the TCP handshake first. An HTTP or SQL probe
  // also waits for the service's own work (its CPU, its database, its disk): when a TCP probe of
  // the same host answered as fast as ever, a slower service is not a slower network, and its
  // latency only supports a network diagnosis.
  const fastPath = fastTransports(f);
  const latencySignal = (s: SeriesFinding, weight: number, strength: number, detail: string): Signal => {
    const host = probeHost(s.key.slice('probe:'.length, -'.latency_ms'.length));
    const path = host ? fastPath.get(host) : undefined;
    if (path === undefined) return { weight, primary: true, strength, ref: f.metricRef(s, detail) };
    return { weight: 0.15, primary: false, strength, ref: f.metricRef(s, `${detail}, while TCP connects to ${host} took ${path} ms as before: the service is slow, not the path`) };
  };
  for (const s of f.seriesMatching(/^probe:.*\.latency_ms$/).filter((s) => f.up(s))) {
    const rise = s.incident.median - s.baseline.median;
    if (rise >= MIN_RISE_MS) signals.push(latencySignal(s, 0.45, clamp(rise / 150), `${s.label} median ${s.incident.median} ms vs baseline ${s.baseline.median} ms`));
  }
  // Slow since before the run: the reference knows how fast the probe normally answers.
  for (const s of f.seriesMatching(/^probe:.*\.latency_ms$/)) {
    const band = f.band(s.key);
    if (!band) continue;
    const rise = s.incident.median - band.median;
    if (rise >= 50 && s.incident.median >= 3 * band.median) {
      signals.push(latencySignal(s, 0.45, clamp(rise / 200), `${s.label} median ${s.incident.median} ms vs ${band.median} ms normally (${f.referenceLabel()})`));
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
    signals.push({ weight: 0.5, primary: signals.some((s) => s.primary), strength: 1, ref: { kind: 'qdisc', ref: `qdisc:${shaping.iface}`, detail: `${shaping.kind} on ${shaping.iface}: ${shaping.detail}` } });
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

/**
 * Hosts whose TCP probes answered in the incident window as fast as in the baseline and as the
 * reference knows them (within MIN_RISE_MS and twice the normal), with that latency (median, ms).
 */
function fastTransports(f: Facts): Map<string, number> {
  const fast = new Map<string, number>();
  for (const s of f.seriesMatching(/^probe:tcp .*\.latency_ms$/)) {
    const host = probeHost(s.key.slice('probe:'.length, -'.latency_ms'.length));
    if (!host || s.incident.n === 0) continue;
    const normals = [s.baseline.median, f.band(s.key)?.median].filter((v): v is number => v !== undefined);
    const slower = normals.some((n) => s.incident.median - n >= MIN_RISE_MS && s.incident.median >= 2 * n);
    if (!slower && !fast.has(host)) fast.set(host, s.incident.median);
    if (slower) fast.set(host, Number.NaN);
  }
  for (const [host, ms] of fast) if (Number.isNaN(ms)) fast.delete(host);
  return fast;
}

/** The host a probe reaches: "tcp HOST:PORT", "http://HOST:PORT/…", "db user@HOST:PORT/db". */
export function probeHost(target: string): string | null {
  if (target.startsWith('tcp ')) return /^tcp \[?([^\]\s]+?)\]?:\d+$/.exec(target)?.[1] ?? null;
  if (/^https?:\/\//.test(target)) {
    try {
      return new URL(target).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return null;
    }
  }
  if (target.startsWith('db ')) return /@\[?([^\]:/\s]+)\]?(?::\d+)?(?:\/|$)/.exec(target)?.[1] ?? null;
  return null;
}
