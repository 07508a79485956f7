import type { ProbeCheck, RunFigures } from '../../../src/experiments/result-schema.js';

/** A probe check as the runner records it. */
export function check(probe: string, phase: ProbeCheck['phase'], ok: boolean, detail = ok ? 'status 200' : 'status 503'): ProbeCheck {
  return { probe, kind: 'http', phase, ok, value: ok ? 200 : 503, tolerance: 'status 200', detail, weight: 1, at: '2026-12-01T00:00:10.000Z' };
}

/** A finished run whose steady state held, with its figures; `patch` changes what a test is about. */
export function runFixture(patch: Partial<RunFigures> = {}): RunFigures {
  return {
    run: 1,
    kind: 'experiment',
    incident_id: 'inc-20261201-000000-abcdefghij',
    incident_status: 'completed',
    started_at: '2026-12-01T00:00:00.000Z',
    finished_at: '2026-12-01T00:01:00.000Z',
    fault: { injected_at: '2026-12-01T00:00:10.000Z', reverted_at: '2026-12-01T00:00:30.000Z', detail: 'cpu_spike {}' },
    steady_state: {
      before: { met: true, checks: [check('api', 'before', true)] },
      during: { met: true, checks: [check('api', 'during', true)] },
      after: { met: true, checks: [check('api', 'after', true)] },
    },
    load: null,
    change: null,
    anomaly_windows: [],
    mttd_s: 4,
    mttr_s: 30,
    mttd_source: 'trace',
    mttr_source: 'trace',
    diagnosis: { expected_category: 'cpu_saturation', category: 'cpu_saturation', category_matched: true, expected_culprit: 'stress-ng or awk', culprit: 'stress-ng-cpu', culprit_matched: true, matched: true, confidence: 0.9 },
    safeguard: null,
    held: true,
    error: null,
    ...patch,
  };
}
