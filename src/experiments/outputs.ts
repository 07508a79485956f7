/**
 * The files an experiment leaves in `experiments/<id>/`, all through the store (atomic writes):
 * load.csv, runs.csv and runs.json (per-run figures), junit.xml, the charts, report.md and, when a
 * browser is there, report.pdf. summary.json is the runner's, kept up to date as it goes.
 */
import type { PdfDocument } from '../agents/agent.js';
import { errorMessage } from '../errors.js';
import { toCsv } from '../load/csv.js';
import type { LoadRecord } from '../load/schema.js';
import type { ExperimentStore } from '../store/experiment-store.js';
import { junitXml } from './junit.js';
import { allRuns, experimentCharts, experimentMarkdown, runsCsv } from './report.js';
import type { ExperimentSummary } from './result-schema.js';
import type { Experiment } from './schema.js';

export type OutputServices = {
  renderPdf?: (doc: PdfDocument) => Promise<Uint8Array>;
  pdfUnavailableReason?: string;
};

/** What was written, and why the PDF was not (when it was not). */
export type OutputsWritten = { files: string[]; pdf: { state: 'rendered' } | { state: 'skipped' | 'failed'; reason: string } };

export async function writeOutputs(summary: ExperimentSummary, experiment: Experiment, records: readonly LoadRecord[], store: ExperimentStore, services: OutputServices): Promise<OutputsWritten> {
  const id = summary.experiment_id;
  const files: string[] = [];
  const write = async (name: string, data: string | Uint8Array) => {
    await store.writeOutput(id, name, data);
    files.push(name);
  };
  if (experiment.load) await write('load.csv', toCsv(records));
  await write('runs.json', `${JSON.stringify({ experiment_id: id, title: summary.title, aggregate: summary.aggregate, runs: allRuns(summary) }, null, 2)}\n`);
  await write('runs.csv', runsCsv(summary));
  await write('junit.xml', junitXml({ title: summary.title, experimentId: id, runs: allRuns(summary) }));
  const charts = experimentCharts(summary, records);
  for (const chart of charts) await write(chart.file, chart.svg);
  const markdown = experimentMarkdown(summary, experiment, charts);
  await write('report.md', markdown);
  let pdf: OutputsWritten['pdf'];
  if (!services.renderPdf) {
    pdf = { state: 'skipped', reason: services.pdfUnavailableReason ?? 'no PDF renderer' };
  } else {
    try {
      const bytes = await services.renderPdf({ title: `Experiment ${summary.title}`, markdown, images: Object.fromEntries(charts.map((c) => [c.file, c.svg])) });
      await write('report.pdf', bytes);
      pdf = { state: 'rendered' };
    } catch (error) {
      pdf = { state: 'failed', reason: errorMessage(error) };
    }
  }
  return { files, pdf };
}
