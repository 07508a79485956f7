import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';

const MAX_KEY_BYTES = 64 * 1024;

/**
 * One message for every way a key lookup can fail (outside the directory, missing, a symlink out,
 * not a regular file, unreadable), so the answer never tells a caller whether some file exists.
 */
export const KEY_NOT_AVAILABLE = 'key_path does not name a usable key in the keys directory';

/**
 * Reads a private key named by `keyPath` (a file name or a relative path) from inside `keysDir`.
 * The path is checked lexically, then again after symlinks are resolved, and opened without
 * following a final symlink, so nothing outside the directory can be read through it.
 */
export async function readKeyFile(keysDir: string, keyPath: string, field = 'key_path'): Promise<Buffer> {
  const fail = (): InputError => new InputError(KEY_NOT_AVAILABLE, field);
  if (keyPath === '' || keyPath.includes('\0') || path.isAbsolute(keyPath) || path.win32.isAbsolute(keyPath)) {
    throw fail();
  }
  if (keyPath.split(/[\\/]+/).includes('..')) throw fail();

  let root: string;
  try {
    root = await realpath(keysDir);
  } catch {
    throw fail();
  }
  const candidate = path.resolve(root, keyPath);
  if (!isInside(root, candidate)) throw fail();

  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    throw fail();
  }
  if (!isInside(root, real)) throw fail();

  // O_NOFOLLOW: the path was just resolved; a symlink swapped in since then is refused.
  // O_NONBLOCK: a FIFO planted in the directory must not hang the open.
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => {
    throw fail();
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size === 0 || stat.size > MAX_KEY_BYTES) throw fail();
    return await handle.readFile();
  } catch {
    throw fail();
  } finally {
    await handle.close();
  }
}

/** True when `child` is strictly inside `root` (path.relative, not a prefix test). */
export function isInside(root: string, child: string): boolean {
  const rel = path.relative(root, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
