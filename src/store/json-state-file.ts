import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import type { Logger } from '../logger.js';
import { writeFileAtomic } from './atomic.js';

/**
 * One small JSON file of the coordinator's own state (`<stateDir>/alerts.json`, `watches.json`,
 * `references/<target>.json`):
 * read back validated, written atomically, writes queued one after the other. A missing file is
 * the empty state; an unreadable one is logged and treated as empty (the next save replaces it),
 * so a damaged state file never keeps the coordinator from starting.
 */
export class JsonStateFile<T> {
  readonly file: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    stateDir: string,
    name: string,
    private readonly schema: z.ZodType<T>,
    /** What the file holds, for the log ("Alert memory", "Saved watches"). */
    private readonly what: string,
    private readonly log?: Logger,
    /** What an unusable file means, for the log. */
    private readonly without = 'starting without it',
  ) {
    this.file = path.resolve(stateDir, name);
  }

  /** The saved state, or null when there is none (or none that can be trusted). */
  async load(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.log?.warn({ file: this.file }, `${this.what} is not valid JSON; ${this.without}`);
      return null;
    }
    const parsed = this.schema.safeParse(json);
    if (!parsed.success) {
      this.log?.warn({ file: this.file, issues: parsed.error.issues.slice(0, 3) }, `${this.what} failed validation; ${this.without}`);
      return null;
    }
    return parsed.data;
  }

  /** Saves the whole state; saves never overlap and land in the order they were asked for. */
  save(state: T): Promise<void> {
    const text = `${JSON.stringify(state, null, 1)}\n`;
    const next = this.writing.then(async () => {
      await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.file, text);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}
