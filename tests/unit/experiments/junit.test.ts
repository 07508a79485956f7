import { parse, type TestSuites } from 'junit2json';
import { junitXml } from '../../../src/experiments/junit.js';
import { check, runFixture } from './run-fixture.js';

describe('junit.xml of an experiment', () => {
  it('when runs held and one did not, then a real JUnit parser reads a suite per run, a case per run and per probe, and the failure says why', async () => {
    const held = runFixture({ run: 1 });
    const notRestored = runFixture({
      run: 2,
      held: false,
      steady_state: { ...runFixture().steady_state, after: { met: false, checks: [check('api', 'after', false, '3 of 3 requests not 200: 3× 503')] } },
    });
    const xml = junitXml({ title: 'CPU <spike> & "quotes"', experimentId: 'exp-20261201-000000-abcdefghij', runs: [held, notRestored] });
    const doc = (await parse(xml)) as TestSuites;
    expect(doc.name).toBe('CPU <spike> & "quotes"');
    expect(doc.tests).toBe(4);
    expect(doc.failures).toBe(2);
    expect(doc.testsuite).toHaveLength(2);
    const [first, second] = doc.testsuite!;
    expect(first!.testcase!.map((c) => c.name)).toEqual(['run 1: steady state held or restored', 'probe api']);
    expect(first!.testcase!.every((c) => c.failure === undefined)).toBe(true);
    expect(first!.properties).toEqual(expect.arrayContaining([{ name: 'incident_id', value: 'inc-20261201-000000-abcdefghij' }, { name: 'mttr_s', value: 30 }]));
    expect(second!.failures).toBe(2);
    expect(second!.testcase![0]!.failure![0]!.message).toBe('the steady state was not restored after the fault');
    expect(second!.testcase![1]!.failure![0]!.message).toBe('after: 3 of 3 requests not 200: 3× 503 (tolerance status 200)');
  });

  it('when a safeguard aborted a run, then its run case and its probe case fail as safeguard', async () => {
    const run = runFixture({
      held: false,
      safeguard: { probe: 'api', at: '2026-12-01T00:00:20.000Z', out_for_s: 3.2, detail: 'status 503' },
      steady_state: { ...runFixture().steady_state, during: { met: false, checks: [check('api', 'during', false)] } },
    });
    const doc = (await parse(junitXml({ title: 't', experimentId: 'exp-20261201-000000-abcdefghij', runs: [run] }))) as TestSuites;
    const cases = doc.testsuite![0]!.testcase!;
    expect(cases[0]!.failure![0]).toMatchObject({ type: 'safeguard', message: 'safeguard aborted the run: api out of tolerance for 3.2 s (status 503)' });
    expect(cases[1]!.failure![0]).toMatchObject({ type: 'safeguard' });
  });
});
