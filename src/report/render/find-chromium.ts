import { accessSync, constants, statSync } from 'node:fs';

/** Where Debian/Ubuntu packages and Google's package put the browser. */
export const CHROMIUM_CANDIDATES: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The browser to use: the configured path if it is an executable file, else the first of the
 * well-known locations that is; null when there is none.
 */
export function findChromium(
  configuredPath?: string | null,
  candidates: readonly string[] = CHROMIUM_CANDIDATES,
  isExecutable: (path: string) => boolean = isExecutableFile,
): string | null {
  const paths = configuredPath ? [configuredPath, ...candidates] : candidates;
  return paths.find((path) => isExecutable(path)) ?? null;
}
