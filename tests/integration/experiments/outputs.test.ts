/**
 * An experiment's outputs written through the store with the real renderer: the PDF from the
 * system Chromium (its text read back with poppler's pdftotext, chart titles included), the
 * junit.xml read back by junit2json, load.csv and the exports. No host is touched.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, type TestSuites } from 'junit2json';
import { writeOutputs } from '../../../src/experiments/outputs.js';
import { createLogger } from '../../../src/logger.js';
import { findChromium } from '../../../src/report/render/index.js';
import { createReportServices } from '../../../src/report/report-services.js';
import { ExperimentStore } from '../../../src/store/experiment-store.js';
import { tempDir } from '../../fixtures/paths.js';
import { finishedExperiment as experiment, finishedRecords as records, finishedSummary as summary } from '../../fixtures/experiment-summary.js';

const run = promisify(execFile);
const chromium = findChromium();
const describeWithChromium = chromium ? describe : describe.skip;
if (!chromium) console.warn('Chromium not found: experiment PDF test skipped (apt-get install chromium)');

describeWithChromium('experiment outputs with the real renderer', () => {
  it('when the outputs are written, then the PDF shows the report and its charts, and junit.xml, load.csv and the exports read back', async () => {
    const { dir, cleanup } = await tempDir('experiment-outputs');
    const report = createReportServices({ pdf: true, browserProfileRoot: path.join(dir, '.chromium'), log: createLogger('silent') });
    try {
      const store = new ExperimentStore(path.join(dir, 'experiments'));
      const s = summary();
      await store.create(s);
      const written = await writeOutputs(s, experiment, records(), store, report.services);
      expect(written.pdf).toEqual({ state: 'rendered' });
      expect(written.files).toEqual(expect.arrayContaining(['load.csv', 'runs.csv', 'runs.json', 'junit.xml', 'report.md', 'report.pdf', 'charts/throughput.svg', 'charts/compare-throughput.svg', 'charts/mttd-mttr.svg']));

      const folder = store.dir(s.experiment_id);
      const pdf = await readFile(path.join(folder, 'report.pdf'));
      expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      const { stdout: text } = await run('pdftotext', ['-layout', path.join(folder, 'report.pdf'), '-'], { maxBuffer: 16 * 1024 * 1024 });
      expect(text).toContain('Experiment: Service kill under load');
      // The charts are drawn into the PDF: their titles and legends are text in it.
      expect(text).toContain('Throughput over time (anomaly windows shaded)');
      expect(text).toContain('Successful responses per second: baseline vs runs');
      expect(text).toContain('Time to detect and to recover, per run');

      const junit = (await parse(await readFile(path.join(folder, 'junit.xml'), 'utf8'))) as TestSuites;
      expect(junit.testsuite!.map((t) => t.name)).toEqual(['baseline (no fault)', 'run 1', 'run 2']);
      expect(junit.failures).toBe(0);

      const csv = (await readFile(path.join(folder, 'load.csv'), 'utf8')).trim().split('\n');
      expect(csv[0]).toBe('timestamp,latency_ms,ok,status,error');
      expect(csv).toHaveLength(601);
      expect(csv[151]).toBe('2026-12-01T00:00:15.000Z,2,false,,ECONNREFUSED');
      const exported = JSON.parse(await readFile(path.join(folder, 'runs.json'), 'utf8')) as { runs: unknown[]; aggregate: { mttr_s: { p50: number } } };
      expect(exported.runs).toHaveLength(3);
      expect(exported.aggregate.mttr_s.p50).toBe(21.5);
    } finally {
      await report.close();
      await cleanup();
    }
  }, 60_000);
});
