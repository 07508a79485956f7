import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { AlertMemoryFile, type AlertMemory } from '../alerts/schema.js';
import type { Logger } from '../logger.js';
import { writeFileAtomic } from './atomic.js';

/** Enough for months of distinct alerts; the oldest are forgotten first. */
const MAX_REMEMBERED = 5_000;

/**
 * Which alert fingerprints opened which incident (`<stateDir>/alerts.json`), so that a restarted
 * coordinator neither re-opens an incident for an alert it already handled nor loses where to
 * record its resolution. Writes are atomic and queued one after the other.
 */
export class AlertMemoryStore {
  readonly file: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string, private readonly log?: Logger) {
    this.file = path.resolve(stateDir, 'alerts.json');
  }

  /** Every remembered alert; an unreadable file is logged and treated as empty (it is replaced on the next save). */
  async load(): Promise<AlertMemory[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.log?.warn({ file: this.file }, 'Alert memory is not valid JSON; starting without it');
      return [];
    }
    const parsed = AlertMemoryFile.safeParse(json);
    if (!parsed.success) {
      this.log?.warn({ file: this.file, issues: parsed.error.issues.slice(0, 3) }, 'Alert memory failed validation; starting without it');
      return [];
    }
    return parsed.data.alerts;
  }

  /** Saves the whole memory (newest kept when over the cap); saves never overlap. */
  save(alerts: readonly AlertMemory[]): Promise<void> {
    const kept = [...alerts].sort((a, b) => a.opened_at.localeCompare(b.opened_at)).slice(-MAX_REMEMBERED);
    const text = `${JSON.stringify({ format_version: 1, alerts: kept } satisfies AlertMemoryFile, null, 1)}\n`;
    const next = this.writing.then(async () => {
      await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.file, text);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}
