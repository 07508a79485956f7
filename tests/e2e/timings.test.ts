import { startTestServer, waitForIncident, type TestServer } from '../fixtures/coordinator.js';
import { launchBrowser, openPage, textOf, type TestBrowser } from './browser.js';

/** The incident header's timings in real Chromium against a real coordinator (offline replay). */
describe('dashboard timings in Chromium', () => {
  let server: TestServer;
  let chrome: TestBrowser;

  beforeAll(async () => {
    server = await startTestServer({ CHAOS_PDF: 'false' });
    chrome = await launchBrowser();
  });

  afterAll(async () => {
    await chrome?.close();
    await server?.stop();
  });

  it('when a replayed incident has finished, then its header shows the MTTD the record holds, MTTR n/a, and no remediation panel', async () => {
    const res = await fetch(`${server.url}/incidents`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ scenario: 'investigate', options: { offline: true, bundle: 'cpu_spike' } }) });
    const { incident_id: id } = (await res.json()) as { incident_id: string };
    const status = await waitForIncident(server.url, id);
    const mttd = (status.timings as { mttd_s: number }).mttd_s;
    expect(typeof mttd).toBe('number');

    const { page, problems } = await openPage(chrome.browser);
    try {
      await page.goto(`${server.url}/#/incidents/${id}`, { waitUntil: 'networkidle0' });
      await page.waitForSelector('#incident-mttd');
      expect(await textOf(page, '#incident-mttd')).toBe(`${mttd} s`);
      expect(await textOf(page, '#incident-mttr')).toBe('—');
      expect(await page.$eval('#remediation-panel', (el) => (el as HTMLElement).hidden)).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
