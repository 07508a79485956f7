import { startTestServer, waitForIncident, type TestServer } from '../fixtures/coordinator.js';
import { ensureSandbox } from '../fixtures/sandbox.js';
import { launchBrowser, openPage, screenshot, type TestBrowser } from './browser.js';

/**
 * The Watches page in Chromium against a real coordinator and the real sandbox host: start a
 * watch from the form, see it sample, stop it; a refused target is named. The incident list says
 * what opened an incident.
 */
describe('watches page in Chromium (real routes, sandbox host)', () => {
  let server: TestServer;
  let chrome: TestBrowser;

  beforeAll(async () => {
    const sandbox = await ensureSandbox();
    server = await startTestServer({ CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false' });
    chrome = await launchBrowser();
  }, 660_000);

  afterAll(async () => {
    await chrome?.close();
    await server?.stop();
  });

  it('when a watch is started from the form, then its row shows it sampling the sandbox, and Stop ends it; an unknown target is refused with the reason', async () => {
    const { page, problems } = await openPage(chrome.browser);
    try {
      await page.goto(`${server.url}/dashboard/watches.html`, { waitUntil: 'networkidle0' });
      await page.waitForFunction(() => !document.getElementById('watches-empty')?.hidden, { timeout: 5_000 });

      await page.type('input[name="target"]', 'no-such-host');
      await page.click('#watch-form button[type="submit"]');
      await page.waitForFunction(() => !document.getElementById('watch-error')?.hidden, { timeout: 10_000 });
      expect(await page.$eval('#watch-error', (el) => el.textContent)).toMatch(/No enrolled target "no-such-host"/);

      await page.$eval('input[name="target"]', (el) => ((el as HTMLInputElement).value = 'sandbox'));
      await page.$eval('input[name="interval_s"]', (el) => ((el as HTMLInputElement).value = '1'));
      await page.click('#watch-form button[type="submit"]');
      await page.waitForFunction(() => Number(document.querySelector('#watches tr[data-target="sandbox"] td:nth-child(3)')?.textContent ?? 0) >= 2, { timeout: 30_000 });
      const cells = await page.$$eval('#watches tr[data-target="sandbox"] td', (tds) => tds.map((td) => td.textContent));
      expect(cells.slice(0, 2)).toEqual(['sandbox', 'watching']);
      expect(await page.$eval('#watch-error', (el) => (el as HTMLElement).hidden)).toBe(true);
      await screenshot(page, 'watches-page');

      await page.click('#watches button[data-stop="sandbox"]');
      await page.waitForFunction(() => document.querySelector('#watches tr[data-target="sandbox"]')?.getAttribute('data-state') === 'stopped', { timeout: 10_000 });
      expect(await page.$('#watches button[data-stop="sandbox"]')).toBeNull();
      expect(problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
    } finally {
      await page.close();
    }
    expect(((await (await fetch(`${server.url}/watches`)).json()) as { watches: { state: string }[] }).watches).toEqual([expect.objectContaining({ target: 'sandbox', state: 'stopped' })]);
  }, 90_000);

  it('when an incident was opened by watch mode or an alert, then the incident list says so', async () => {
    const ids: string[] = [];
    for (const bundle of ['cpu_spike', 'healthy']) {
      const res = await fetch(`${server.url}/incidents`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ scenario: 'investigate', options: { offline: true, bundle } }) });
      const { incident_id: id } = (await res.json()) as { incident_id: string };
      await waitForIncident(server.url, id);
      ids.push(id);
    }
    // What an alert and a watch write on the records they open (the live paths: tests/integration/alerts, watch).
    const [fromWatch, fromAlert] = ids as [string, string];
    const watched = await server.coordinator.store.loadRecord(fromWatch);
    await server.coordinator.store.saveRecord({ ...watched, trigger: 'watch', detected_at: watched.created_at });
    const alerted = await server.coordinator.store.loadRecord(fromAlert);
    await server.coordinator.store.saveRecord({ ...alerted, trigger: 'alert', detected_at: alerted.created_at, alert: { source: 'alertmanager', fingerprint: 'f1', name: 'HostCpuBusy', labels: {}, runbook_url: null, fired_at: alerted.created_at, resolved_at: null } });

    const { page, problems } = await openPage(chrome.browser);
    try {
      await page.goto(`${server.url}/`, { waitUntil: 'networkidle0' });
      await page.waitForSelector(`[data-incident-id="${fromAlert}"] .badge.trigger`, { timeout: 10_000 });
      expect(await page.$eval(`[data-incident-id="${fromWatch}"] .badge.trigger`, (el) => el.textContent)).toBe('watch');
      expect(await page.$eval(`[data-incident-id="${fromAlert}"] .badge.trigger`, (el) => [el.textContent, el.getAttribute('title')])).toEqual(['alert HostCpuBusy', 'alert firing']);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
