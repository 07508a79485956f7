import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The dashboard's static files are served straight from `src/dashboard/static/` (the build copies
 * nothing). Next to this module under ts-jest (`src/dashboard/`), three levels up and back down
 * into src/ when running the compiled `dist/src/dashboard/`.
 */
const CANDIDATES = ['./static/', '../../../src/dashboard/static/'];

export function dashboardStaticDir(base: string = import.meta.url): string {
  for (const candidate of CANDIDATES) {
    const dir = fileURLToPath(new URL(candidate, base));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error(`The dashboard's static files are missing: looked for src/dashboard/static/index.html next to ${fileURLToPath(base)}`);
}
