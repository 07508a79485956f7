import path from 'node:path';
import { KnownGoodReference } from '../evidence/reference.js';
import type { Logger } from '../logger.js';
import { JsonStateFile } from './json-state-file.js';

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
    const state = this.stateOf(parsed.target);
    await state.save(parsed);
    return state.file;
  }

  /** The target's reference, or null when none was recorded (or the file is unusable: then said in the log). */
  load(target: string): Promise<KnownGoodReference | null> {
    return this.stateOf(target).load();
  }

  private stateOf(target: string): JsonStateFile<KnownGoodReference> {
    return new JsonStateFile(path.dirname(this.fileOf(target)), path.basename(this.fileOf(target)), KnownGoodReference, 'Known-good reference', this.log, 'judging without it');
  }
}
