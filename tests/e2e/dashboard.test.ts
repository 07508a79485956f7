import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'puppeteer-core';
import { EXAMPLES_DIR, tempDir } from '../fixtures/paths.js';
import { startTestServer, waitForIncident, type TestServer } from '../fixtures/coordinator.js';
import { launchBrowser, openPage, screenshot, SCREENSHOTS_DIR, textOf, type TestBrowser } from './browser.js';

/** Dashboard end to end in real Chromium against a real coordinator (offline incidents). */

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

async function startPaced(server: TestServer, scenario: string, speed: number): Promise<string> {
  const res = await post(`${server.url}/start_incident`, { scenario, options: { offline: true, replay_speed: speed } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { incident_id: string }).incident_id;
}

async function waitForFile(dir: string, suffix: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = (await readdir(dir)).find((f) => f.endsWith(suffix));
    if (done) return path.join(dir, done);
    if (Date.now() > deadline) throw new Error(`no *${suffix} downloaded into ${dir}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const feedCount = (page: Page) => page.$$eval('.feed .entry', (els) => els.length);
const statusBadge = (page: Page) => textOf(page, '.incident-header .status');

describe('dashboard in Chromium', () => {
  let server: TestServer;
  let chrome: TestBrowser;
  let hostile: { dir: string; cleanup: () => Promise<void> };
  let completedId = '';

  beforeAll(async () => {
    // The examples plus a bundle whose logs carry markup: it must show up as text, never run.
    hostile = await tempDir('e2e-examples');
    await cp(EXAMPLES_DIR, hostile.dir, { recursive: true });
    await cp(path.join(EXAMPLES_DIR, 'disk_fill'), path.join(hostile.dir, 'hostile'), { recursive: true });
    // A stream of its own, so the test does not depend on which streams the recording has.
    const logDir = path.join(hostile.dir, 'hostile', 'logs', 'incident');
    await mkdir(logDir, { recursive: true });
    await writeFile(
      path.join(logDir, 'kernel.log'),
      'Nov 20 14:00:23 chsbx kernel: write failed <img src=x onerror="document.title=\'pwned\'"><b>bold</b>: No space left on device\n',
    );
    // The sandbox recording of disk_fill has no log lines (nothing there writes to the full /tmp);
    // give the form's copy the kernel line a full disk logs, so the logs panel has a template.
    const diskLogs = path.join(hostile.dir, 'disk_fill', 'logs', 'incident');
    await mkdir(diskLogs, { recursive: true });
    await writeFile(path.join(diskLogs, 'kernel.log'), 'Nov 22 23:50:31 chaos-sandbox kernel: EXT4-fs warning (device loop0): ext4_da_write_begin: write failed: No space left on device\n');
    server = await startTestServer({ CHAOS_EXAMPLES_DIR: hostile.dir });
    chrome = await launchBrowser();
  });

  afterAll(async () => {
    await chrome?.close();
    await server?.stop();
    await hostile?.cleanup();
  });

  it('when an offline incident is started from the form, then trace entries arrive live and the diagnosis appears', async () => {
    const { page, problems } = await openPage(chrome.browser);
    try {
      await page.goto(`${server.url}/`, { waitUntil: 'networkidle0' });
      await page.waitForSelector('html[data-ready="true"]');
      await page.select('#scenario', 'disk_fill');
      await page.waitForSelector('#scenario-options input[name="size_mb"]');
      // Paced replay: the recorded 12 s baseline, 24 s incident and 2 s recovery windows take about 4 s.
      await page.type('input[name="replay_speed"]', '10');
      await page.click('#start-button');
      await page.waitForFunction(() => /^#\/incidents\/inc-/.test(location.hash));
      completedId = (await page.evaluate(() => location.hash)).replace('#/incidents/', '');

      await page.waitForSelector('.live-badge.mode-live', { timeout: 5000 });
      const early = await feedCount(page);
      expect(await statusBadge(page)).toBe('running');
      expect(early).toBeGreaterThan(0);
      // More entries arrive while the incident is still running: the feed is live, not a reload.
      await page.waitForFunction((n) => document.querySelectorAll('.feed .entry').length > n, { timeout: 8000 }, early);
      expect(['running', 'completed']).toContain(await statusBadge(page));

      await page.waitForFunction(() => document.querySelector('#diagnosis-category')?.textContent === 'Disk full', { timeout: 15_000 });
      expect(await textOf(page, '#diagnosis-culprit')).toContain('/tmp');
      await page.waitForFunction(() => document.querySelector('.incident-header .status')?.textContent === 'completed', { timeout: 15_000 });
      expect(await feedCount(page)).toBeGreaterThan(early);

      const agents = await page.$$eval('.feed .entry', (els) => [...new Set(els.map((el) => (el as HTMLElement).dataset.agent))].sort());
      expect(agents).toEqual(['Coordinator', 'FixerAgent', 'LogAgent', 'MetricsAgent', 'ReporterAgent', 'TesterAgent']);
      await page.waitForSelector('.charts .chart svg path.line');
      // The MetricsAgent's second finding (after the revert) reloads metrics.json with the recovery.
      await page.waitForFunction(() => /^recovered [\d.]+ s after the revert$/.test(document.querySelector('#recovery-time')?.textContent ?? ''), { timeout: 5000 });
      expect(await page.$$eval('.charts .chart', (els) => els.map((el) => el.querySelector('.chart-title')?.textContent))).toEqual(['CPU', 'Memory', 'Disk', 'Network']);
      await page.waitForSelector('#fix-script');
      expect(await textOf(page, '#fix-script')).toMatch(/^#!\/usr\/bin\/env bash/);
      expect(await textOf(page, '#risk-level')).toMatch(/^(low|medium|high) risk$/);
      expect(await textOf(page, '.logs table.templates')).toMatch(/No space left on device/);
      expect(await page.$eval('#download-pdf', (b) => (b as HTMLButtonElement).disabled)).toBe(false);

      // The report charts open as images in light and dark screenshots.
      await page.click('.report-charts > summary');
      await page.waitForFunction(() => [...document.querySelectorAll('.gallery img')].every((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0), { timeout: 5000 });
      await page.click('.report-charts > summary');
      await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
      await screenshot(page, 'completed-light-1280');
      // The toggle pins dark whatever the system says.
      const lightBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      await page.click('#theme-toggle');
      expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
      const darkBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(darkBg).not.toBe(lightBg);
      await screenshot(page, 'completed-dark-1280');
      await page.click('#theme-toggle');
      expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 40_000);

  it('when the system prefers dark and the page is on a phone, then it follows the system and stacks to one column', async () => {
    const { page, problems } = await openPage(chrome.browser, { width: 390, height: 844 });
    try {
      await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
      await page.goto(`${server.url}/#/incidents/${completedId}`, { waitUntil: 'networkidle0' });
      await page.waitForSelector('#diagnosis-category');
      await page.waitForSelector('#fix-script');
      expect(await page.evaluate(() => localStorage.getItem('chaos-handler.theme'))).toBe('light');
      await page.evaluate(() => localStorage.removeItem('chaos-handler.theme'));
      await page.reload({ waitUntil: 'networkidle0' });
      await page.waitForSelector('.charts .chart svg');
      expect(await page.evaluate(() => getComputedStyle(document.body).colorScheme)).toMatch(/dark/);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot(page, 'completed-dark-phone', { fullPage: false });
      await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
      await screenshot(page, 'completed-light-phone', { fullPage: false });
      await screenshot(page, 'completed-light-phone-full');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 20_000);

  it('when the API refuses the form, then its problem is shown next to the fields it names', async () => {
    const { page, problems } = await openPage(chrome.browser);
    try {
      await page.goto(`${server.url}/`, { waitUntil: 'networkidle0' });
      await page.waitForSelector('html[data-ready="true"]');
      await page.select('#scenario', 'disk_fill');
      const size = await page.waitForSelector('#scenario-options input[name="size_mb"]');
      await size!.click({ count: 3 });
      await size!.type('0');
      await page.click('#start-button');
      await page.waitForSelector('input[name="size_mb"][aria-invalid="true"]');
      expect(await page.$eval('input[name="size_mb"]', (el) => el.closest('.field')?.querySelector('.field-error')?.textContent ?? '')).toMatch(/>=\s*1|at least|too small/i);
      expect(await page.evaluate(() => location.hash)).toBe('');

      // A live target that is not enrolled (loopback, here) is refused before any connection.
      await page.click('input[name="target-mode"][value="live"]');
      await page.type('input[name="host"]', '127.0.0.1');
      await page.type('input[name="user"]', 'sre-demo');
      await size!.click({ count: 3 });
      await size!.type('64');
      await page.click('#start-button');
      await page.waitForFunction(() => document.querySelectorAll('.field-error, #form-errors li').length > 0 && !document.querySelector('input[name="size_mb"][aria-invalid]'));
      expect(await page.evaluate(() => location.hash)).toBe('');
      await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'form-refused-1280.png') });
      // The refused requests themselves are the only errors the browser may log.
      expect(problems.filter((p) => !/Failed to load resource: .* (400|403|404)/.test(p))).toEqual([]);
    } finally {
      await page.close();
    }
  }, 20_000);

  it('when the events stream cannot be opened, then the dashboard polls /status and still follows the incident', async () => {
    const { page, problems } = await openPage(chrome.browser);
    const id = await startPaced(server, 'net_latency', 12);
    try {
      await page.setRequestInterception(true);
      page.on('request', (request) => void (request.url().endsWith('/events') ? request.abort('connectionrefused') : request.continue()));
      await page.goto(`${server.url}/#/incidents/${id}`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('.live-badge.mode-polling');
      expect(await statusBadge(page)).toBe('running');
      await page.waitForFunction(() => document.querySelector('#diagnosis-category')?.textContent === 'Network degradation', { timeout: 15_000 });
      await page.waitForFunction(() => document.querySelector('.incident-header .status')?.textContent === 'completed', { timeout: 10_000 });
      const status = (await (await fetch(`${server.url}/status/${id}`)).json()) as { trace: unknown[] };
      expect(await feedCount(page)).toBe(status.trace.length);
      // The refused stream is the only error the page may log.
      expect(problems.filter((p) => !/ERR_CONNECTION_REFUSED/.test(p))).toEqual([]);
    } finally {
      await page.close();
    }
  }, 25_000);

  it('when report.pdf is clicked, then a PDF is downloaded', async () => {
    const { page, problems } = await openPage(chrome.browser);
    try {
      await page.goto(`${server.url}/#/incidents/${completedId}`, { waitUntil: 'networkidle0' });
      await page.waitForSelector('#download-pdf:not([disabled])');
      // Downloads never reach the page's network events: look at the file the browser saved.
      await page.click('#download-pdf');
      const file = await waitForFile(chrome.downloads, `${completedId}-report.pdf`);
      const bytes = await readFile(file);
      expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
      expect(bytes.subarray(-8).toString()).toContain('%%EOF');
      const type = await page.evaluate(async (url) => (await fetch(url)).headers.get('content-type'), `/report/${completedId}?format=pdf`);
      expect(type).toBe('application/pdf');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 20_000);

  it('when Stop is clicked, then a confirm dialog asks first and, once accepted, the incident ends aborted', async () => {
    let accept = false;
    const { page, problems, dialogs } = await openPage(chrome.browser, { answer: () => accept });
    // 1x: the recorded baseline alone takes 19 s, so it is surely still running when stopped.
    const id = await startPaced(server, 'cpu_spike', 1);
    try {
      await page.goto(`${server.url}/#/incidents/${id}`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#stop-incident');
      await page.click('#stop-incident');
      await page.waitForFunction(() => true);
      expect(dialogs).toHaveLength(1);
      expect(dialogs[0]).toContain(`Stop incident ${id}?`);
      expect(((await (await fetch(`${server.url}/status/${id}`)).json()) as { status: string }).status).toBe('running');

      accept = true;
      await page.click('#stop-incident');
      await page.waitForFunction(() => document.querySelector('.incident-header .status')?.textContent === 'aborted', { timeout: 10_000 });
      expect(dialogs).toHaveLength(2);
      expect(await page.$('#stop-incident')).toBeNull();
      expect(await textOf(page, '.incident-header .banner')).toMatch(/aborted: stopped by request/);
      expect(await textOf(page, '#diagnosis-culprit').catch(() => null)).toBeNull();
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 20_000);

  it('when Halt all is confirmed, then every running incident is stopped', async () => {
    const { page, problems, dialogs } = await openPage(chrome.browser);
    const ids = [await startPaced(server, 'memory_leak', 1), await startPaced(server, 'net_latency', 1)];
    try {
      await page.goto(`${server.url}/`, { waitUntil: 'networkidle0' });
      await page.waitForSelector(`.incident-row[data-incident-id="${ids[1]}"] .status-running`);
      await page.click('#halt-all');
      await page.waitForFunction(() => document.querySelector('#toasts')?.textContent?.includes('Halted 2 incident(s)'), { timeout: 10_000 });
      expect(dialogs).toEqual([expect.stringContaining('Halt every running incident?')]);
      for (const id of ids) expect((await waitForIncident(server.url, id, {}, 5000)).status).toBe('aborted');
      await page.waitForFunction((id) => document.querySelector(`.incident-row[data-incident-id="${id}"] .status`)?.textContent === 'aborted', { timeout: 6000 }, ids[0]);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 20_000);

  it('when a log line carries markup, then the dashboard shows it as text and runs nothing', async () => {
    const { page, problems } = await openPage(chrome.browser);
    const res = await post(`${server.url}/start_incident`, { scenario: 'disk_fill', options: { offline: true, bundle: 'hostile' } });
    const { incident_id: id } = (await res.json()) as { incident_id: string };
    try {
      await waitForIncident(server.url, id);
      await page.goto(`${server.url}/#/incidents/${id}`, { waitUntil: 'networkidle0' });
      await page.waitForSelector('#diagnosis-category');
      await page.waitForSelector('.logs .signatures');
      const shown = await page.evaluate(() => document.querySelector('#incident-view')?.textContent ?? '');
      expect(shown).toContain('<img src=x onerror=');
      expect(await page.$$('#incident-view img[src="x"], #incident-view b')).toHaveLength(0);
      expect(await page.title()).toBe('Chaos-Handler');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 20_000);

  it('when /docs is opened, then Swagger UI renders the API from local assets under its CSP', async () => {
    const { page, problems } = await openPage(chrome.browser);
    try {
      const external: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) external.push(r.url());
      });
      await page.goto(`${server.url}/docs/`, { waitUntil: 'networkidle0' });
      await page.waitForSelector('.swagger-ui .opblock', { timeout: 10_000 });
      const operations = await page.$$eval('.swagger-ui .opblock-summary-path', (els) => els.map((el) => el.textContent?.replace(/\u200b/g, '')));
      expect(operations).toEqual(expect.arrayContaining(['/start_incident', '/status/{id}', '/metrics', '/halt']));
      // No token on this server: the token form stays out of the way.
      expect(await page.$eval('#docs-token', (el) => getComputedStyle(el).display)).toBe('none');
      expect(external).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 20_000);
});

describe('dashboard in Chromium with a bearer token', () => {
  const TOKEN = 'e2e-dashboard-token-0123456789';
  let server: TestServer;
  let chrome: TestBrowser;
  beforeAll(async () => {
    server = await startTestServer({ CHAOS_API_TOKEN: TOKEN });
    chrome = await launchBrowser();
  });
  afterAll(async () => {
    await chrome?.close();
    await server?.stop();
  });

  it('when the API needs a token, then the page asks once, follows an incident with it and downloads with it', async () => {
    const { page, problems } = await openPage(chrome.browser);
    try {
      await page.goto(`${server.url}/`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#token-dialog[open]');
      // Cancelled: no more dialogs, but a button to enter it later.
      await page.click('#token-form button[value="cancel"]');
      await page.waitForSelector('#token-button:not([hidden])');
      expect(await textOf(page, '#token-button')).toBe('Enter token');
      expect(await page.$('#token-dialog[open]')).toBeNull();
      await page.click('#token-button');
      await page.waitForSelector('#token-dialog[open]');
      await page.type('#token-input', 'wrong-token');
      await page.click('#token-ok');
      await page.waitForSelector('#token-dialog[open] #token-error:not([hidden])');
      await page.type('#token-input', TOKEN);
      await page.click('#token-ok');
      await page.waitForSelector('html[data-ready="true"]');
      await page.select('#scenario', 'service_kill');
      await page.type('input[name="replay_speed"]', '20');
      await page.click('#start-button');
      await page.waitForSelector('.live-badge.mode-live', { timeout: 5000 });
      await page.waitForFunction(() => document.querySelector('#diagnosis-category')?.textContent === 'Service down', { timeout: 15_000 });
      await page.waitForFunction(() => document.querySelector('.incident-header .status')?.textContent === 'completed', { timeout: 15_000 });

      await page.waitForSelector('#download-md:not([disabled])');
      await page.click('#download-md');
      const file = await waitForFile(chrome.downloads, '-report.md');
      expect(await readFile(file, 'utf8')).toMatch(/^# Incident inc-/);

      // Asked once: a reload in the same tab goes straight in.
      await page.reload({ waitUntil: 'networkidle0' });
      await page.waitForSelector('html[data-ready="true"]');
      expect(await page.$('#token-dialog[open]')).toBeNull();
      await page.waitForSelector('#diagnosis-category');
      expect(await textOf(page, '#token-button')).toBe('Forget token');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 40_000);
});
