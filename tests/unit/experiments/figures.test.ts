import type { IncidentRecord } from '../../../src/domain/index.js';
import { expectedCulprit, runFigures, type IncidentFacts, type RunObservation } from '../../../src/experiments/figures.js';
import { Experiment } from '../../../src/experiments/schema.js';
import type { LoadRecord } from '../../../src/load/schema.js';
import { check } from './run-fixture.js';

const experiment = Experiment.parse({
  title: 't',
  targets: ['sandbox'],
  steady_state: [{ name: 'api', type: 'http', url: 'http://10.213.7.2:8080/health', expect_status: 200 }],
  load: { url: 'http://10.213.7.2:8080/health', rps: 10 },
  method: [{ type: 'inject', scenario: 'service_kill' }, { type: 'wait', seconds: 5 }],
});

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

/** 10 requests a second for 60 s; refused from 20 s to 30 s. */
function records(): LoadRecord[] {
  return Array.from({ length: 600 }, (_, i) => {
    const down = i >= 200 && i < 300;
    return { timestamp: at(i / 10), latency_ms: down ? 1 : 10, ok: !down, status: down ? null : 200, error: down ? 'ECONNREFUSED' : null };
  });
}

function record(patch: Partial<IncidentRecord> = {}): IncidentRecord {
  return {
    id: 'inc-20261201-000000-abcdefghij',
    scenario: 'service_kill',
    target: { kind: 'ssh', name: 'sandbox', host: '10.213.7.2', port: 22, user: 'sre-demo' },
    options: {},
    status: 'completed',
    phase: 'done',
    created_at: at(10),
    updated_at: at(40),
    finished_at: at(40),
    agents: [],
    chaos: { state: 'reverted' },
    phase_ms: {},
    outcome: { category: 'service_down', culprit: 'victim-api', confidence: 0.9 },
    error: null,
    ...patch,
  };
}

function observation(facts: Partial<IncidentFacts> = {}, rec: Partial<IncidentRecord> = {}): RunObservation {
  return {
    run: 1,
    kind: 'experiment',
    started_at: at(0),
    finished_at: at(60),
    method_started_at: at(15),
    method_finished_at: at(25),
    checks: { before: [check('api', 'before', true)], during: [check('api', 'during', false)], after: [check('api', 'after', true)] },
    incidents: [
      {
        id: 'inc-20261201-000000-abcdefghij',
        scenario: 'service_kill',
        args: { service_name: 'victim-api' },
        done: Promise.resolve(record(rec)),
        facts: { record: record(rec), injected_at: at(20), reverted_at: at(30), time_to_detect_s: 1.24, recovery_s: 2, recovered: true, ...facts },
      },
    ],
    safeguard: null,
    error: null,
  };
}

describe('run figures', () => {
  it('when a fault was in place from injection to revert, then the load is split there and the change is the fault against before it', () => {
    const f = runFigures(observation(), records(), experiment);
    expect(f.load?.before).toMatchObject({ start: at(0), end: at(20), requests: 200, error_rate: 0 });
    expect(f.load?.during).toMatchObject({ start: at(20), end: at(30), requests: 100, ok: 0, error_rate: 1 });
    expect(f.load?.after).toMatchObject({ start: at(30), end: at(60), requests: 300, error_rate: 0 });
    expect(f.change).toMatchObject({ throughput_pct: -100, error_rate_pp: 100 });
    expect(f.anomaly_windows).toEqual([{ start: at(20), end: at(30), severity: 'high', reason: '100 % of requests failed' }]);
    expect(f.steady_state).toMatchObject({ before: { met: true }, during: { met: false }, after: { met: true } });
    expect(f.held).toBe(true);
  });

  it('when the incident keeps no timings, then MTTD is the first anomalous sample and MTTR the revert plus the recovery, both from its trace', () => {
    const f = runFigures(observation(), records(), experiment);
    expect(f).toMatchObject({ mttd_s: 1.2, mttr_s: 12, mttd_source: 'trace', mttr_source: 'trace' });
  });

  it('when the incident keeps its MTTD but not its MTTR, then each figure says where it came from', () => {
    const timings = { fault_started_at: at(20), fault_start_source: 'injected' as const, detected_at: at(21), diagnosed_at: at(25), approved_at: null, mitigated_at: null, recovered_at: null, mttd_s: 0.8, mttr_s: null, approval_wait_s: null };
    const f = runFigures(observation({}, { timings }), records(), experiment);
    expect(f).toMatchObject({ mttd_s: 0.8, mttd_source: 'incident_timings', mttr_s: 12, mttr_source: 'trace' });
  });

  it('when the diagnosis was healthy or the host did not recover, then MTTD or MTTR is null, not a guess', () => {
    const f = runFigures(observation({ recovered: false }, { outcome: { category: 'healthy', culprit: null, confidence: 0.9 } }), records(), experiment);
    expect(f).toMatchObject({ mttd_s: null, mttd_source: 'none', mttr_s: null, mttr_source: 'none' });
    expect(f.diagnosis).toMatchObject({ category: 'healthy', category_matched: false, matched: false, expected_category: 'service_down' });
  });

  it('when the culprit is another service, then the category matches but the diagnosis does not', () => {
    const f = runFigures(observation({}, { outcome: { category: 'service_down', culprit: 'postgresql', confidence: 0.8 } }), records(), experiment);
    expect(f.diagnosis).toMatchObject({ category_matched: true, culprit_matched: false, matched: false, expected_culprit: 'victim-api' });
  });

  it('when a baseline run injected nothing, then its method window stands for the fault window and it has no diagnosis', () => {
    const obs = { ...observation(), kind: 'baseline' as const, incidents: [] };
    const f = runFigures(obs, records(), experiment);
    expect(f).toMatchObject({ incident_id: null, diagnosis: null, mttd_source: 'none', fault: { injected_at: null } });
    expect(f.load?.during).toMatchObject({ start: at(15), end: at(25) });
  });

  it('when the host refused the fault (the script failed, nothing went in), then the run has no diagnosis to judge and its error says the fault was not injected and why', () => {
    const why = 'net_latency could not start: net_latency: the kernel has no netem qdisc (sch_netem); cannot inject latency on this host';
    const f = runFigures(observation({ injected_at: null, time_to_detect_s: null, recovered: null }, { status: 'failed', outcome: null, error: why }), records(), experiment);
    expect(f).toMatchObject({ diagnosis: null, mttd_s: null, held: false, fault: { injected_at: null } });
    expect(f.error).toBe(`fault not injected: incident inc-20261201-000000-abcdefghij failed: ${why}`);
  });

  it.each([
    ['disk_fill', { path: '/var/tmp/fill' }, '/var', true],
    ['disk_fill', { path: '/var/tmp/fill' }, '/srv', false],
    ['cpu_spike', {}, 'stress-ng-cpu', true],
    ['db_conn_exhaust', {}, 'report-batch', true],
    ['net_latency', { iface: 'eth1' }, 'eth0', false],
  ])('when %s %j is diagnosed with culprit %s, then the culprit matches: %s', (scenario, args, culprit, matches) => {
    expect(expectedCulprit(scenario, args)!.matches(culprit)).toBe(matches);
  });
});
