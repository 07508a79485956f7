import { describe, expect, it } from '@jest/globals';
import { InputError } from '../../../src/errors.js';
import { formatIssue, parseExperiment, validateExperiment, validateExperimentValue } from '../../../src/experiments/parse.js';
import { INJECT_ARG_KEYS } from '../../../src/experiments/schema.js';
import { ScenarioOptions } from '../../../src/incidents/schema.js';

const VALID = `title: CPU spike under load
targets: [sandbox]
steady_state:
  - name: items-ok
    type: http
    url: http://10.213.7.2:8080/items
    expect_status: 200
    latency_ms: { p: 95, max: 500 }
  - name: cpu-bounded
    type: metric
    metric: cpu.busy_pct
    max: 95
load:
  url: http://10.213.7.2:8080/items
  rps: 20
method:
  - type: inject
    scenario: cpu_spike
    args: { duration: 10, load: 2 }
  - type: wait
    seconds: 5
  - type: probe
    name: items-ok
safeguards:
  - probe: items-ok
    leave_for_s: 5
runs: 3
`;

function errorsOf(text: string) {
  const result = validateExperiment(text);
  if (result.ok) throw new Error('expected the experiment to be refused');
  return result.errors;
}

describe('validateExperiment', () => {
  it('when the file is valid, then defaults are filled in and the scenario args are typed', () => {
    const result = validateExperiment(VALID);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const e = result.experiment;
    expect(e.remediation).toBe('none');
    expect(e.runs).toBe(3);
    expect(e.settle_s).toBe(10);
    expect(e.rollbacks).toEqual([]);
    const http = e.steady_state[0];
    expect(http?.type === 'http' && http.method).toBe('GET');
    const inject = e.method[0];
    expect(inject?.type === 'inject' && inject.scenario === 'cpu_spike' && inject.args).toEqual({ duration: 10, load: 2, max_runtime_s: 300 });
    expect(e.load?.timeout_ms).toBe(2000);
  });

  it('when a value is out of range, then the error names its YAML path, line and column', () => {
    const errors = errorsOf(VALID.replace('{ p: 95, max: 500 }', '{ p: 90, max: 500 }'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: 'steady_state[0].latency_ms.p', line: 8, column: 22 });
    expect(formatIssue('cpu.yaml', errors[0]!)).toMatch(/^cpu\.yaml:8:22: steady_state\[0\]\.latency_ms\.p: /);
  });

  it('when a key is misspelt, then the error points at the key itself', () => {
    const errors = errorsOf(VALID.replace('    seconds: 5', '    secnds: 5'));
    expect(errors.map((e) => [e.path, e.line, e.column])).toEqual(
      expect.arrayContaining([
        ['method[1].secnds', 21, 5],
        ['method[1].seconds', 20, 5],
      ]),
    );
    expect(errors.find((e) => e.path === 'method[1].secnds')?.message).toMatch(/not a known field/);
  });

  it('when a scenario arg is wrong, then the error names the arg under the inject step', () => {
    const errors = errorsOf(VALID.replace('{ duration: 10, load: 2 }', '{ duration: 10, load: 500 }'));
    expect(errors[0]).toMatchObject({ path: 'method[0].args.load', line: 19 });
  });

  it('when an incident window option is given as a scenario arg, then it is refused: the experiment owns its windows', () => {
    const errors = errorsOf(VALID.replace('{ duration: 10, load: 2 }', '{ duration: 10, observe_s: 2 }'));
    expect(errors[0]).toMatchObject({ path: 'method[0].args.observe_s', line: 19 });
  });

  it('when a required field is missing, then the error sits on the object that lacks it', () => {
    const errors = errorsOf(VALID.replace('    expect_status: 200\n', ''));
    expect(errors[0]).toMatchObject({ path: 'steady_state[0].expect_status', line: 4, column: 5 });
  });

  it('when a probe type is unknown, then the error says which types exist', () => {
    const errors = errorsOf(VALID.replace('type: metric', 'type: metrics'));
    expect(errors[0]?.path).toBe('steady_state[1].type');
    expect(errors[0]?.line).toBe(10);
  });

  it('when a safeguard or probe step names no declared probe, then it is refused there', () => {
    const errors = errorsOf(VALID.replace('  - probe: items-ok', '  - probe: nope').replace('    name: items-ok\nsafe', '    name: gone\nsafe'));
    expect(errors.map((e) => [e.path, e.line])).toEqual([
      ['method[2].name', 23],
      ['safeguards[0].probe', 25],
    ]);
  });

  it('when several targets are declared, then inject steps and host probes must name theirs', () => {
    const errors = errorsOf(VALID.replace('targets: [sandbox]', 'targets: [sandbox, other]'));
    expect(errors.map((e) => e.path)).toEqual(['steady_state[1]', 'method[0]']);
    expect(errors[0]?.message).toMatch(/several/);
  });

  it('when a target is not one of the experiment\'s, then it is named', () => {
    const errors = errorsOf(VALID.replace('    scenario: cpu_spike', '    scenario: cpu_spike\n    target: elsewhere'));
    expect(errors[0]).toMatchObject({ path: 'method[0].target', line: 19 });
    expect(errors[0]?.message).toMatch(/"elsewhere" is not one of/);
  });

  it('when the method injects nothing, then it is refused: an experiment without a fault measures nothing', () => {
    const errors = errorsOf(VALID.replace(/ {2}- type: inject\n.*\n.*\n/, ''));
    expect(errors[0]?.path).toBe('method');
    expect(errors[0]?.message).toMatch(/inject/);
  });

  it('when a SQL probe writes or chains statements, then it is refused', () => {
    const sql = (query: string) => `${VALID.replace('steady_state:\n', `steady_state:\n  - name: db\n    type: sql\n    db: postgresql://victim@127.0.0.1:5432/victim\n    query: "${query}"\n    expect: { rows_min: 1 }\n`)}`;
    expect(validateExperiment(sql('SELECT count(*) FROM items')).ok).toBe(true);
    expect(errorsOf(sql('DELETE FROM items'))[0]).toMatchObject({ path: 'steady_state[0].query', line: 7 });
    expect(errorsOf(sql('SELECT 1; DROP TABLE items'))[0]?.message).toMatch(/single statement/);
  });

  it('when a SQL connection string carries a password, then it is refused', () => {
    const text = VALID.replace('steady_state:\n', 'steady_state:\n  - name: db\n    type: sql\n    db: postgresql://victim:secret@127.0.0.1/victim\n    query: SELECT 1\n    expect: { equals: 1 }\n');
    expect(errorsOf(text)[0]?.message).toMatch(/password/);
  });

  it('when a metric probe has no bound, then it is refused', () => {
    const errors = errorsOf(VALID.replace('    max: 95\n', ''));
    expect(errors[0]?.path).toBe('steady_state[1].max');
    expect(errors[0]?.message).toMatch(/bound/);
  });

  it('when the YAML itself is broken, then the syntax error carries its line', () => {
    const errors = errorsOf('title: x\ntargets: [sandbox\nmethod: []\n');
    expect(errors[0]?.message).toMatch(/^not valid YAML/);
    expect(errors[0]?.line).toBeGreaterThanOrEqual(2);
  });

  it('when a key is repeated, then the duplicate is refused, not silently overwritten', () => {
    expect(errorsOf(`${VALID}runs: 5\n`)[0]?.message).toMatch(/not valid YAML.*[Uu]nique|not valid YAML.*duplicate/i);
  });

  it('when the document is empty, then the error says an experiment is expected', () => {
    expect(errorsOf('')[0]).toMatchObject({ path: '', line: 1, column: 1 });
  });

  it('when the file is huge, then it is refused before parsing', () => {
    expect(errorsOf(`# ${'x'.repeat(300_000)}\n`)[0]?.message).toMatch(/larger than/);
  });

  it('when an alias bomb is read, then it is refused', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) bomb.push(`${'b'.repeat(i)}: &${'a'.repeat(i + 1)} [${Array(10).fill(`*${'a'.repeat(i)}`).join(', ')}]`);
    expect(errorsOf(bomb.join('\n'))[0]?.message).toMatch(/not a usable YAML document/);
  });
});

describe('parseExperiment', () => {
  it('when the file is invalid, then an InputError lists every problem as file:line:column', () => {
    const text = VALID.replace('rps: 20', 'rps: 0').replace('runs: 3', 'runs: 0');
    expect(() => parseExperiment(text, 'x.yaml')).toThrow(InputError);
    try {
      parseExperiment(text, 'x.yaml');
    } catch (error) {
      expect((error as InputError).message).toMatch(/x\.yaml:15:8: load\.rps: [^\n]+\n\s+x\.yaml:27:7: runs: /);
      expect((error as InputError).field).toBe('load.rps');
    }
  });
});

describe('validateExperimentValue', () => {
  it('when a JSON body is wrong, then the issues name the path without a line', () => {
    const result = validateExperimentValue({ title: 't', targets: ['sandbox'], steady_state: [], method: [] });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toEqual({ path: 'steady_state', line: null, column: null, message: expect.any(String) });
  });
});

describe('INJECT_ARG_KEYS', () => {
  it('when compared with the scenarios\' options, then each lists exactly the scenario\'s own arguments and its failsafe', () => {
    const common = new Set(Object.keys(ScenarioOptions.investigate.shape));
    for (const [scenario, keys] of Object.entries(INJECT_ARG_KEYS)) {
      const own = Object.keys(ScenarioOptions[scenario as keyof typeof INJECT_ARG_KEYS].shape).filter((k) => !common.has(k));
      expect([scenario, Object.keys(keys).sort()]).toEqual([scenario, [...own, 'max_runtime_s'].sort()]);
    }
  });
});
