import type { Evidence, MetricSample, ProbeResult, SamplePhase } from '../../evidence/schema.js';

export type SeriesSpec = {
  key: string;
  label: string;
  unit: string;
  /**
   * Smallest change that can matter for this metric. A baseline that barely moves (an idle disk)
   * has a MAD near zero; this floor keeps a 0.1 % wobble from reading as a 50-sigma event.
   */
  floor: number;
  /**
   * How far a healthy host wanders on this metric from its neighbours and its own housekeeping:
   * after a fix, a level within the baseline median ± this is back to normal, however narrow
   * the band of a short baseline is. Two floors, except for pass/fail series, where any
   * failure is a failure.
   */
  noise: number;
  points: { t: string; v: number; phase: SamplePhase }[];
};

/** Turns the samples and probes into named time series, one per metric and device, for both windows. */
export function extractSeries(evidence: Evidence): SeriesSpec[] {
  return allSeries(evidence).filter((s) => s.points.some((p) => p.phase === 'baseline') && s.points.some((p) => p.phase === 'incident'));
}

/** Every series the samples and probes hold, whatever their phases (the known-good reference keeps them all). */
export function allSeries(evidence: Pick<Evidence, 'samples' | 'probes'>): SeriesSpec[] {
  const samples = [...evidence.samples].sort((a, b) => Date.parse(a.t) - Date.parse(b.t));
  const out: SeriesSpec[] = [
    series('cpu.busy_pct', 'CPU busy', '%', 5, samples, (s) => s.cpu.busy_pct),
    series('cpu.iowait_pct', 'CPU iowait', '%', 5, samples, (s) => s.cpu.iowait_pct),
    series('load1', 'Load (1 min) per core', '', 0.25, samples, (s) => s.load1 / s.cpu.cores),
    series('mem.used_pct', 'Memory used', '%', 1.5, samples, (s) => s.mem.used_pct),
    series('mem.swap_used_mb', 'Swap used', 'MB', 64, samples, (s) => s.mem.swap_used_mb),
  ];

  for (const mount of unique(samples.flatMap((s) => s.disks.map((d) => d.mount)))) {
    out.push(
      series(`disk:${mount}.used_pct`, `Disk used ${mount}`, '%', 1, samples, (s) => s.disks.find((d) => d.mount === mount)?.used_pct),
      series(`disk:${mount}.inodes_used_pct`, `Inodes used ${mount}`, '%', 1, samples, (s) => s.disks.find((d) => d.mount === mount)?.inodes_used_pct),
    );
  }
  for (const iface of unique(samples.flatMap((s) => s.net.map((n) => n.iface)))) {
    const nic = (s: MetricSample) => s.net.find((n) => n.iface === iface);
    out.push(series(`net:${iface}.rx_kbps`, `Network in ${iface}`, 'kbit/s', 200, samples, (s) => nic(s)?.rx_kbps));
    out.push(series(`net:${iface}.tx_kbps`, `Network out ${iface}`, 'kbit/s', 200, samples, (s) => nic(s)?.tx_kbps));
    out.push(
      series(`net:${iface}.errors`, `Network errors+drops ${iface}`, '/s', 1, samples, (s) => {
        const n = nic(s);
        return n ? n.rx_errs + n.tx_errs + n.rx_drop + n.tx_drop : undefined;
      }),
    );
  }
  if (samples.some((s) => s.db)) {
    out.push(series('db.connections_pct', 'DB connections used', '%', 5, samples, (s) => (s.db ? (100 * s.db.connections) / s.db.max_connections : undefined)));
  }
  const probes = [...evidence.probes].sort((a, b) => Date.parse(a.t) - Date.parse(b.t));
  for (const target of unique(probes.map((p) => p.target))) {
    const mine = probes.filter((p) => p.target === target);
    out.push(probeSeries(`probe:${target}.latency_ms`, `${target} probe latency`, 'ms', 25, mine, (p) => (p.ok ? p.latency_ms ?? undefined : undefined)));
    out.push({ ...probeSeries(`probe:${target}.failed`, `${target} probe failures`, '0/1', 0.5, mine, (p) => (p.ok ? 0 : 1)), noise: 0 });
  }
  return out;
}

function series(key: string, label: string, unit: string, floor: number, samples: MetricSample[], pick: (s: MetricSample) => number | undefined): SeriesSpec {
  const points = samples.flatMap((s) => {
    const v = pick(s);
    return v === undefined || !Number.isFinite(v) ? [] : [{ t: s.t, v, phase: s.phase }];
  });
  return { key, label, unit, floor, noise: 2 * floor, points };
}

function probeSeries(key: string, label: string, unit: string, floor: number, probes: ProbeResult[], pick: (p: ProbeResult) => number | undefined): SeriesSpec {
  const points = probes.flatMap((p) => {
    const v = pick(p);
    return v === undefined ? [] : [{ t: p.t, v, phase: p.phase }];
  });
  return { key, label, unit, floor, noise: 2 * floor, points };
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
