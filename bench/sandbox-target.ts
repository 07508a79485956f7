import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from './loghub.js';

export type SandboxTarget = { name: string; host: string; port: number; user: string; key: string; host_keys: string[] };

/**
 * The sandbox as this checkout enrolled it (npm run sandbox:up): its entry in config/targets.json
 * and where the targets file and keys are, or an error saying how to bring it up.
 */
export async function enrolledSandbox(): Promise<{ sandbox: SandboxTarget; targetsFile: string; keysDir: string }> {
  const root = repoRoot();
  const targetsFile = path.join(root, 'config', 'targets.json');
  const keysDir = path.join(root, 'config', 'keys');
  const targets = JSON.parse(
    await readFile(targetsFile, 'utf8').catch(() => {
      throw new Error(`${targetsFile} is missing: bring the sandbox up first (npm run sandbox:up, as root)`);
    }),
  ) as { targets: SandboxTarget[] };
  const sandbox = targets.targets.find((t) => t.name === 'sandbox');
  if (!sandbox) throw new Error(`no target named sandbox in ${targetsFile}: run npm run sandbox:up`);
  return { sandbox, targetsFile, keysDir };
}
