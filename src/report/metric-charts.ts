import type { MetricFindings, SeriesFinding } from '../agents/findings.js';
import { timeSeriesChart } from './charts/index.js';

export type MetricChart = { key: string; title: string; svg: string };

/** Always charted when present, in this order; anomalous series are added after them. */
const CORE = [/^cpu\.busy_pct$/, /^mem\.used_pct$/, /^disk:.*\.used_pct$/, /^net:.*\.rx_kbps$/, /^probe:http\.latency_ms$/, /^db\.connections_pct$/];
const MAX_CHARTS = 8;

/** One SVG per chosen series: the baseline band and anomaly windows shaded, fault markers drawn. */
export function metricCharts(metrics: MetricFindings, faultStartedAt: string | null, faultRevertedAt: string | null): MetricChart[] {
  const chosen: SeriesFinding[] = [];
  const add = (s: SeriesFinding) => {
    if (!chosen.includes(s) && chosen.length < MAX_CHARTS) chosen.push(s);
  };
  for (const s of metrics.series.filter((s) => s.anomalous)) add(s);
  for (const pattern of CORE) {
    // One disk or interface is enough unless it is anomalous (already added above).
    const first = metrics.series.find((s) => pattern.test(s.key) && (!s.key.startsWith('disk:') || s.key === 'disk:/.used_pct' || s.anomalous));
    if (first) add(first);
  }
  const markers = [
    ...(faultStartedAt ? [{ t: Date.parse(faultStartedAt), label: 'fault injected' }] : []),
    ...(faultRevertedAt ? [{ t: Date.parse(faultRevertedAt), label: 'reverted' }] : []),
  ];
  return chosen.map((s) => ({
    key: s.key,
    title: s.label,
    svg: timeSeriesChart({
      title: `${s.label}${s.anomalous ? ' (anomalous)' : ''}`,
      unit: s.unit,
      series: [{ name: s.label, points: s.points.map((p) => ({ t: Date.parse(p.t), v: p.v })) }],
      band: { lo: s.baseline.lo, hi: s.baseline.hi, label: 'baseline band' },
      windows: s.windows.map((w) => ({ start: Date.parse(w.start), end: Math.max(Date.parse(w.end), Date.parse(w.start) + 1000), severity: w.severity, label: `peak ${w.peak}` })),
      markers,
      ...(s.unit === '%' ? { yMin: 0, yMax: 100 } : {}),
    }),
  }));
}

/** A file name for a chart from a series key (keys may hold mount paths). */
export function chartFileName(key: string): string {
  return `artifacts/chart-${key.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '')}.svg`;
}
