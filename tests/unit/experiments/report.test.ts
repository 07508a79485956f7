import { aggregate } from '../../../src/experiments/statistics.js';
import { experimentCharts, experimentMarkdown, runsCsv } from '../../../src/experiments/report.js';
import type { ExperimentSummary } from '../../../src/experiments/result-schema.js';
import { Experiment } from '../../../src/experiments/schema.js';
import type { LoadRecord } from '../../../src/load/schema.js';
import { runFixture } from './run-fixture.js';

const experiment = Experiment.parse({
  title: 'CPU spike under load',
  targets: ['sandbox'],
  steady_state: [{ name: 'api', type: 'http', url: 'http://10.213.7.2:8080/health', expect_status: 200 }],
  load: { url: 'http://10.213.7.2:8080/health', rps: 10 },
  method: [{ type: 'inject', scenario: 'cpu_spike' }, { type: 'wait', seconds: 5 }],
});

function records(): LoadRecord[] {
  const t0 = Date.parse('2026-12-01T00:00:00.000Z');
  return Array.from({ length: 600 }, (_, i) => {
    const failing = i >= 150 && i < 200;
    return { timestamp: new Date(t0 + i * 100).toISOString(), latency_ms: failing ? 900 : 12, ok: !failing, status: failing ? 503 : 200, error: failing ? 'http_503' : null };
  });
}

function summary(): ExperimentSummary {
  const loadFigures = { start: '', end: '', requests: 100, ok: 100, sent_rps: 10, throughput_rps: 10, error_rate: 0, p50_ms: 12, p95_ms: 12, p99_ms: 12 };
  const run = runFixture({
    load: { before: loadFigures, during: { ...loadFigures, ok: 50, throughput_rps: 5, error_rate: 0.5, p95_ms: 900 }, after: loadFigures },
    change: { throughput_pct: -50, error_rate_pp: 50, p50_shift_ms: 0, p95_shift_ms: 888, p99_shift_ms: 888 },
    anomaly_windows: [{ start: '2026-12-01T00:00:15.000Z', end: '2026-12-01T00:00:20.000Z', severity: 'high', reason: '100 % of requests failed' }],
  });
  const baseline = runFixture({ kind: 'baseline', incident_id: null, mttd_s: null, mttr_s: null, diagnosis: null, load: { before: loadFigures, during: loadFigures, after: loadFigures } });
  return {
    experiment_id: 'exp-20261201-000000-abcdefghij',
    title: 'CPU spike | under *load*',
    status: 'completed',
    progress: { run: 1, of: 1, kind: null, step: 'done' },
    created_at: '2026-12-01T00:00:00.000Z',
    finished_at: '2026-12-01T00:02:00.000Z',
    target: 'sandbox',
    scenario: 'cpu_spike',
    runs: [run],
    baseline,
    aggregate: aggregate([baseline, run]),
    incidents: ['inc-20261201-000000-abcdefghij'],
    error: null,
  };
}

describe('experiment report', () => {
  it('when an experiment with load and a baseline finished, then the charts show throughput with the anomaly shaded and baseline-vs-run bars', () => {
    const charts = experimentCharts(summary(), records());
    expect(charts.map((c) => c.file)).toEqual(['charts/throughput.svg', 'charts/latency.svg', 'charts/compare-throughput.svg', 'charts/compare-latency.svg', 'charts/compare-errors.svg', 'charts/mttd-mttr.svg']);
    const throughput = charts[0]!.svg;
    expect(throughput).toContain('<svg');
    expect(throughput).toMatch(/run 1 fault/);
    expect(throughput).toMatch(/1 anomaly window/);
    expect(throughput).toContain('fill="#ef4444" fill-opacity="0.22"');
    expect(charts[2]!.svg).toMatch(/baseline method/);
  });

  it('when the report is written, then it gives the verdict, the per-run table and links every chart, with host text escaped', () => {
    const s = summary();
    const charts = experimentCharts(s, records());
    const md = experimentMarkdown(s, experiment, charts);
    expect(md).toContain('# Experiment: CPU spike \\| under \\*load\\*');
    expect(md).toContain('Steady state **held (or was restored) in every run**');
    expect(md).toMatch(/\| run 1 \| `inc-20261201-000000-abcdefghij` \| met \/ met \/ met \| 4 s \| 30 s \| cpu\\_saturation \(stress-ng-cpu\): matched \| yes \|/);
    expect(md).toMatch(/\| run 1 \| 10 → 5 req\/s \| -50 % \| \+50 pp \| 0 ms \/ \+888 ms \/ \+888 ms \|/);
    for (const c of charts) expect(md).toContain(`](${c.file})`);
  });

  it('when the per-run figures are exported, then the CSV has one line per run, baseline first', () => {
    const lines = runsCsv(summary()).trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^run,kind,incident_id,held,/);
    expect(lines[1]).toMatch(/^1,baseline,,true,/);
    expect(lines[2]).toMatch(/^1,experiment,inc-20261201-000000-abcdefghij,true,true,true,true,10,5,-50,/);
  });
});
