import { lstat, mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError } from '../errors.js';
import type { IncidentId } from '../domain/index.js';
import { isIncidentId } from '../domain/index.js';
import { IncidentRecord, TraceEntry } from '../domain/index.js';
import { jsonVisible, visible } from '../evidence/sanitize.js';
import { appendLineDurably, endsWithNewline, writeFileAtomic } from './atomic.js';
import { assertOwnFolder, readOwnFile } from './safe-read.js';

const RECORD = 'incident.json';
const TRACE_LOG = 'trace.jsonl';
const TRACE_JSON = 'trace.json';
/** Trace lines that could not be read, moved aside at start-up: one JSON object a line. */
export const TRACE_QUARANTINE = 'trace.quarantine.jsonl';

/**
 * Artifact names: up to four plain segments (artifacts/cpu.svg, bundle/logs/incident/syslog.log).
 * No segment may start with a dot, so `..` and hidden temp files are never addressable.
 */
const ARTIFACT_NAME = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,127}\/){0,3}[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** What writeFileAtomic names its temp files: `.<name>.<12 hex>.tmp`. */
const TEMP_FILE = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** Artifacts people read as text: control characters in them are written as visible escapes. */
const TEXT_ARTIFACT = /\.(?:md|txt|sh|log|csv|svg|xml|html)$/;
const JSON_ARTIFACT = /\.jsonl?$/;

export type ArtifactInfo = { name: string; bytes: number };

/** A trace line that could not be read: torn (the last one, cut off by a crash) or corrupt. */
export type BadTraceLine = { line: number; kind: 'torn' | 'corrupt'; text: string };

/** The trace as read from disk: the entries, and the lines that were skipped. */
export type TraceReading = { entries: TraceEntry[]; bad: BadTraceLine[] };

/** incident.json as found: the record, or why it cannot be read (truncated, not a record). */
export type RecordReading = { ok: true; record: IncidentRecord } | { ok: false; problem: string };

/**
 * What this process knows of an incident it is running: everything it wrote, so that polling
 * readers (`GET /status` every second per dashboard) cost no file system call at all. Every
 * write of the incident goes through `track`.
 */
type LiveIncident = { record: IncidentRecord; trace: TraceEntry[]; files: Map<string, number> };

/**
 * The only code that writes incident artifacts (STYLE §9). Every path it touches is derived from
 * a validated incident id and artifact name, then checked with path.relative to stay inside the
 * incident folder, before any file system call; reads and writes also refuse symlinks.
 *
 * Text a person reads is written safely whatever produced it: JSON with its remaining control
 * characters as `\u` escapes (the same value), text artifacts with controls made visible.
 */
export class IncidentStore {
  readonly root: string;
  private readonly live = new Map<string, LiveIncident>();

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

  /**
   * A new incident's folder. The incident is live in this process from here until `settle`:
   * reads of it are answered from what was written, without touching the disk.
   */
  async create(record: IncidentRecord): Promise<void> {
    const dir = this.dir(record.id);
    await mkdir(dir, { recursive: false });
    await mkdir(path.join(dir, 'artifacts'));
    const text = recordText(record);
    await writeFileAtomic(path.join(dir, RECORD), text);
    await writeFileAtomic(path.join(dir, TRACE_LOG), '');
    this.live.set(record.id, { record, trace: [], files: new Map([[RECORD, Buffer.byteLength(text)], [TRACE_LOG, 0]]) });
  }

  /** The incident's run is over: later reads go to the disk again. */
  settle(id: string): void {
    this.live.delete(id);
  }

  async saveRecord(record: IncidentRecord): Promise<void> {
    const text = recordText(record);
    await writeFileAtomic(path.join(this.dir(record.id), RECORD), text);
    const live = this.live.get(record.id);
    if (live) {
      live.record = record;
      live.files.set(RECORD, Buffer.byteLength(text));
    }
  }

  async loadRecord(id: string): Promise<IncidentRecord> {
    const live = this.live.get(id);
    if (live) return live.record;
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

  /**
   * incident.json, or why it cannot be read: a damaged record is reported, not thrown, so one
   * bad folder never takes a listing (or the start-up) down with it. NotFoundError when absent.
   */
  async readRecord(id: string): Promise<RecordReading> {
    try {
      return { ok: true, record: await this.loadRecord(id) };
    } catch (error) {
      if (error instanceof NotFoundError) throw error;
      if (error instanceof SyntaxError) return { ok: false, problem: `${RECORD} is not valid JSON (truncated?): ${error.message}` };
      if (error instanceof Error && error.name === 'ZodError') return { ok: false, problem: `${RECORD} is not an incident record` };
      return { ok: false, problem: `${RECORD} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
    }
  }

  async exists(id: string): Promise<boolean> {
    if (!isIncidentId(id)) return false;
    if (this.live.has(id)) return true;
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
    const line = `${jsonVisible(JSON.stringify(entry))}\n`;
    const file = path.join(this.dir(id), TRACE_LOG);
    const live = this.live.get(id);
    // Written by this process, the log always ends with a newline; one left from before may not.
    if (!live && !(await endsWithNewline(file))) await appendLineDurably(file, '');
    await appendLineDurably(file, line);
    if (live) {
      live.trace.push(entry);
      live.files.set(TRACE_LOG, (live.files.get(TRACE_LOG) ?? 0) + Buffer.byteLength(line));
    }
  }

  /**
   * The trace so far. Lines that cannot be read are skipped: a torn last line (what a crash
   * mid-append leaves) and, anywhere else, corrupt ones (`inspectTrace` says which).
   */
  async readTrace(id: string): Promise<TraceEntry[]> {
    const live = this.live.get(id);
    if (live) return [...live.trace];
    return (await this.inspectTrace(id)).entries;
  }

  /** The trace on disk and the lines of it that could not be read. */
  async inspectTrace(id: string): Promise<TraceReading> {
    const text = await readFile(path.join(this.dir(id), TRACE_LOG), 'utf8').catch((error: unknown) => {
      if (isMissing(error)) throw new NotFoundError(`No incident ${id}`, { cause: error });
      throw error;
    });
    return parseTraceLog(text);
  }

  /**
   * At start-up, before anything is appended to an incident cut off by a crash: moves the lines
   * of trace.jsonl that cannot be read to trace.quarantine.jsonl (kept for a human, with their
   * line numbers) and rewrites the log without them, so the next entry starts on a line of its own.
   */
  async repairTrace(id: string): Promise<BadTraceLine[]> {
    const file = path.join(this.dir(id), TRACE_LOG);
    const text = await readFile(file, 'utf8').catch((error: unknown) => {
      if (isMissing(error)) return '';
      throw error;
    });
    const { entries, bad } = parseTraceLog(text);
    if (!bad.length) {
      if (text !== '' && !text.endsWith('\n')) await appendLineDurably(file, '');
      return [];
    }
    const quarantine = path.join(this.dir(id), TRACE_QUARANTINE);
    const earlier = await readFile(quarantine, 'utf8').catch(() => '');
    await writeFileAtomic(quarantine, `${earlier}${bad.map((b) => jsonVisible(JSON.stringify(b))).join('\n')}\n`);
    await writeFileAtomic(file, entries.map((e) => `${jsonVisible(JSON.stringify(e))}\n`).join(''));
    return bad;
  }

  /** Rebuilds trace.json (a JSON array) from the append-only log, atomically. */
  async writeTraceJson(id: string): Promise<TraceEntry[]> {
    const entries = await this.readTrace(id);
    const text = `${jsonVisible(JSON.stringify(entries, null, 2))}\n`;
    await writeFileAtomic(path.join(this.dir(id), TRACE_JSON), text);
    this.live.get(id)?.files.set(TRACE_JSON, Buffer.byteLength(text));
    return entries;
  }

  async writeArtifact(id: string, name: string, data: string | Uint8Array): Promise<string> {
    const file = this.artifactPath(id, name);
    await mkdir(path.dirname(file), { recursive: true });
    await assertOwnFolder(this.root, id, path.dirname(file));
    const safe = typeof data === 'string' ? safeArtifactText(name, data) : data;
    await writeFileAtomic(file, safe);
    this.live.get(id)?.files.set(name, typeof safe === 'string' ? Buffer.byteLength(safe) : safe.byteLength);
    return file;
  }

  /**
   * An artifact's bytes. A symlink anywhere on the way (the incident folder, a sub-folder, the
   * file itself), a FIFO or a device is refused as if absent: the route serves files this store
   * wrote, nothing they point to.
   */
  async readArtifact(id: string, name: string): Promise<Buffer> {
    const file = this.artifactPath(id, name);
    const missing = (cause?: unknown) => new NotFoundError(`No artifact ${name} for ${id}`, { cause });
    return readOwnFile(this.root, id, file, missing);
  }

  /** Every addressable artifact (the same depth artifactPath accepts), sorted by name. */
  async listArtifacts(id: string): Promise<ArtifactInfo[]> {
    const live = this.live.get(id);
    if (live) return [...live.files].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => a.name.localeCompare(b.name));
    const out: ArtifactInfo[] = [];
    const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const name = `${prefix}${entry.name}`;
        // Dirents describe the link itself: symlinks are neither files nor folders here.
        if (entry.isDirectory() && depth < 3) await walk(path.join(dir, entry.name), `${name}/`, depth + 1);
        else if (entry.isFile()) out.push({ name, bytes: (await lstat(path.join(dir, entry.name))).size });
      }
    };
    await walk(this.dir(id), '', 0);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * At start-up: temp files a killed coordinator left half-written (`.incident.json.<hex>.tmp`)
   * in incident folders. The incidents directory belongs to one coordinator, and at start-up
   * nothing of it is being written. Returns how many were removed.
   */
  async removeStaleTempFiles(): Promise<number> {
    let removed = 0;
    const sweep = async (dir: string, depth: number): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const full = path.join(dir, entry.name);
        if (entry.isFile() && TEMP_FILE.test(entry.name)) {
          await unlink(full).then(() => removed++, () => undefined);
        } else if (entry.isDirectory() && depth < 4) {
          await sweep(full, depth + 1);
        }
      }
    };
    for (const id of await this.listIds()) await sweep(path.join(this.root, id), 0);
    return removed;
  }

  /** `folder` (the incident's, or one inside it) is a real folder, reached through no symlink. */

  private inside(base: string, name: string): string {
    const resolved = path.resolve(base, name);
    const rel = path.relative(base, resolved);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new NotFoundError(`No such path ${JSON.stringify(name.slice(0, 80))}`);
    }
    return resolved;
  }
}

/**
 * trace.jsonl read leniently. A crash mid-append leaves the last line torn; a line that cannot
 * be read before the last one was damaged some other way (disk, hand edit) and is reported as
 * corrupt. Neither hides the entries around it.
 */
export function parseTraceLog(text: string): TraceReading {
  const lines = text.split('\n');
  const lastIndex = lines.findLastIndex((l) => l.trim() !== '');
  const entries: TraceEntry[] = [];
  const bad: BadTraceLine[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const parsed = parseEntry(line);
    if (parsed) entries.push(parsed);
    else bad.push({ line: index + 1, kind: index === lastIndex ? 'torn' : 'corrupt', text: line });
  });
  return { entries, bad };
}

function parseEntry(line: string): TraceEntry | null {
  try {
    const parsed = TraceEntry.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** What the store writes for a text artifact: JSON made terminal-safe, other text made visible. */
function safeArtifactText(name: string, text: string): string {
  if (JSON_ARTIFACT.test(name)) return jsonVisible(text);
  if (TEXT_ARTIFACT.test(name)) return visible(text);
  return text;
}

function recordText(record: IncidentRecord): string {
  return `${jsonVisible(JSON.stringify(record, null, 2))}\n`;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
