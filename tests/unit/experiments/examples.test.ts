import { describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { validateExperiment } from '../../../src/experiments/parse.js';
import { SCENARIOS } from '../../../src/domain/index.js';
import { REPO_ROOT } from '../../fixtures/paths.js';

const DIR = path.join(REPO_ROOT, 'examples/experiments');

describe('examples/experiments', () => {
  it('when every example is validated, then each is valid, names the sandbox and keeps its windows short', async () => {
    const files = (await readdir(DIR)).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      const result = validateExperiment(await readFile(path.join(DIR, file), 'utf8'));
      if (!result.ok) throw new Error(`${file}: ${JSON.stringify(result.errors)}`);
      const e = result.experiment;
      expect([file, e.targets]).toEqual([file, ['sandbox']]);
      const waited = e.method.reduce((s, step) => s + (step.type === 'wait' ? step.seconds : 0), 0);
      expect([file, waited <= 15]).toEqual([file, true]);
      expect([file, e.runs]).toEqual([file, 3]);
    }
  });

  it('when the examples are listed, then there is one per fault scenario, named after it and injecting it', async () => {
    for (const scenario of SCENARIOS.filter((s) => s !== 'investigate')) {
      const result = validateExperiment(await readFile(path.join(DIR, `${scenario}.yaml`), 'utf8'));
      expect(result.ok && result.experiment.method.some((s) => s.type === 'inject' && s.scenario === scenario)).toBe(true);
    }
  });

  it('when the net_latency example is read, then it says the kernel needs netem', async () => {
    expect(await readFile(path.join(DIR, 'net_latency.yaml'), 'utf8')).toMatch(/NEEDS netem[\s\S]*sch_netem/);
  });
});
