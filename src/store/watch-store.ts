import type { Logger } from '../logger.js';
import { SavedWatchesFile, type SavedWatch } from '../watch/schema.js';
import { JsonStateFile } from './json-state-file.js';

/**
 * The watches a coordinator runs (`<stateDir>/watches.json`), so that a restarted coordinator
 * watches its targets again: written when a watch starts or is stopped (DELETE, halt), kept as
 * it is on shutdown.
 */
export class WatchStore {
  private readonly state: JsonStateFile<SavedWatchesFile>;

  constructor(stateDir: string, log?: Logger) {
    this.state = new JsonStateFile(stateDir, 'watches.json', SavedWatchesFile, 'Saved watches', log);
  }

  get file(): string {
    return this.state.file;
  }

  async load(): Promise<SavedWatch[]> {
    return (await this.state.load())?.watches ?? [];
  }

  save(watches: readonly SavedWatch[]): Promise<void> {
    return this.state.save({ format_version: 1, watches: [...watches].sort((a, b) => a.target.localeCompare(b.target)) });
  }
}
