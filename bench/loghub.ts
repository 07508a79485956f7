/**
 * Grouping Accuracy of the template miner on the Loghub 2k samples, beside Drain's published
 * figures.
 *
 * Data: Loghub (https://github.com/logpai/loghub; Zhu et al., "Tools and Benchmarks for
 * Automated Log Parsing", ICSE-SEIP 2019, and He et al., "Loghub: A Large Collection of System Log
 * Datasets for AI-driven Log Analytics", ISSRE 2023), 2k samples with the corrected ground truth
 * of the logparser repository, vendored in `tests/fixtures/loghub-2k` (see its README.md for the
 * citation and licence). Loghub is free for research and academic use and must be cited with its URL.
 *
 * Each raw `.log` file goes through the same path as `chaos-handler templates`: `runTemplates`
 * with the one default miner configuration (header stripping included, no per-dataset setting);
 * the template ids it prints are the predicted groups.
 *
 * Run: `npx tsc -p tsconfig.build.json && node dist/bench/loghub.js`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { groupingAccuracy, parseCsvRecords } from '../src/agents/log/mining/evaluation.js';
import { TemplateLine } from '../src/agents/log/mining/schema.js';
import { TemplateMiner } from '../src/agents/log/mining/template-miner.js';
import { openInput, runTemplates } from '../src/cli/templates.js';

/** Drain's published GA with per-dataset tuned parameters (Zhu et al. 2019, via the README). */
export const DRAIN_PUBLISHED: Readonly<Record<string, number>> = {
  Linux: 0.69,
  OpenSSH: 0.7875,
  Apache: 1.0,
  HDFS: 0.9975,
  Zookeeper: 0.9665,
  Hadoop: 0.9475,
  HealthApp: 0.78,
  Proxifier: 0.5265,
};

export interface LoghubDatasetResult {
  dataset: string;
  lines: number;
  templates: number;
  groupingAccuracy: number;
  drainPublished: number;
}

export interface LoghubResult {
  datasets: LoghubDatasetResult[];
  meanGroupingAccuracy: number;
  meanDrainPublished: number;
  /** Datasets where we score below Drain's published figure. */
  belowDrain: string[];
}

/** The repository root: the first ancestor of this file holding a package.json. */
export function repoRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
}

/** The vendored samples: inside the repository, so a fresh clone benchmarks what it tests. */
export function loghubDataDir(root: string = repoRoot()): string {
  const dir = path.join(root, 'tests', 'fixtures', 'loghub-2k');
  if (!existsSync(dir)) {
    throw new Error(
      `Loghub samples not found at ${dir}: they ship with the repository ` +
        '(tests/fixtures/loghub-2k/<Dataset>/<Dataset>_2k.log and its *_structured_corrected.csv)',
    );
  }
  return dir;
}

/** Template ids printed by `runTemplates` for each line of a file, in order. */
export async function templateIdsOf(file: string, miner: TemplateMiner = new TemplateMiner()): Promise<string[]> {
  const ids: string[] = [];
  let carry = '';
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const lines = (carry + chunk.toString()).split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) ids.push(TemplateLine.parse(JSON.parse(line)).template_id);
      callback();
    },
  });
  const errors: string[] = [];
  const stderr = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      errors.push(chunk.toString());
      callback();
    },
  });
  const code = await runTemplates(openInput(file), sink, stderr, { miner });
  if (code !== 0) throw new Error(`runTemplates failed on ${file}: ${errors.join('')}`);
  return ids;
}

/** Ground-truth EventIds of a `*_structured_corrected.csv`, in line order. */
export async function truthOf(csvFile: string): Promise<string[]> {
  const records = parseCsvRecords(await readFile(csvFile, 'utf8'));
  return records.map((record) => record['EventId'] ?? '');
}

export async function evaluateDataset(dataDir: string, dataset: string): Promise<LoghubDatasetResult> {
  const base = path.join(dataDir, dataset, `${dataset}_2k.log`);
  const miner = new TemplateMiner();
  const predicted = await templateIdsOf(base, miner);
  const truth = await truthOf(`${base}_structured_corrected.csv`);
  if (predicted.length !== truth.length) {
    throw new Error(`${dataset}: ${predicted.length} log lines but ${truth.length} labelled rows`);
  }
  return {
    dataset,
    lines: predicted.length,
    templates: new Set(predicted).size,
    groupingAccuracy: groupingAccuracy(predicted, truth),
    drainPublished: DRAIN_PUBLISHED[dataset] ?? Number.NaN,
  };
}

export async function runLoghubBench(
  log: (line: string) => void,
  options: { dataDir?: string } = {},
): Promise<LoghubResult> {
  const dataDir = options.dataDir ?? loghubDataDir();
  const datasets: LoghubDatasetResult[] = [];
  log('Loghub 2k (corrected labels), one default configuration, raw .log lines through runTemplates');
  log(`${'dataset'.padEnd(10)} ${'GA'.padStart(6)}  ${'Drain'.padStart(6)}  templates`);
  for (const dataset of Object.keys(DRAIN_PUBLISHED)) {
    const result = await evaluateDataset(dataDir, dataset);
    datasets.push(result);
    const mark = result.groupingAccuracy + 1e-9 < result.drainPublished ? '  < Drain' : '';
    log(
      `${dataset.padEnd(10)} ${result.groupingAccuracy.toFixed(4)}  ${result.drainPublished.toFixed(4)}  ` +
        `${String(result.templates).padStart(9)}${mark}`,
    );
  }
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  const meanGroupingAccuracy = mean(datasets.map((d) => d.groupingAccuracy));
  const meanDrainPublished = mean(datasets.map((d) => d.drainPublished));
  log(`${'mean'.padEnd(10)} ${meanGroupingAccuracy.toFixed(4)}  ${meanDrainPublished.toFixed(4)}`);
  return {
    datasets,
    meanGroupingAccuracy,
    meanDrainPublished,
    belowDrain: datasets.filter((d) => d.groupingAccuracy + 1e-9 < d.drainPublished).map((d) => d.dataset),
  };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  runLoghubBench((line) => console.log(line)).then(
    (result) => {
      process.exitCode = result.meanGroupingAccuracy >= 0.9 && result.belowDrain.length === 0 ? 0 : 1;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 2;
    },
  );
}
