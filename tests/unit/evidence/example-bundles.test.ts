/**
 * The recorded bundles in examples/ are what every offline replay (the demo included) diagnoses:
 * they must hold the logs their recording captured. `*.log` in .gitignore once dropped every
 * bundle's logs/ on commit, and every replay then said "0 log lines from 0 streams".
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readBundle, serializeBundle } from '../../../src/evidence/bundle.js';
import { Phase } from '../../../src/evidence/schema.js';
import { EXAMPLES_DIR, REPO_ROOT, tempDir } from '../../fixtures/paths.js';

/**
 * What a bundle has lost of the logs its manifest says were captured, one line per window; empty
 * when it has them all, or when the manifest predates the count (then nothing can be said).
 */
async function missingLogs(dir: string): Promise<string[]> {
  const { manifest, evidence } = await readBundle(dir);
  if (!manifest.log_lines) return [];
  return Phase.options.flatMap((phase) => {
    const recorded = manifest.log_lines![phase];
    const present = evidence.logs[phase].reduce((n, s) => n + s.lines.length, 0);
    return present === recorded ? [] : [`${phase}: ${present} log lines, the recording captured ${recorded}`];
  });
}

const bundles = readdirSync(EXAMPLES_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(EXAMPLES_DIR, d.name, 'manifest.json')))
  .map((d) => d.name)
  .sort();

describe('the recorded bundles in examples/', () => {
  it('when a bundle\'s log files are added to git, then .gitignore keeps them', () => {
    for (const file of ['examples/cpu_spike/logs/incident/syslog.log', 'examples/healthy/logs/baseline/victim.log']) {
      // check-ignore exits 1 when the path is not ignored.
      const ignored = (() => {
        try {
          execFileSync('git', ['check-ignore', '-q', file], { cwd: REPO_ROOT });
          return true;
        } catch (error) {
          if ((error as { status?: number }).status === 1) return false;
          throw error;
        }
      })();
      expect([file, ignored]).toEqual([file, false]);
    }
  });

  it.each(bundles)('when examples/%s is replayed, then it has the log lines its recording captured', async (name) => {
    expect(await missingLogs(path.join(EXAMPLES_DIR, name))).toEqual([]);
  });

  it('when a bundle is recorded, then its manifest counts the log lines of each window', async () => {
    const { manifest, evidence } = await readBundle(path.join(EXAMPLES_DIR, 'cpu_spike'));
    const withLogs = { ...evidence, logs: { baseline: [{ name: 'syslog', lines: ['a', 'b'] }], incident: [{ name: 'syslog', lines: ['c'] }, { name: 'app', lines: ['d', 'e', 'f'] }] } };
    const written = JSON.parse(serializeBundle(manifest, withLogs).find((f) => f.name === 'manifest.json')!.content) as { log_lines: unknown };
    expect(written.log_lines).toEqual({ baseline: 2, incident: 4 });
  });

  it('when a bundle\'s manifest counts log lines its logs/ folder does not have, then the check names the window', async () => {
    const { dir, cleanup } = await tempDir('bundle-logs');
    try {
      const { manifest, evidence } = await readBundle(path.join(EXAMPLES_DIR, 'cpu_spike'));
      const withLogs = { ...evidence, logs: { baseline: [{ name: 'syslog', lines: ['a', 'b'] }], incident: [{ name: 'syslog', lines: ['c', 'd', 'e'] }] } };
      for (const file of serializeBundle(manifest, withLogs)) {
        // The loss being tested: every file but the logs.
        if (file.name.startsWith('logs/')) continue;
        await mkdir(path.dirname(path.join(dir, file.name)), { recursive: true });
        await writeFile(path.join(dir, file.name), file.content);
      }
      expect(await missingLogs(dir)).toEqual(['baseline: 0 log lines, the recording captured 2', 'incident: 0 log lines, the recording captured 3']);
    } finally {
      await cleanup();
    }
  });
});
