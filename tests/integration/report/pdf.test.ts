/**
 * The PDF renderer against the real thing: the system Chromium, poppler's pdftoppm/pdftotext,
 * and a real HTTP server that must never be reached. Samples land in tests/artifacts/report/.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import puppeteer from 'puppeteer-core';
import { TimeoutError } from '../../../src/errors.js';
import {
  BrowserUnavailableError,
  createPdfRenderer,
  findChromium,
  markdownToSafeHtml,
  type PageRequest,
  type PdfRenderer,
} from '../../../src/report/render/index.js';
import { HOSTILE_IMG, HOSTILE_SCRIPT, HOSTILE_SVG, sampleEmbeds, sampleMarkdown } from './sample-report.js';

const run = promisify(execFile);
const ARTIFACTS = resolve('tests/artifacts/report');
const chromium = findChromium();
const describeWithChromium = chromium ? describe : describe.skip;
if (!chromium) console.warn('Chromium not found: PDF integration tests skipped (apt-get install chromium)');

const silent = pino({ level: 'silent' });
const sampleHtml = (id?: string): string =>
  markdownToSafeHtml(sampleMarkdown(id), { title: `Postmortem ${id ?? 'inc-20250114-7f3a9c'}`, embeds: sampleEmbeds() });

async function pdfToText(pdf: Buffer, name: string): Promise<string> {
  const file = join(ARTIFACTS, `${name}.pdf`);
  await writeFile(file, pdf);
  const { stdout } = await run('pdftotext', ['-layout', file, '-'], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Every live process whose command line mentions `needle` (our browser's profile dir). */
async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

async function profileDirOf(pid: number): Promise<string> {
  const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  const flag = args.find((a) => a.startsWith('--user-data-dir='));
  if (!flag) throw new Error(`no --user-data-dir on pid ${pid}`);
  return flag.slice('--user-data-dir='.length);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function eventually(check: () => Promise<boolean> | boolean, ms = 5_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describeWithChromium('PDF rendering with the system Chromium', () => {
  let renderer: PdfRenderer;
  const attempts: PageRequest[] = [];
  const warnings: { msg: string; blocked?: number }[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    for (const file of await readdir(ARTIFACTS)) {
      if (/^sample-r\d+-\d+\.png$/.test(file)) await rm(join(ARTIFACTS, file));
    }
    renderer = createPdfRenderer({ executablePath: chromium, log, onPageRequest: (r) => attempts.push(r) });
  });

  afterAll(async () => {
    await renderer.close();
  });

  beforeEach(() => {
    attempts.length = 0;
    warnings.length = 0;
  });

  it('when rendering a realistic postmortem, then a valid A4 PDF comes out that poppler rasterizes page by page', async () => {
    const pdf = await renderer.render(sampleHtml(), { timeoutMs: 30_000 });
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');

    const file = join(ARTIFACTS, 'sample-postmortem.pdf');
    await writeFile(file, pdf);
    await run('pdftoppm', ['-png', '-r', '50', file, join(ARTIFACTS, 'sample-r50')]);
    const pages = (await readdir(ARTIFACTS)).filter((f) => /^sample-r50-\d+\.png$/.test(f));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    for (const page of pages) expect((await stat(join(ARTIFACTS, page))).size).toBeGreaterThan(1_000);
    // A readable sample for humans.
    await run('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '3', file, join(ARTIFACTS, 'sample-r80')]);

    const { stdout: info } = await run('pdfinfo', [file]);
    expect(info).toMatch(/Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)/);
    expect(info).toMatch(/Title:\s+Postmortem inc-20250114-7f3a9c/);
  }, 60_000);

  it('when the report quotes hostile host text, then it is printed literally, nothing runs and no request is attempted', async () => {
    // Lines may wrap anywhere in print; compare with whitespace runs collapsed.
    const text = (await pdfToText(await renderer.render(sampleHtml()), 'hostile-quoted')).replace(/\s+/g, ' ');
    expect(text).toContain(HOSTILE_SCRIPT);
    expect(text).toContain(HOSTILE_IMG);
    expect(text).toContain(HOSTILE_SVG);
    expect(text).toContain('see details (javascript:alert(1))');
    expect(text).toContain('[image not embedded: tracker (https://evil.example/pixel.png)]');
    // The footer prints document.title: a script that ran would have changed it.
    expect(text).toContain('Postmortem inc-20250114-7f3a9c');
    expect(text).not.toContain('PWNED-BY-LOG Page');
    expect(text).toMatch(/Page 1 of \d+/);
    expect(attempts).toEqual([]);
    expect(warnings).toEqual([]);
  }, 60_000);

  describe('when HTML that bypassed the sanitizer reaches the renderer', () => {
    let server: Server;
    let hits: string[];
    let connections: number;
    let origin: string;

    beforeAll(async () => {
      hits = [];
      connections = 0;
      server = createServer((req, res) => {
        hits.push(req.url ?? '');
        res.end('pwned');
      });
      server.on('connection', () => connections++);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    it('then scripts do not run, no connection is even opened, the page never navigates away, and local files stay unread', async () => {
      const raw = `<!DOCTYPE html><html><head><title>original title</title>
        <link rel="stylesheet" href="${origin}/style.css">
        <meta http-equiv="refresh" content="0;url=${origin}/refresh">
        </head><body>
        <p>original content</p>
        <script>document.title = 'PWNED-TITLE'; document.body.innerHTML = 'SCRIPT-RAN'; fetch('${origin}/fetch');</script>
        <img src="${origin}/pixel.png">
        <img src="file:///etc/passwd">
        <iframe src="file:///etc/passwd"></iframe>
        <iframe src="${origin}/frame"></iframe>
        <object data="file:///etc/hostname"></object>
        <svg xmlns="http://www.w3.org/2000/svg" onload="document.title='PWNED-SVG'"><image href="${origin}/svg-image.png"/></svg>
        </body></html>`;
      const text = await pdfToText(await renderer.render(raw, { timeoutMs: 20_000 }), 'hostile-raw');

      expect(text).toContain('original content');
      expect(text).toContain('original title');
      expect(text).not.toMatch(/SCRIPT-RAN|PWNED-TITLE|PWNED-SVG|root:x:0:0|pwned/);
      expect(hits).toEqual([]);
      // Not even a speculative preconnect (Chromium opens those for navigations before interception).
      expect(connections).toBe(0);
      const urls = attempts.map((a) => a.url);
      expect(urls).toEqual(expect.arrayContaining([`${origin}/style.css`, `${origin}/pixel.png`, `${origin}/refresh`, `${origin}/frame`]));
      expect(urls.every((u) => u.startsWith(origin))).toBe(true);
      // Logged once per render, not once per request.
      expect(warnings.filter((w) => w.msg === 'Blocked requests from a report page')).toEqual([
        expect.objectContaining({ blocked: attempts.length }),
      ]);
    }, 60_000);
  });

  it('when five reports are rendered, then one browser process serves them all', async () => {
    const fresh = createPdfRenderer({ executablePath: chromium, log: silent });
    try {
      const timings: number[] = [];
      const pids = new Set<number | null>();
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const pdf = await fresh.render(sampleHtml(`inc-20250114-00000${i}`));
        timings.push(performance.now() - started);
        expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
        pids.add(fresh.browserPid());
      }
      expect(pids.size).toBe(1);
      const [pid] = [...pids];
      expect(pid).toEqual(expect.any(Number));
      expect(alive(pid as number)).toBe(true);
      expect(fresh.stats()).toEqual({ launches: 1, renders: 5, failures: 0 });

      const warm = timings.slice(1);
      const summary = {
        coldMs: Math.round(timings[0] ?? 0),
        warmMs: warm.map(Math.round),
        warmMeanMs: Math.round(warm.reduce((a, b) => a + b, 0) / warm.length),
      };
      console.log(`PDF render timings (realistic report, 2 charts): ${JSON.stringify(summary)}`);
      await writeFile(join(ARTIFACTS, 'timings.json'), `${JSON.stringify(summary, null, 2)}\n`);
    } finally {
      await fresh.close();
    }
  }, 120_000);

  it('when renders arrive together, then they are all served, by the same browser', async () => {
    const pdfs = await Promise.all([1, 2, 3, 4].map((i) => renderer.render(sampleHtml(`inc-concurrent-${i}`))));
    for (const pdf of pdfs) expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(renderer.stats().launches).toBe(1);
  }, 60_000);

  it('when the browser crashes, then the next render starts a new one, and close() leaves no process of either behind', async () => {
    const own = createPdfRenderer({ executablePath: chromium, log: silent });
    await own.render('<p>first</p>');
    const firstPid = own.browserPid() as number;
    const firstProfile = await profileDirOf(firstPid);

    process.kill(firstPid, 'SIGKILL');
    expect(await eventually(() => own.browserPid() === null)).toBe(true);

    const pdf = await own.render('<p>after the crash</p>');
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const secondPid = own.browserPid() as number;
    expect(secondPid).not.toBe(firstPid);
    expect(own.stats().launches).toBe(2);
    const secondProfile = await profileDirOf(secondPid);
    expect((await processesMentioning(secondProfile)).length).toBeGreaterThan(1);

    await own.close();
    expect(own.browserPid()).toBeNull();
    expect(await eventually(async () => (await processesMentioning(firstProfile)).length === 0)).toBe(true);
    expect(await eventually(async () => (await processesMentioning(secondProfile)).length === 0)).toBe(true);
    expect(alive(secondPid)).toBe(false);
    await expect(stat(secondProfile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await eventually(() => stat(firstProfile).then(() => false, () => true))).toBe(true);
  }, 60_000);

  it('when a render overruns its deadline, then it fails with TimeoutError and the renderer keeps working', async () => {
    const rows = Array.from({ length: 40_000 }, (_, i) => `<tr><td>${i}</td><td>${'x'.repeat(60)}</td></tr>`).join('');
    const error = await renderer.render(`<table>${rows}</table>`, { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    const pdf = await renderer.render('<p>still fine</p>', { timeoutMs: 20_000 });
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  }, 60_000);

  it('when the executable is not a browser, then render fails with BrowserUnavailableError(launch_failed) naming the fix', async () => {
    const broken = createPdfRenderer({ executablePath: '/bin/false', searchDefaults: false, log: silent, launchTimeoutMs: 5_000 });
    const error = await broken.render('<p>x</p>').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrowserUnavailableError);
    expect(error).toMatchObject({ reason: 'launch_failed', executablePath: '/bin/false' });
    expect((error as Error).message).toContain('apt-get install chromium');
    await broken.close();
  }, 30_000);

  it('when our charts are parsed by Chromium as XML, then they are well-formed SVG', async () => {
    const browser = await puppeteer.launch({
      executablePath: chromium as string,
      pipe: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    try {
      const page = await browser.newPage();
      for (const [name, embed] of Object.entries(sampleEmbeds())) {
        if (embed.kind !== 'svg') continue;
        const result = await page.evaluate((svg) => {
          const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
          const error = doc.getElementsByTagName('parsererror')[0];
          return { error: error?.textContent ?? null, root: doc.documentElement.nodeName, title: doc.querySelector('title')?.textContent ?? null };
        }, embed.svg);
        expect({ name, ...result }).toEqual({ name, error: null, root: 'svg', title: expect.any(String) });
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
});
