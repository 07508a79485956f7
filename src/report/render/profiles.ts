/**
 * Chromium's profile folders. Each browser gets a fresh one, named after the coordinator that
 * owns it (`profile-<pid>-XXXXXX`), under the coordinator's state dir rather than /tmp. A
 * coordinator killed with SIGKILL cannot remove its own, so the next one removes every folder
 * whose owner is gone at start-up, and leaves those of coordinators still running.
 */
import { lstat, mkdir, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const OWNED = /^profile-(\d+)-[A-Za-z0-9]{6}$/;
/** Where profiles went before they had a home of their own (mkdtemp in the system temp dir). */
const LEGACY = /^chaos-handler-chromium-[A-Za-z0-9]{6}$/;
/** A legacy profile without a lock (the browser never started, or was long gone) counts as stale after this. */
const LEGACY_STALE_MS = 60 * 60 * 1000;

/** A new, empty profile folder of this process under `root`. */
export async function createBrowserProfile(root: string): Promise<string> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  return mkdtemp(path.join(root, `profile-${process.pid}-`));
}

/**
 * Removes the profile folders nobody uses any more: under `root`, those of coordinators that no
 * longer run; in the system temp dir, the ones older versions left there whose browser is gone.
 * Returns the folders removed.
 */
export async function removeStaleBrowserProfiles(root: string, options: { tempDir?: string; now?: number } = {}): Promise<string[]> {
  const now = options.now ?? Date.now();
  const removed: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const owner = OWNED.exec(name)?.[1];
    if (owner === undefined) continue;
    const pid = Number(owner);
    // This process has just started: a folder with its pid is a namesake's from before.
    if (pid !== process.pid && isAlive(pid)) continue;
    await rm(path.join(root, name), { recursive: true, force: true });
    removed.push(path.join(root, name));
  }
  const temp = options.tempDir ?? tmpdir();
  for (const name of await readdir(temp).catch(() => [] as string[])) {
    if (!LEGACY.test(name)) continue;
    const dir = path.join(temp, name);
    if (!(await isStaleLegacyProfile(dir, now))) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** Chromium's SingletonLock is a symlink to `<hostname>-<pid>` of the browser holding the profile. */
async function isStaleLegacyProfile(dir: string, now: number): Promise<boolean> {
  const info = await lstat(dir).catch(() => null);
  if (!info?.isDirectory()) return false;
  const lock = await readlink(path.join(dir, 'SingletonLock')).catch(() => null);
  const pid = lock === null ? null : Number(/-(\d+)$/.exec(lock)?.[1] ?? NaN);
  if (pid !== null && Number.isInteger(pid)) return !isAlive(pid);
  return now - info.mtimeMs > LEGACY_STALE_MS;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
