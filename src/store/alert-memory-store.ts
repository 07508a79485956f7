import { AlertMemoryFile, type AlertMemory } from '../alerts/schema.js';
import type { Logger } from '../logger.js';
import { JsonStateFile } from './json-state-file.js';

/** Enough for months of distinct alerts; the oldest are forgotten first. */
const MAX_REMEMBERED = 5_000;

/**
 * Which alert fingerprints opened which incident (`<stateDir>/alerts.json`), so that a restarted
 * coordinator neither re-opens an incident for an alert it already handled nor loses where to
 * record its resolution. Writes are atomic and queued one after the other.
 */
export class AlertMemoryStore {
  private readonly state: JsonStateFile<AlertMemoryFile>;

  constructor(stateDir: string, log?: Logger) {
    this.state = new JsonStateFile(stateDir, 'alerts.json', AlertMemoryFile, 'Alert memory', log);
  }

  get file(): string {
    return this.state.file;
  }

  /** Every remembered alert; an unreadable file is logged and treated as empty (it is replaced on the next save). */
  async load(): Promise<AlertMemory[]> {
    return (await this.state.load())?.alerts ?? [];
  }

  /** Saves the whole memory (newest kept when over the cap); saves never overlap. */
  save(alerts: readonly AlertMemory[]): Promise<void> {
    const kept = [...alerts].sort((a, b) => a.opened_at.localeCompare(b.opened_at)).slice(-MAX_REMEMBERED);
    return this.state.save({ format_version: 1, alerts: kept });
  }
}
