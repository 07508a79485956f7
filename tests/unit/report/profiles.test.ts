import { spawnSync } from 'node:child_process';
import { mkdir, readdir, symlink, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createBrowserProfile, removeStaleBrowserProfiles } from '../../../src/report/render/profiles.js';
import { tempDir } from '../../fixtures/paths.js';

/** A pid that existed and is gone: a child that has exited. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

describe('Chromium profile folders', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  /** Stands for the system temp dir, where older versions put their profiles. */
  let tmp: string;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('profiles'));
    tmp = path.join(dir, 'tmp');
    await mkdir(tmp);
  });
  afterEach(() => cleanup());

  it('when a coordinator that owned a profile is gone, then its folder is removed and a running one\'s is kept', async () => {
    const root = path.join(dir, 'state', 'chromium');
    const mine = await createBrowserProfile(root);
    expect(path.basename(mine)).toMatch(new RegExp(`^profile-${process.pid}-`));
    const orphan = path.join(root, `profile-${deadPid()}-abcdef`);
    const alive = path.join(root, `profile-1-abcdef`);
    await mkdir(orphan);
    await mkdir(alive);
    const removed = await removeStaleBrowserProfiles(root, { tempDir: tmp });
    // The caller's own pid is stale by definition: it runs this at start-up, before any browser.
    expect(removed.sort()).toEqual([mine, orphan].sort());
    expect(await readdir(root)).toEqual(['profile-1-abcdef']);
  });

  it('when older versions left profiles in the temp dir, then only those whose browser is gone are removed', async () => {
    const locked = async (name: string, pid: number) => {
      await mkdir(path.join(tmp, name));
      await symlink(`${os.hostname()}-${pid}`, path.join(tmp, name, 'SingletonLock'));
    };
    await locked('chaos-handler-chromium-dead01', deadPid());
    await locked('chaos-handler-chromium-live01', process.pid);
    await mkdir(path.join(tmp, 'chaos-handler-chromium-old001'));
    const hoursAgo = (Date.now() - 3 * 3600_000) / 1000;
    await utimes(path.join(tmp, 'chaos-handler-chromium-old001'), hoursAgo, hoursAgo);
    await mkdir(path.join(tmp, 'chaos-handler-chromium-new001'));
    await mkdir(path.join(tmp, 'someone-elses-dir'));
    await removeStaleBrowserProfiles(path.join(dir, 'none'), { tempDir: tmp });
    expect((await readdir(tmp)).sort()).toEqual(['chaos-handler-chromium-live01', 'chaos-handler-chromium-new001', 'someone-elses-dir']);
  });
});
