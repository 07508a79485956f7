import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError } from '../errors.js';
import { jsonVisible } from '../evidence/sanitize.js';
import { GameDayId, GameDayRecord } from '../gamedays/schema.js';
import { writeFileAtomic } from './atomic.js';

const RECORD = 'gameday.json';
const INPUT = 'gameday.yaml';

/**
 * The only code that writes game days (`gamedays/<id>/`): the game day as submitted and its
 * record (schedule, each entry's progress, the scoreboard), rewritten atomically as it goes.
 * Every path comes from a validated id.
 */
export class GameDayStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** A new game day's folder; the root is made on first use, so a coordinator that runs none leaves none. */
  async create(record: GameDayRecord, asSubmitted: string): Promise<void> {
    const dir = this.dir(record.id);
    await mkdir(this.root, { recursive: true });
    await mkdir(dir, { recursive: false });
    await writeFileAtomic(path.join(dir, INPUT), asSubmitted);
    await this.save(record);
  }

  async save(record: GameDayRecord): Promise<void> {
    await writeFileAtomic(path.join(this.dir(record.id), RECORD), `${jsonVisible(JSON.stringify(record, null, 2))}\n`);
  }

  async load(id: string): Promise<GameDayRecord> {
    const text = await readFile(path.join(this.dir(id), RECORD), 'utf8').catch((error: unknown) => {
      throw new NotFoundError(`No game day ${id}`, { cause: error });
    });
    return GameDayRecord.parse(JSON.parse(text));
  }

  /** Ids of every game day on disk, newest first. */
  async listIds(): Promise<string[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    return names.filter((n) => GameDayId.safeParse(n).success).sort().reverse();
  }

  private dir(id: string): string {
    if (!GameDayId.safeParse(id).success) throw new NotFoundError(`No game day ${JSON.stringify(String(id).slice(0, 80))}`);
    return path.join(this.root, id);
  }
}
