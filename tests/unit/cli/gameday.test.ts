import { describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../../../src/cli/run-cli.js';
import { REPO_ROOT, tempDir } from '../../fixtures/paths.js';

function sink() {
  let text = '';
  return { write: (s: string) => (text += s), get text() { return text; } };
}

describe('chaos-handler gameday', () => {
  it('when the example game day is validated, then it exits 0 and sums it up', async () => {
    const out = sink();
    const err = sink();
    const code = await runCli(['gameday', 'validate', path.join(REPO_ROOT, 'examples/gamedays/rehearsal.yaml')], {}, out, err);
    expect([code, err.text]).toEqual([0, '']);
    expect(out.text).toMatch(/rehearsal\.yaml: valid: "Sandbox rehearsal", 2 stage\(s\), 3 experiment\(s\) over 3600 s\n$/);
  });

  it('when a stage holds the wrong kind of experiment, then validate exits 2 naming it, before anything runs', async () => {
    const { dir, cleanup } = await tempDir('gameday-cli');
    try {
      const file = path.join(dir, 'day.yaml');
      await writeFile(file, `title: d\nwindow: { duration: 1h }\ncurriculum:\n  - name: two at once\n    kind: single\n    experiments: [{ experiment: ${path.join(REPO_ROOT, 'examples/gamedays/compound_cpu_disk.yaml')} }]\n`);
      const err = sink();
      expect(await runCli(['gameday', 'run', file], {}, sink(), err)).toBe(2);
      expect(err.text).toMatch(/curriculum\[0\]\.experiments\[0\] \(Disk filling while the CPUs are pinned\): a single-fault stage takes experiments that inject one fault; this one injects 2/);
    } finally {
      await cleanup();
    }
  });

  it('when the verb is unknown, then it exits 2 with the usage', async () => {
    const err = sink();
    expect(await runCli(['gameday', 'play', 'x.yaml'], {}, sink(), err)).toBe(2);
    expect(err.text).toMatch(/unknown verb "play"[\s\S]*Usage: chaos-handler gameday run/);
  });
});
