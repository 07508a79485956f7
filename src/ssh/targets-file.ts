/**
 * Reading and writing the targets file as raw JSON, for the enroll verb (the server only reads it,
 * through `loadTargets`). The write is atomic like the store's (temp file in the same directory,
 * fsync, rename, directory fsync), so the server and other checkouts only ever see the old file or
 * the new one, and it keeps the file's mode and owner. A symlinked file is written through the
 * link, so the link stays.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { InputError, errorMessage } from '../errors.js';
import { fsyncDir } from '../store/atomic.js';

/** Mode of a targets file created by the verb: like the sandbox script's (no secrets inside). */
const NEW_FILE_MODE = 0o644;

/** The file's parsed JSON, or undefined when it does not exist. */
export async function readTargetsDocument(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new InputError(`${file}: cannot read targets file: ${errorMessage(error)}`, 'targets', { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InputError(`${file}: not valid JSON: ${errorMessage(error)}; fix it by hand first`, 'targets', { cause: error });
  }
}

/** Replaces the file's content with `document` (2-space JSON and a final newline), atomically. */
export async function writeTargetsDocument(file: string, document: unknown): Promise<void> {
  const target = await realpath(file).catch((error: unknown) => {
    if (isNotFound(error)) return path.resolve(file);
    throw new InputError(`${file}: cannot write targets file: ${errorMessage(error)}`, 'targets', { cause: error });
  });
  const existing = await stat(target).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw new InputError(`${file}: cannot write targets file: ${errorMessage(error)}`, 'targets', { cause: error });
  });
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      // Explicit chmod: the open mode is filtered by the umask.
      await handle.chmod(existing ? existing.mode & 0o7777 : NEW_FILE_MODE);
      // rename makes the temp file the file: as root, give it back to the file's owner.
      if (existing && process.getuid?.() === 0) await handle.chown(existing.uid, existing.gid);
      await handle.writeFile(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new InputError(`${file}: cannot write targets file: ${errorMessage(error)}`, 'targets', { cause: error });
  }
  await fsyncDir(dir);
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}
