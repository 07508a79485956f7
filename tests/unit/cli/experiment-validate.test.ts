import { describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runExperimentValidate } from '../../../src/cli/experiment-validate.js';
import { runCli } from '../../../src/cli/run-cli.js';
import { REPO_ROOT, tempDir } from '../../fixtures/paths.js';

function sink() {
  let text = '';
  return { write: (s: string) => (text += s), get text() { return text; } };
}

describe('chaos-handler experiment validate', () => {
  it('when the file is valid, then it exits 0 with a one-line summary', async () => {
    const out = sink();
    const err = sink();
    const code = await runExperimentValidate([path.join(REPO_ROOT, 'examples/experiments/cpu_spike.yaml')], out, err);
    expect([code, err.text]).toEqual([0, '']);
    expect(out.text).toMatch(/cpu_spike\.yaml: valid: "CPU spike under steady load" on sandbox; 2 probe\(s\), 4 step\(s\) injecting cpu_spike; load 20\/s; 1 safeguard\(s\); 3 run\(s\), compared to baseline\n$/);
  });

  it('when the file has problems, then it exits 2 and prints each as file:line:column: path: message', async () => {
    const { dir, cleanup } = await tempDir('exp-validate');
    try {
      const file = path.join(dir, 'bad.yaml');
      await writeFile(file, 'title: t\ntargets: [sandbox]\nsteady_state:\n  - name: a\n    type: http\n    url: http://10.213.7.2:8080/\n    expect_status: 200\nmethod:\n  - type: inject\n    scenario: cpu_spike\n    args: { load: 0 }\nruns: -1\n');
      const out = sink();
      const err = sink();
      expect(await runExperimentValidate([file], out, err)).toBe(2);
      expect(err.text).toContain(`${file}:11:19: method[0].args.load: `);
      expect(err.text).toContain(`${file}:12:7: runs: `);
      expect(err.text).toMatch(/not a valid experiment \(2 problems\)\n$/);
      expect(out.text).toBe('');

      const json = sink();
      expect(await runExperimentValidate([file, '--json'], json, sink())).toBe(2);
      expect(JSON.parse(json.text)).toMatchObject({ valid: false, errors: [{ path: 'method[0].args.load', line: 11, column: 19 }, { path: 'runs', line: 12 }] });
    } finally {
      await cleanup();
    }
  });

  it('when the file is missing or no file is named, then it exits 2 saying so', async () => {
    const err = sink();
    expect(await runExperimentValidate(['/nonexistent/x.yaml'], sink(), err)).toBe(2);
    expect(err.text).toMatch(/^\/nonexistent\/x\.yaml: cannot read the file: no such file\n/);
    const usage = sink();
    expect(await runExperimentValidate([], sink(), usage)).toBe(2);
    expect(usage.text).toMatch(/name one experiment file\nusage: /);
  });

  it('when called through the chaos-handler command, then the verb is wired and every example validates', async () => {
    for (const name of ['cpu_spike', 'memory_leak', 'disk_fill', 'net_latency', 'service_kill', 'db_conn_exhaust']) {
      const out = sink();
      const code = await runCli(['experiment', 'validate', path.join(REPO_ROOT, `examples/experiments/${name}.yaml`)], {}, out, sink());
      expect([name, code]).toEqual([name, 0]);
      expect(out.text).toContain(`injecting ${name}`);
    }
  });
});
