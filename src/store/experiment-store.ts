import { lstat, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError } from '../errors.js';
import { jsonVisible, visible } from '../evidence/sanitize.js';
import { isExperimentId } from '../experiments/experiment-id.js';
import { ExperimentEvent, ExperimentSummary } from '../experiments/result-schema.js';
import { appendLineDurably, writeFileAtomic } from './atomic.js';
import type { ArtifactInfo } from './incident-store.js';
import { assertOwnFolder, readOwnFile } from './safe-read.js';

const SUMMARY = 'summary.json';
const EVENTS = 'events.jsonl';

/** Output names: one or two plain segments (charts/throughput.svg); no dot first, so no `..`. */
const OUTPUT_NAME = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,127}\/)?[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TEXT_OUTPUT = /\.(?:md|txt|csv|svg|xml|yaml|yml)$/;
const JSON_OUTPUT = /\.jsonl?$/;

/**
 * The only code that writes experiment outputs (`experiments/<id>/`): every path comes from a
 * validated experiment id and output name and is checked with path.relative to stay inside the
 * experiment's folder; every file is written atomically (summary.json is rewritten as the runs
 * go, so a reader never sees half of it); the progress log is append-only.
 */
export class ExperimentStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  dir(id: string): string {
    if (!isExperimentId(id)) throw new NotFoundError(`No experiment ${JSON.stringify(String(id).slice(0, 80))}`);
    return inside(this.root, id);
  }

  /** A new experiment's folder with its first summary. */
  async create(summary: ExperimentSummary): Promise<void> {
    const dir = this.dir(summary.experiment_id);
    // The root is made with the first experiment: a coordinator that never runs one leaves no folder.
    await mkdir(this.root, { recursive: true });
    await mkdir(dir, { recursive: false });
    await mkdir(path.join(dir, 'charts'));
    await writeFileAtomic(path.join(dir, EVENTS), '');
    await this.saveSummary(summary);
  }

  async saveSummary(summary: ExperimentSummary): Promise<void> {
    await writeFileAtomic(path.join(this.dir(summary.experiment_id), SUMMARY), `${jsonVisible(JSON.stringify(summary, null, 2))}\n`);
  }

  async loadSummary(id: string): Promise<ExperimentSummary> {
    const text = await readFile(path.join(this.dir(id), SUMMARY), 'utf8').catch((error: unknown) => {
      throw new NotFoundError(`No experiment ${id}`, { cause: error });
    });
    return ExperimentSummary.parse(JSON.parse(text));
  }

  async appendEvent(id: string, event: ExperimentEvent): Promise<void> {
    await appendLineDurably(path.join(this.dir(id), EVENTS), `${jsonVisible(JSON.stringify(event))}\n`);
  }

  /** The progress so far; a torn last line (a crash mid-append) is skipped. */
  async readEvents(id: string): Promise<ExperimentEvent[]> {
    const text = await readFile(path.join(this.dir(id), EVENTS), 'utf8').catch((error: unknown) => {
      throw new NotFoundError(`No experiment ${id}`, { cause: error });
    });
    const events: ExperimentEvent[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const parsed = ExperimentEvent.safeParse(JSON.parse(line));
        if (parsed.success) events.push(parsed.data);
      } catch {
        // a torn line: skipped
      }
    }
    return events;
  }

  /** One output (load.csv, junit.xml, report.pdf, charts/…), written atomically. */
  async writeOutput(id: string, name: string, data: string | Uint8Array): Promise<string> {
    const file = this.outputPath(id, name);
    await mkdir(path.dirname(file), { recursive: true });
    await assertOwnFolder(this.root, id, path.dirname(file));
    const safe = typeof data !== 'string' ? data : JSON_OUTPUT.test(name) ? jsonVisible(data) : TEXT_OUTPUT.test(name) ? visible(data) : data;
    await writeFileAtomic(file, safe);
    return file;
  }

  /** An output's bytes; symlinks, FIFOs and devices are refused as if absent. */
  async readOutput(id: string, name: string): Promise<Buffer> {
    const file = this.outputPath(id, name);
    const missing = (cause?: unknown) => new NotFoundError(`No file ${name} in experiment ${id}`, { cause });
    return readOwnFile(this.root, id, file, missing);
  }

  async listOutputs(id: string): Promise<ArtifactInfo[]> {
    const out: ArtifactInfo[] = [];
    const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (entry.name.startsWith('.')) continue;
        const name = `${prefix}${entry.name}`;
        if (entry.isDirectory() && depth < 1) await walk(path.join(dir, entry.name), `${name}/`, depth + 1);
        else if (entry.isFile()) out.push({ name, bytes: (await lstat(path.join(dir, entry.name))).size });
      }
    };
    await walk(this.dir(id), '', 0);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Ids of every experiment on disk, newest first. */
  async listIds(): Promise<string[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    return names.filter(isExperimentId).sort().reverse();
  }

  private outputPath(id: string, name: string): string {
    if (!OUTPUT_NAME.test(name)) throw new NotFoundError(`No file ${JSON.stringify(name.slice(0, 80))} in experiment ${id}`);
    return inside(this.dir(id), name);
  }

}

function inside(base: string, name: string): string {
  const resolved = path.resolve(base, name);
  const rel = path.relative(base, resolved);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new NotFoundError(`No such path ${JSON.stringify(name.slice(0, 80))}`);
  return resolved;
}
