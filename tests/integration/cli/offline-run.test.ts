import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { categoryTitle } from '../../../src/report/markdown.js';
import { BUNDLE_EXPECTATIONS, CLI, REPO_ROOT, tempDir } from '../../fixtures/paths.js';

const run = promisify(execFile);

describe('chaos-handler run --offline (the built CLI, real Chromium)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    ({ dir, cleanup } = await tempDir('cli'));
  });
  afterAll(() => cleanup());

  /** Two layouts render to PDF pages (a fault, and a healthy host); the rest show their diagnosis in report.md (the PDF itself: report/pdf.test.ts). */
  const RENDERED = new Set(['cpu_spike', 'healthy']);

  it.each(Object.entries(BUNDLE_EXPECTATIONS))('when the %s bundle is replayed, then the CLI names %s and writes the report', async (bundle, category) => {
    const scenario = bundle === 'healthy' ? 'investigate' : bundle;
    const pdf = RENDERED.has(bundle);
    const { stdout } = await run('node', [CLI, 'run', '--offline', '--scenario', scenario], {
      cwd: REPO_ROOT,
      env: { ...process.env, CHAOS_INCIDENTS_DIR: dir, NO_COLOR: '1', CHAOS_PDF: String(pdf) },
      timeout: 60_000,
    });
    expect(stdout).toContain(`(${category})`);
    expect(stdout).toMatch(/\[\+\s*\d+\.\ds\] LogAgent/);
    expect(stdout).toMatch(/\[\+\s*\d+\.\ds\] ReporterAgent/);
    const reportLine = /Report:\s+(\S+report\.(pdf|md))/.exec(stdout);
    expect(reportLine?.[2]).toBe(pdf ? 'pdf' : 'md');
    const report = path.resolve(REPO_ROOT, reportLine![1]!);
    if (!pdf) {
      expect((await readFile(report, 'utf8')).split('\n')[0]).toContain(`: ${categoryTitle(category)}`);
      return;
    }
    const pages = path.join(path.dirname(report), 'page');
    await run('pdftoppm', ['-png', '-r', '30', report, pages]);
    const pngs = (await readdir(path.dirname(report))).filter((f) => f.startsWith('page') && f.endsWith('.png'));
    expect(pngs.length).toBeGreaterThanOrEqual(2);
  });

  it('when the scenario is missing or unknown, then it exits 2 naming the problem', async () => {
    await expect(run('node', [CLI, 'run', '--offline', '--scenario', 'meltdown'], { env: { ...process.env, CHAOS_INCIDENTS_DIR: dir } })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('scenario'),
    });
    await expect(run('node', [CLI, 'frobnicate'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command') });
  });

  it('when the configured Chromium does not exist, then report.md is still written and the trace says why', async () => {
    const { stdout } = await run('node', [CLI, 'run', '--offline', '--scenario', 'cpu_spike', '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, CHAOS_INCIDENTS_DIR: dir, CHAOS_CHROMIUM_PATH: '/nonexistent/chromium' },
      timeout: 60_000,
    });
    const record = JSON.parse(stdout) as { status: string; dir: string };
    expect(record.status).toBe('completed');
    const files = await readdir(record.dir);
    expect(files).toContain('report.md');
    expect(files).not.toContain('report.pdf');
    const trace = JSON.parse(await readFile(path.join(record.dir, 'trace.json'), 'utf8')) as { type: string; content: { summary?: string } }[];
    const warning = trace.find((e) => e.type === 'warning' && e.content.summary?.includes('report.pdf skipped'));
    expect(warning?.content.summary).toContain('no Chromium found at /nonexistent/chromium');
    expect(warning?.content.summary).toContain('apt-get install chromium');
  });
});
