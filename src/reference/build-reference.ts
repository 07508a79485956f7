import { round } from '../agents/metrics/anomalies.js';
import { allSeries } from '../agents/metrics/series.js';
import { createLineMiner } from '../agents/log/line-miner.js';
import type { HostInventory } from '../evidence/inventory.js';
import type { KnownGoodReference, LevelBand, ReferenceProbe } from '../evidence/reference.js';
import { probeKind, type LogStream, type MetricSample, type ProbeResult } from '../evidence/schema.js';

export type ReferenceInput = {
  target: string;
  source: KnownGoodReference['source'];
  incidentId: string | null;
  takenAt: Date;
  inventory: HostInventory;
  /** The samples, probes and log lines of the time the host was seen healthy. */
  samples: MetricSample[];
  probes: ProbeResult[];
  logs: LogStream[];
  /** How long those samples and logs span. */
  windowS: number;
};

const MAX_TEMPLATES = 500;

/**
 * The known-good reference as a pure function of what was seen while the host was healthy: the
 * spread of every metric series, each probe's success and latency, and the rate of every log
 * template. The same series keys as the MetricsAgent's, so the diagnosis can look them up.
 */
export function buildReference(input: ReferenceInput): KnownGoodReference {
  const levels: Record<string, LevelBand> = {};
  for (const s of allSeries({ samples: input.samples, probes: input.probes })) {
    const band = bandOf(s.points.map((p) => p.v));
    if (band) levels[s.key] = band;
  }
  // Cumulative counters: what the reference keeps is where they stood, to tell "since then".
  const oom = bandOf(input.samples.flatMap((s) => (s.mem.oom_kills === undefined ? [] : [s.mem.oom_kills])));
  if (oom) levels['mem.oom_kills'] = oom;

  const probes: ReferenceProbe[] = [];
  for (const target of [...new Set(input.probes.map((p) => p.target))]) {
    const mine = input.probes.filter((p) => p.target === target);
    const ok = mine.filter((p) => p.ok && p.latency_ms !== null).map((p) => p.latency_ms as number);
    probes.push({
      target,
      kind: probeKind(mine[0]!),
      ok_pct: round((100 * mine.filter((p) => p.ok).length) / mine.length),
      latency_ms_median: ok.length ? round(quantile(ok, 0.5)) : null,
      n: mine.length,
    });
  }

  const minutes = Math.max(1 / 60, input.windowS / 60);
  const templates: KnownGoodReference['log_templates'] = [];
  for (const stream of input.logs) {
    const miner = createLineMiner();
    const counts = new Map<string, { template: string; n: number }>();
    for (const line of stream.lines) {
      if (!line.trim()) continue;
      const { templateId, template } = miner.add(line);
      const entry = counts.get(templateId) ?? { template, n: 0 };
      entry.template = template; // templates generalise as more lines arrive
      entry.n += 1;
      counts.set(templateId, entry);
    }
    for (const { template, n } of counts.values()) templates.push({ stream: stream.name, template: template.slice(0, 2000), per_min: round(n / minutes) });
  }
  templates.sort((a, b) => b.per_min - a.per_min);

  return {
    format_version: 1,
    target: input.target,
    taken_at: input.takenAt.toISOString(),
    source: input.source,
    incident_id: input.incidentId,
    window_s: round(input.windowS),
    inventory: input.inventory,
    levels,
    probes: probes.slice(0, 64),
    log_templates: templates.slice(0, MAX_TEMPLATES),
  };
}

function bandOf(values: number[]): LevelBand | null {
  const v = values.filter((x) => Number.isFinite(x));
  if (!v.length) return null;
  return { median: round(quantile(v, 0.5)), p95: round(quantile(v, 0.95)), min: round(Math.min(...v)), max: round(Math.max(...v)), n: v.length };
}

/** Linear-interpolated quantile of unsorted values. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
