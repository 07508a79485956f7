/**
 * The experiment report: markdown (pure) and its charts, drawn with the incident report's chart
 * code (throughput over time with anomaly windows shaded and fault markers; baseline-vs-run
 * comparison bars; MTTD and MTTR per run). Every host or user string goes through `cell`.
 */
import type { LoadRecord } from '../load/schema.js';
import { barChart, timeSeriesChart, type Bar } from '../report/charts/index.js';
import { cell } from '../report/markdown.js';
import type { ExperimentSummary, LoadFigures, RunFigures } from './result-schema.js';
import type { Experiment } from './schema.js';
import { perSecond, type LoadSample } from './statistics.js';

export type ExperimentChart = { file: string; title: string; svg: string };

export function experimentCharts(summary: ExperimentSummary, records: readonly LoadRecord[]): ExperimentChart[] {
  const runs = allRuns(summary);
  const charts: ExperimentChart[] = [];
  const samples: LoadSample[] = records.map((r) => ({ t: Date.parse(r.timestamp), latency_ms: r.status === null && !r.ok ? null : r.latency_ms, ok: r.ok }));
  const buckets = perSecond(samples);
  const windows = runs.flatMap((r) => r.anomaly_windows.map((w) => ({ start: Date.parse(w.start), end: Date.parse(w.end), severity: w.severity, label: `${runLabel(r)}: ${w.reason}` })));
  const markers = runs.flatMap((r) => [
    ...(r.fault.injected_at ? [{ t: Date.parse(r.fault.injected_at), label: `${runLabel(r)} fault` }] : []),
    ...(r.fault.reverted_at ? [{ t: Date.parse(r.fault.reverted_at), label: `${runLabel(r)} reverted` }] : []),
  ]);
  if (buckets.length) {
    charts.push({
      file: 'charts/throughput.svg',
      title: 'Throughput over time',
      svg: timeSeriesChart({
        title: 'Throughput over time (anomaly windows shaded)',
        unit: 'req/s',
        series: [
          { name: 'answered ok', points: buckets.map((b) => ({ t: b.t, v: b.ok })) },
          { name: 'failed', points: buckets.map((b) => ({ t: b.t, v: b.errors })) },
        ],
        windows,
        markers,
        yMin: 0,
      }),
    });
    charts.push({
      file: 'charts/latency.svg',
      title: 'Latency p95 over time',
      svg: timeSeriesChart({
        title: 'Latency p95 per second',
        unit: 'ms',
        series: [{ name: 'p95', points: buckets.map((b) => ({ t: b.t, v: b.p95_ms ?? Number.NaN })) }],
        windows,
        markers,
        yMin: 0,
      }),
    });
  }
  const withLoad = runs.filter((r) => r.load?.during);
  if (withLoad.length) {
    const bars = (pick: (f: LoadFigures) => number | null): Bar[] =>
      withLoad.flatMap((r) => {
        const during = r.load!.during ? pick(r.load!.during) : null;
        const before = r.load!.before ? pick(r.load!.before) : null;
        return [
          ...(before !== null ? [{ label: `${runLabel(r)} before`, value: before }] : []),
          ...(during !== null ? [{ label: `${runLabel(r)} ${r.kind === 'baseline' ? 'method' : 'fault'}`, value: during, highlight: r.kind === 'experiment' }] : []),
        ];
      });
    charts.push({ file: 'charts/compare-throughput.svg', title: 'Throughput: baseline vs runs', svg: barChart({ title: 'Successful responses per second: baseline vs runs', unit: 'req/s', bars: bars((f) => f.throughput_rps) }) });
    charts.push({ file: 'charts/compare-latency.svg', title: 'Latency p95: baseline vs runs', svg: barChart({ title: 'Latency p95: baseline vs runs', unit: 'ms', bars: bars((f) => f.p95_ms) }) });
    charts.push({ file: 'charts/compare-errors.svg', title: 'Error rate: baseline vs runs', svg: barChart({ title: 'Error rate: baseline vs runs', unit: '%', bars: bars((f) => Math.round(f.error_rate * 1000) / 10) }) });
  }
  const timed = summary.runs.filter((r) => r.mttd_s !== null || r.mttr_s !== null);
  if (timed.length) {
    charts.push({
      file: 'charts/mttd-mttr.svg',
      title: 'MTTD and MTTR per run',
      svg: barChart({
        title: 'Time to detect and to recover, per run',
        unit: 's',
        bars: timed.flatMap((r) => [
          ...(r.mttd_s !== null ? [{ label: `run ${r.run} MTTD`, value: r.mttd_s }] : []),
          ...(r.mttr_s !== null ? [{ label: `run ${r.run} MTTR`, value: r.mttr_s, highlight: true }] : []),
        ]),
      }),
    });
  }
  return charts;
}

export function experimentMarkdown(summary: ExperimentSummary, experiment: Experiment, charts: readonly ExperimentChart[]): string {
  const a = summary.aggregate;
  const out: string[] = [];
  out.push(`# Experiment: ${cell(summary.title)}`, '');
  out.push(`Experiment \`${summary.experiment_id}\` on ${cell(summary.target)}, ${summary.runs.length} run${summary.runs.length === 1 ? '' : 's'}${summary.baseline ? ' and a baseline run without the fault' : ''}; status **${summary.status}**.`, '');
  if (experiment.description) out.push(cell(experiment.description), '');
  out.push('## Verdict', '');
  if (a) {
    out.push(`- Steady state **${a.all_held ? 'held (or was restored) in every run' : 'was NOT held in every run'}**`);
    const refused = summary.runs.filter((r) => r.incident_id !== null && r.fault.injected_at === null);
    if (refused.length) out.push(`- Fault **not injected** in ${refused.length} of ${summary.runs.length} run${summary.runs.length === 1 ? '' : 's'}: nothing was tested there (why: under Runs)`);
    out.push(`- Resilience score: ${pct(a.resilience_score)} (weighted share of probe checks within tolerance)`);
    out.push(`- Detection rate: ${pct(a.detection_rate)}; diagnosis accuracy: ${pct(a.diagnosis_accuracy)}`);
    out.push(`- MTTD p50 / p95 / p99: ${secs(a.mttd_s.p50)} / ${secs(a.mttd_s.p95)} / ${secs(a.mttd_s.p99)}`);
    out.push(`- MTTR p50 / p95 / p99: ${secs(a.mttr_s.p50)} / ${secs(a.mttr_s.p95)} / ${secs(a.mttr_s.p99)}`);
    const sources = (pick: (r: RunFigures) => RunFigures['mttd_source']) => [...new Set(summary.runs.map(pick))].map(sourceText).join(', ');
    out.push(`- MTTD from ${sources((r) => r.mttd_source)}; MTTR from ${sources((r) => r.mttr_source)}`, '');
  } else {
    out.push('No run finished.', '');
  }
  if (summary.error) out.push(`> The experiment ${summary.status}: ${cell(summary.error)}`, '');
  if (summary.compared_to && a) {
    const b = summary.compared_to.aggregate;
    out.push(`## Compared with \`${summary.compared_to.experiment_id}\` (${cell(summary.compared_to.title)})`, '');
    out.push('| figure | earlier | this |', '|---|---|---|');
    out.push(`| MTTD p50 | ${secs(b?.mttd_s.p50 ?? null)} | ${secs(a.mttd_s.p50)} |`);
    out.push(`| MTTR p50 | ${secs(b?.mttr_s.p50 ?? null)} | ${secs(a.mttr_s.p50)} |`);
    out.push(`| detection rate | ${pct(b?.detection_rate ?? null)} | ${pct(a.detection_rate)} |`);
    out.push(`| diagnosis accuracy | ${pct(b?.diagnosis_accuracy ?? null)} | ${pct(a.diagnosis_accuracy)} |`);
    out.push(`| resilience score | ${pct(b?.resilience_score ?? null)} | ${pct(a.resilience_score)} |`, '');
  }

  out.push('## Runs', '');
  out.push('| run | incident | steady state before / during / after | MTTD | MTTR | diagnosis | held |');
  out.push('|---|---|---|---|---|---|---|');
  for (const r of allRuns(summary)) {
    const d = r.diagnosis;
    const diag = d
      ? `${cell(d.category ?? 'none')}${d.culprit ? ` (${cell(d.culprit)})` : ''}: ${d.matched ? 'matched' : `expected ${cell(d.expected_category ?? '?')}${d.expected_culprit ? ` / ${cell(d.expected_culprit)}` : ''}`}`
      : r.incident_id && !r.fault.injected_at
        ? 'fault not injected'
        : '–';
    out.push(`| ${runLabel(r)} | ${r.incident_id ? `\`${r.incident_id}\`` : '–'} | ${met(r, 'before')} / ${met(r, 'during')} / ${met(r, 'after')} | ${secs(r.mttd_s)} | ${secs(r.mttr_s)} | ${diag} | ${r.held ? 'yes' : '**no**'} |`);
  }
  if (allRuns(summary).some((r) => r.load)) {
    out.push('', '### Load during the fault, against before it', '');
    out.push('| run | throughput before → during | change | error rate change | latency shift p50 / p95 / p99 |');
    out.push('|---|---|---|---|---|');
    for (const r of allRuns(summary)) {
      const c = r.change;
      const rate = (f: LoadFigures | null | undefined) => (f ? `${f.throughput_rps}` : '–');
      out.push(
        `| ${runLabel(r)} | ${rate(r.load?.before)} → ${rate(r.load?.during)} req/s | ${c?.throughput_pct != null ? `${signed(c.throughput_pct)} %` : '–'} | ${c?.error_rate_pp != null ? `${signed(c.error_rate_pp)} pp` : '–'} | ${c ? `${ms(c.p50_shift_ms)} / ${ms(c.p95_shift_ms)} / ${ms(c.p99_shift_ms)}` : '–'} |`,
      );
    }
  }
  out.push('');
  for (const r of allRuns(summary)) {
    const notes = [
      ...(r.safeguard ? [`safeguard **${cell(r.safeguard.probe)}** aborted the run after ${r.safeguard.out_for_s} s out of tolerance: ${cell(r.safeguard.detail)}`] : []),
      ...(r.error ? [`error: ${cell(r.error)}`] : []),
      ...r.anomaly_windows.map((w) => `anomaly ${w.severity} ${w.start.slice(11, 19)}–${w.end.slice(11, 19)} UTC: ${cell(w.reason)}`),
    ];
    if (notes.length) out.push(`**${runLabel(r)}**`, '', ...notes.map((n) => `- ${n}`), '');
  }

  out.push('## Steady-state probes', '');
  out.push('| run | phase | probe | tolerance | result |', '|---|---|---|---|---|');
  for (const r of allRuns(summary)) {
    for (const phase of ['before', 'during', 'after'] as const) {
      for (const check of r.steady_state[phase].checks) out.push(`| ${runLabel(r)} | ${phase} | ${cell(check.probe)} | ${cell(check.tolerance)} | ${check.ok ? 'ok' : '**out**'}: ${cell(check.detail)} |`);
    }
  }
  out.push('');

  if (charts.length) {
    out.push('## Charts', '');
    for (const chart of charts) out.push(`![${cell(chart.title)}](${chart.file})`, '');
  }

  out.push('## Files', '');
  out.push('`summary.json` (everything above), `runs.csv` / `runs.json` (per-run figures), `load.csv` (every request: timestamp, latency_ms, ok, status, error), `junit.xml` (one test case per run and per probe), `experiment.yaml` (the experiment as run), `events.jsonl` (progress).', '');
  return out.join('\n');
}

/** Per-run figures as CSV: one line per run, baseline first. */
export function runsCsv(summary: ExperimentSummary): string {
  const header = [
    'run', 'kind', 'incident_id', 'held', 'before_met', 'during_met', 'after_met', 'throughput_before_rps', 'throughput_during_rps', 'throughput_change_pct',
    'error_rate_before', 'error_rate_during', 'p50_shift_ms', 'p95_shift_ms', 'p99_shift_ms', 'mttd_s', 'mttr_s', 'mttd_source', 'mttr_source', 'diagnosis', 'culprit', 'diagnosis_matched', 'safeguard',
  ];
  const q = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = allRuns(summary).map((r) =>
    [
      r.run, r.kind, r.incident_id, r.held, r.steady_state.before.met, r.steady_state.during.met, r.steady_state.after.met,
      r.load?.before?.throughput_rps, r.load?.during?.throughput_rps, r.change?.throughput_pct, r.load?.before?.error_rate, r.load?.during?.error_rate,
      r.change?.p50_shift_ms, r.change?.p95_shift_ms, r.change?.p99_shift_ms, r.mttd_s, r.mttr_s, r.mttd_source, r.mttr_source, r.diagnosis?.category, r.diagnosis?.culprit, r.diagnosis?.matched, r.safeguard?.probe,
    ].map(q).join(','),
  );
  return `${[header.join(','), ...lines].join('\n')}\n`;
}

export function allRuns(summary: ExperimentSummary): RunFigures[] {
  return [...(summary.baseline ? [summary.baseline] : []), ...summary.runs];
}

function runLabel(r: RunFigures): string {
  return r.kind === 'baseline' ? 'baseline' : `run ${r.run}`;
}

function met(r: RunFigures, phase: 'before' | 'during' | 'after'): string {
  const p = r.steady_state[phase];
  if (!p.checks.length) return '–';
  return p.met ? 'met' : '**deviated**';
}

function sourceText(s: RunFigures['mttd_source']): string {
  return s === 'incident_timings' ? "the incidents' timings" : s === 'trace' ? "the incidents' traces and metrics (fault injected → first anomalous sample; → revert + recovery)" : 'nowhere (not measured)';
}

const pct = (v: number | null) => (v === null ? 'n/a' : `${Math.round(v * 1000) / 10} %`);
const secs = (v: number | null) => (v === null ? 'n/a' : `${v} s`);
const ms = (v: number | null) => (v === null ? 'n/a' : `${signed(v)} ms`);
const signed = (v: number) => (v > 0 ? `+${v}` : String(v));
