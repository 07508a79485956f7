import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../../src/logger.js';
import { ReferenceStore } from '../../../src/store/reference-store.js';
import { WatchStore } from '../../../src/store/watch-store.js';
import { WatchService } from '../../../src/watch/watch-service.js';
import type { WatchLink } from '../../../src/watch/watcher.js';
import { fakeWatchLink } from './fake-watch-link.js';

/** A link whose sampler runs until stopped; `down` makes connecting fail as an unreachable host does. */
function fakeHost() {
  const host = { down: false, connects: 0 };
  const connect = async (): Promise<WatchLink> => {
    host.connects += 1;
    if (host.down) throw new Error('connect ECONNREFUSED 10.0.0.9:22');
    return fakeWatchLink().link;
  };
  return { host, connect };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('watches across a restart of the coordinator', () => {
  let dir: string;
  const log = createLogger('silent');
  const service = (connect: () => Promise<WatchLink>) =>
    new WatchService({
      incidents: { start: async () => Promise.reject(new Error('no incident in this test')) },
      appendTrace: async () => undefined,
      targetsFile: path.join(dir, 'targets.json'),
      keysDir: dir,
      references: new ReferenceStore(dir, log),
      saved: new WatchStore(dir, log),
      connect: async () => connect(),
      log,
    });
  const saved = async () => JSON.parse(await readFile(path.join(dir, 'watches.json'), 'utf8')) as { watches: { target: string; options: { interval_s: number }; since: string }[] };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'chaos-watch-service-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('when the coordinator shuts down while watching, then the next one watches the same targets with the same options and start time', async () => {
    const { connect } = fakeHost();
    const first = service(connect);
    const started = await first.start('web-1', { interval_s: 5, consecutive: 2 });
    await first.start('db-1', {});
    await first.close();
    expect((await saved()).watches.map((w) => w.target)).toEqual(['db-1', 'web-1']);

    const second = service(connect);
    expect(await second.restore()).toEqual(['db-1', 'web-1']);
    await until('both watching', () => second.list().every((w) => w.state === 'watching'));
    expect(second.get('web-1')).toMatchObject({ state: 'watching', started_at: started.started_at, options: { interval_s: 5, consecutive: 2 } });
    await second.close();
  });

  it('when a watch is deleted or everything is halted, then it does not come back after a restart', async () => {
    const { connect } = fakeHost();
    const first = service(connect);
    await first.start('web-1', {});
    await first.start('db-1', {});
    await first.stop('web-1');
    expect((await saved()).watches.map((w) => w.target)).toEqual(['db-1']);
    await first.stopAll();
    expect((await saved()).watches).toEqual([]);
    await first.close();
    expect(await service(connect).restore()).toEqual([]);
  });

  it('when a saved target cannot be reached at restart, then its watch keeps trying and says why, and watches once the host is back', async () => {
    const { host, connect } = fakeHost();
    const first = service(connect);
    await first.start('web-1', {});
    await first.close();

    host.down = true;
    const second = service(connect);
    await second.restore();
    await until('a failed connect', () => second.get('web-1').error !== null);
    expect(second.get('web-1')).toMatchObject({ state: 'reconnecting', error: expect.stringContaining('ECONNREFUSED') });
    host.down = false;
    await until('the watch to resume', () => second.get('web-1').state === 'watching');
    await second.close();
  });

  it('when watches.json is damaged, then the coordinator starts watching nothing and the next start replaces the file', async () => {
    const { connect } = fakeHost();
    await writeFile(path.join(dir, 'watches.json'), '{"format_version":1,"watches":[{"target":');
    const next = service(connect);
    expect(await next.restore()).toEqual([]);
    await next.start('web-1', {});
    expect((await saved()).watches).toEqual([expect.objectContaining({ target: 'web-1' })]);
    await next.close();
  });
});
