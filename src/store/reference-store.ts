import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { KnownGoodReference } from '../evidence/reference.js';
import type { Logger } from '../logger.js';
import { writeFileAtomic } from './atomic.js';

/** Target names are `[A-Za-z0-9][A-Za-z0-9._-]*` (EnrolledTarget): safe as file names, checked again here. */
const TARGET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The coordinator's known-good references, one file per enrolled target:
 * `<stateDir>/references/<target>.json`, written atomically (a reader never sees half of one).
 */
export class ReferenceStore {
  private readonly dir: string;

  constructor(stateDir: string, private readonly log?: Logger) {
    this.dir = path.resolve(stateDir, 'references');
  }

  fileOf(target: string): string {
    if (!TARGET.test(target)) throw new Error(`not a target name: ${JSON.stringify(target)}`);
    return path.join(this.dir, `${target}.json`);
  }

  async save(reference: KnownGoodReference): Promise<string> {
    const parsed = KnownGoodReference.parse(reference);
    const file = this.fileOf(parsed.target);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, `${JSON.stringify(parsed, null, 1)}\n`);
    return file;
  }

  /** The target's reference, or null when none was recorded (or the file is unusable: then said in the log). */
  async load(target: string): Promise<KnownGoodReference | null> {
    const file = this.fileOf(target);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.log?.warn({ file }, 'Known-good reference is not valid JSON; judging without it');
      return null;
    }
    const parsed = KnownGoodReference.safeParse(json);
    if (!parsed.success) {
      this.log?.warn({ file, issues: parsed.error.issues.slice(0, 3) }, 'Known-good reference failed validation; judging without it');
      return null;
    }
    return parsed.data;
  }
}
