import { aggregate, loadAnomalyWindows, loadChange, loadFigures, perSecond, quantile, resilienceScore, runHeld, type LoadSample } from '../../../src/experiments/statistics.js';
import { check, runFixture } from './run-fixture.js';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');

/** `rps` requests a second for `seconds`, each answered in `latency` ms, `ok` or not. */
function steady(fromS: number, seconds: number, rps: number, latency: number, ok = true): LoadSample[] {
  return Array.from({ length: seconds * rps }, (_, i) => ({ t: T0 + fromS * 1000 + (i * 1000) / rps, latency_ms: latency, ok }));
}

describe('experiment statistics', () => {
  it('when quantiles are asked of a few values, then they interpolate linearly and none gives null', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10], 0.99)).toBe(10);
    expect(quantile([], 0.5)).toBeNull();
  });

  it('when the load is windowed, then each window has its rate, throughput, error rate and percentiles', () => {
    const samples = [...steady(0, 10, 20, 10), ...steady(10, 10, 20, 200, false)];
    const before = loadFigures(samples, T0, T0 + 10_000)!;
    const during = loadFigures(samples, T0 + 10_000, T0 + 20_000)!;
    expect(before).toMatchObject({ requests: 200, ok: 200, sent_rps: 20, throughput_rps: 20, error_rate: 0, p50_ms: 10 });
    expect(during).toMatchObject({ requests: 200, ok: 0, throughput_rps: 0, error_rate: 1, p95_ms: 200 });
    expect(loadChange(before, during)).toEqual({ throughput_pct: -100, error_rate_pp: 100, p50_shift_ms: 190, p95_shift_ms: 190, p99_shift_ms: 190 });
  });

  it('when the service fails for a few seconds, then one anomaly window covers exactly those seconds', () => {
    const samples = [...steady(0, 5, 10, 10), ...steady(5, 3, 10, 10, false), ...steady(8, 4, 10, 10)];
    const steadyFigures = loadFigures(samples, T0, T0 + 5000);
    const windows = loadAnomalyWindows(perSecond(samples), steadyFigures);
    expect(windows).toEqual([{ start: '2026-12-01T00:00:05.000Z', end: '2026-12-01T00:00:08.000Z', severity: 'high', reason: '100 % of requests failed' }]);
  });

  it('when latency triples without errors, then the window is medium and says by how much', () => {
    const samples = [...steady(0, 5, 10, 20), ...steady(5, 2, 10, 300), ...steady(7, 3, 10, 20)];
    const windows = loadAnomalyWindows(perSecond(samples), loadFigures(samples, T0, T0 + 5000));
    expect(windows).toHaveLength(1);
    expect(windows[0]).toMatchObject({ severity: 'medium', start: '2026-12-01T00:00:05.000Z', end: '2026-12-01T00:00:07.000Z' });
    expect(windows[0]!.reason).toMatch(/p95 latency 300 ms against 20 ms steady/);
  });

  it('when a probe deviated only during the fault, then the run held; a safeguard or a steady state not restored did not', () => {
    const during = { met: false, checks: [check('api', 'during', false)] };
    expect(runHeld(runFixture({ steady_state: { ...runFixture().steady_state, during } }))).toBe(true);
    expect(runHeld(runFixture({ safeguard: { probe: 'api', at: '2026-12-01T00:00:20.000Z', out_for_s: 3, detail: 'status 503' } }))).toBe(false);
    expect(runHeld(runFixture({ steady_state: { ...runFixture().steady_state, after: { met: false, checks: [check('api', 'after', false)] } } }))).toBe(false);
  });

  it('when probes carry weights, then the resilience score is the weighted share that held', () => {
    expect(resilienceScore([{ ok: true, weight: 3 }, { ok: false, weight: 1 }])).toBe(0.75);
    expect(resilienceScore([])).toBeNull();
  });

  it('when three runs are aggregated, then MTTD and MTTR percentiles, detection, accuracy and the score come from the faulted runs only', () => {
    const runs = [
      runFixture({ run: 1, mttd_s: 2, mttr_s: 20 }),
      runFixture({ run: 2, mttd_s: 4, mttr_s: 40 }),
      runFixture({
        run: 3,
        mttd_s: null,
        mttr_s: 60,
        diagnosis: { ...runFixture().diagnosis!, category: 'healthy', category_matched: false, matched: false },
        steady_state: { ...runFixture().steady_state, during: { met: false, checks: [check('api', 'during', false)] } },
      }),
      runFixture({ run: 1, kind: 'baseline', incident_id: null, mttd_s: null, mttr_s: null, diagnosis: null }),
    ];
    const a = aggregate(runs);
    expect(a.runs).toBe(3);
    expect(a.mttd_s).toEqual({ p50: 3, p95: 3.9, p99: 3.98 });
    expect(a.mttr_s).toEqual({ p50: 40, p95: 58, p99: 59.6 });
    expect(a.detection_rate).toBe(0.6667);
    expect(a.diagnosis_accuracy).toBe(0.6667);
    expect(a.resilience_score).toBe(0.8889);
    expect(a.all_held).toBe(true);
  });

  it('when the fault did not go in for some runs, then detection and accuracy count only the runs with a fault to diagnose, and none is n/a', () => {
    const refused = runFixture({ run: 2, held: false, diagnosis: null, mttd_s: null, mttr_s: null, fault: { injected_at: null, reverted_at: null, detail: 'net_latency {}' }, error: 'fault not injected: …' });
    const a = aggregate([runFixture({ run: 1 }), refused]);
    expect(a).toMatchObject({ runs: 2, detection_rate: 1, diagnosis_accuracy: 1, all_held: false });
    expect(aggregate([refused, { ...refused, run: 3 }])).toMatchObject({ detection_rate: null, diagnosis_accuracy: null, all_held: false });
  });
});
