import { constants } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError } from '../errors.js';

/**
 * `folder` is a real directory inside `root/<id>` — `root/<id>` itself not a symlink, and no
 * symlink on the way resolving elsewhere — or NotFoundError: a store writes and serves its own
 * folders, never what a planted link points to.
 */
export async function assertOwnFolder(root: string, id: string, folder: string): Promise<void> {
  const info = await lstat(path.join(root, id));
  if (!info.isDirectory()) throw new NotFoundError(`No ${id}`);
  const [realRoot, realFolder] = await Promise.all([realpath(root), realpath(folder)]);
  const rel = path.relative(path.join(realRoot, id), realFolder);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new NotFoundError(`No such path in ${id}`);
}

/**
 * Reads a file a store wrote, and nothing it might point to: its folder passes
 * `assertOwnFolder`, the file is opened without following a symlink (O_NOFOLLOW) or blocking on a
 * FIFO (O_NONBLOCK), and must be a regular file. Anything else is `missing()`, exactly as if
 * absent, so a caller learns nothing more.
 */
export async function readOwnFile(root: string, id: string, file: string, missing: (cause?: unknown) => Error): Promise<Buffer> {
  try {
    await assertOwnFolder(root, id, path.dirname(file));
  } catch (error) {
    throw missing(error);
  }
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((error: unknown) => {
    throw missing(error);
  });
  try {
    if (!(await handle.stat()).isFile()) throw missing();
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
