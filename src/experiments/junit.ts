/**
 * `junit.xml`: what a CI job gates on. One test suite per run, holding one test case for the run
 * (its steady state held, or was restored) and one per steady-state probe (inside its tolerance
 * before and after the fault; a deviation during the fault is reported, not failed, unless a
 * safeguard had to abort on it). Built with xmlbuilder2: every string is escaped by the builder.
 */
import { create } from 'xmlbuilder2';
import type { ProbeCheck, RunFigures } from './result-schema.js';

export type JunitInput = { title: string; experimentId: string; runs: readonly RunFigures[] };

export function junitXml(input: JunitInput): string {
  const suites = input.runs.map((run) => suiteOf(run));
  const total = suites.reduce((n, s) => n + s.cases.length, 0);
  const failures = suites.reduce((n, s) => n + s.cases.filter((c) => c.failure).length, 0);
  const seconds = suites.reduce((n, s) => n + s.seconds, 0);
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', {
    name: input.title,
    tests: String(total),
    failures: String(failures),
    errors: '0',
    time: seconds.toFixed(3),
  });
  suites.forEach((suite, index) => {
    const el = root.ele('testsuite', {
      name: suite.name,
      id: String(index),
      tests: String(suite.cases.length),
      failures: String(suite.cases.filter((c) => c.failure).length),
      errors: '0',
      skipped: '0',
      time: suite.seconds.toFixed(3),
      timestamp: suite.timestamp,
    });
    const props = el.ele('properties');
    props.ele('property', { name: 'experiment_id', value: input.experimentId });
    for (const [name, value] of suite.properties) props.ele('property', { name, value });
    for (const c of suite.cases) {
      const tc = el.ele('testcase', { classname: suite.classname, name: c.name, time: c.seconds.toFixed(3) });
      if (c.failure) tc.ele('failure', { message: c.failure.message, type: c.failure.type }).txt(c.failure.detail);
      if (c.out) tc.ele('system-out').txt(c.out);
    }
  });
  return root.end({ prettyPrint: true });
}

type Case = { name: string; seconds: number; failure: { message: string; type: string; detail: string } | null; out: string };
type Suite = { name: string; classname: string; timestamp: string; seconds: number; properties: [string, string][]; cases: Case[] };

function suiteOf(run: RunFigures): Suite {
  const label = run.kind === 'baseline' ? 'baseline (no fault)' : `run ${run.run}`;
  const seconds = Math.max(0, (Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000);
  const checks = [...run.steady_state.before.checks, ...run.steady_state.during.checks, ...run.steady_state.after.checks];
  const probes = [...new Set(checks.map((c) => c.probe))];
  const cases: Case[] = [runCase(run, label, seconds), ...probes.map((probe) => probeCase(run, probe, checks.filter((c) => c.probe === probe)))];
  return {
    name: `${label}`,
    classname: `experiment.${run.kind}.run${run.run}`,
    timestamp: run.started_at.replace(/\.\d+Z$/, ''),
    seconds,
    properties: [
      ['kind', run.kind],
      ...(run.incident_id ? ([['incident_id', run.incident_id]] as [string, string][]) : []),
      ...(run.mttd_s !== null ? ([['mttd_s', String(run.mttd_s)]] as [string, string][]) : []),
      ...(run.mttr_s !== null ? ([['mttr_s', String(run.mttr_s)]] as [string, string][]) : []),
    ],
    cases,
  };
}

function runCase(run: RunFigures, label: string, seconds: number): Case {
  const name = `${label}: steady state held or restored`;
  const phases = (['before', 'during', 'after'] as const).map((p) => `${p}: ${run.steady_state[p].met ? 'met' : 'deviated'}`).join(', ');
  const diagnosis = run.diagnosis
    ? `diagnosis ${run.diagnosis.category ?? 'none'} (expected ${run.diagnosis.expected_category ?? 'any'}), culprit ${run.diagnosis.culprit ?? 'none'}${run.diagnosis.matched ? ', matched' : ', not matched'}`
    : 'no diagnosis';
  const out = [phases, diagnosis, `MTTD ${run.mttd_s ?? 'n/a'} s, MTTR ${run.mttr_s ?? 'n/a'} s`].join('\n');
  if (run.held) return { name, seconds, failure: null, out };
  const why = run.error
    ? `the run failed: ${run.error}`
    : run.safeguard
      ? `safeguard aborted the run: ${run.safeguard.probe} out of tolerance for ${run.safeguard.out_for_s} s (${run.safeguard.detail})`
      : !run.steady_state.before.met
        ? 'the steady state was not met before the fault'
        : 'the steady state was not restored after the fault';
  return { name, seconds, failure: { message: why, type: run.error ? 'run_error' : run.safeguard ? 'safeguard' : 'steady_state', detail: out }, out };
}

function probeCase(run: RunFigures, probe: string, checks: ProbeCheck[]): Case {
  const failed = checks.filter((c) => !c.ok && c.phase !== 'during');
  const tripped = run.safeguard?.probe === probe;
  const out = checks.map((c) => `${c.phase}: ${c.ok ? 'ok' : 'out of tolerance'}: ${c.detail} (tolerance ${c.tolerance})`).join('\n');
  const name = `probe ${probe}`;
  if (!failed.length && !tripped) return { name, seconds: 0, failure: null, out };
  const first = failed[0];
  const message = first ? `${first.phase}: ${first.detail} (tolerance ${first.tolerance})` : `safeguard: out of tolerance for ${run.safeguard!.out_for_s} s: ${run.safeguard!.detail}`;
  return { name, seconds: 0, failure: { message, type: first ? 'tolerance' : 'safeguard', detail: out }, out };
}
