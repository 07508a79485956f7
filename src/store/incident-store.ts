import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, InputError } from '../errors.js';
import type { IncidentId } from '../domain/index.js';
import { isIncidentId } from '../domain/index.js';
import { IncidentRecord, TraceEntry } from '../domain/index.js';
import { appendLineDurably, writeFileAtomic } from './atomic.js';

const RECORD = 'incident.json';
const TRACE_LOG = 'trace.jsonl';
const TRACE_JSON = 'trace.json';

/**
 * Artifact names: up to four plain segments (artifacts/cpu.svg, bundle/logs/incident/syslog.log).
 * No segment may start with a dot, so `..` and hidden temp files are never addressable.
 */
const ARTIFACT_NAME = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,127}\/){0,3}[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type ArtifactInfo = { name: string; bytes: number };

/**
 * The only code that writes incident artifacts (STYLE §9). Every path it touches is derived from
 * a validated incident id and artifact name, then checked with path.relative to stay inside the
 * incident folder, before any file system call.
 */
export class IncidentStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  /** The folder of one incident; throws NotFoundError for anything that is not an id. */
  dir(id: string): string {
    if (!isIncidentId(id)) throw new NotFoundError(`No incident ${JSON.stringify(String(id).slice(0, 80))}`);
    return this.inside(this.root, id);
  }

  artifactPath(id: string, name: string): string {
    if (!ARTIFACT_NAME.test(name)) {
      throw new NotFoundError(`No artifact ${JSON.stringify(name.slice(0, 80))}`);
    }
    return this.inside(this.dir(id), name);
  }

  async create(record: IncidentRecord): Promise<void> {
    const dir = this.dir(record.id);
    await mkdir(dir, { recursive: false });
    await mkdir(path.join(dir, 'artifacts'));
    await this.saveRecord(record);
    await writeFileAtomic(path.join(dir, TRACE_LOG), '');
  }

  async saveRecord(record: IncidentRecord): Promise<void> {
    await writeFileAtomic(path.join(this.dir(record.id), RECORD), `${JSON.stringify(record, null, 2)}\n`);
  }

  async loadRecord(id: string): Promise<IncidentRecord> {
    const file = path.join(this.dir(id), RECORD);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isMissing(error)) throw new NotFoundError(`No incident ${id}`, { cause: error });
      throw error;
    }
    return IncidentRecord.parse(JSON.parse(text));
  }

  async exists(id: string): Promise<boolean> {
    if (!isIncidentId(id)) return false;
    return stat(path.join(this.dir(id), RECORD)).then(
      () => true,
      () => false,
    );
  }

  /** Ids of every incident on disk, newest first (ids sort by creation time). */
  async listIds(): Promise<IncidentId[]> {
    const names = await readdir(this.root).catch((error: unknown) => {
      if (isMissing(error)) return [] as string[];
      throw error;
    });
    return names.filter(isIncidentId).sort().reverse();
  }

  async appendTrace(id: string, entry: TraceEntry): Promise<void> {
    await appendLineDurably(path.join(this.dir(id), TRACE_LOG), JSON.stringify(entry));
  }

  /**
   * The trace so far. A line torn by a crash mid-append (always the last one) is dropped;
   * a bad line anywhere else means the file was tampered with and is reported.
   */
  async readTrace(id: string): Promise<TraceEntry[]> {
    const text = await readFile(path.join(this.dir(id), TRACE_LOG), 'utf8').catch((error: unknown) => {
      if (isMissing(error)) throw new NotFoundError(`No incident ${id}`, { cause: error });
      throw error;
    });
    const lines = text.split('\n');
    const entries: TraceEntry[] = [];
    for (const [index, line] of lines.entries()) {
      if (line.trim() === '') continue;
      try {
        entries.push(TraceEntry.parse(JSON.parse(line)));
      } catch (error) {
        const isLast = lines.slice(index + 1).every((l) => l.trim() === '');
        if (isLast) break;
        throw new InputError(`trace.jsonl of ${id} has a corrupt line ${index + 1}`, undefined, { cause: error });
      }
    }
    return entries;
  }

  /** Rebuilds trace.json (a JSON array) from the append-only log, atomically. */
  async writeTraceJson(id: string): Promise<TraceEntry[]> {
    const entries = await this.readTrace(id);
    await writeFileAtomic(path.join(this.dir(id), TRACE_JSON), `${JSON.stringify(entries, null, 2)}\n`);
    return entries;
  }

  async writeArtifact(id: string, name: string, data: string | Uint8Array): Promise<string> {
    const file = this.artifactPath(id, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, data);
    return file;
  }

  async readArtifact(id: string, name: string): Promise<Buffer> {
    const file = this.artifactPath(id, name);
    try {
      return await readFile(file);
    } catch (error) {
      if (isMissing(error) || isDirectory(error)) throw new NotFoundError(`No artifact ${name} for ${id}`, { cause: error });
      throw error;
    }
  }

  /** Every addressable artifact (the same depth artifactPath accepts), sorted by name. */
  async listArtifacts(id: string): Promise<ArtifactInfo[]> {
    const out: ArtifactInfo[] = [];
    const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const name = `${prefix}${entry.name}`;
        if (entry.isDirectory() && depth < 3) await walk(path.join(dir, entry.name), `${name}/`, depth + 1);
        else if (entry.isFile()) out.push({ name, bytes: (await stat(path.join(dir, entry.name))).size });
      }
    };
    await walk(this.dir(id), '', 0);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  private inside(base: string, name: string): string {
    const resolved = path.resolve(base, name);
    const rel = path.relative(base, resolved);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new NotFoundError(`No such path ${JSON.stringify(name.slice(0, 80))}`);
    }
    return resolved;
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function isDirectory(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EISDIR';
}
