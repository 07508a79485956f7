import path from 'node:path';
import { writeOutputs } from '../../src/experiments/outputs.js';
import { ExperimentStore } from '../../src/store/experiment-store.js';
import { startTestServer, type TestServer } from '../fixtures/coordinator.js';
import { finishedExperiment, finishedRecords, finishedSummary } from '../fixtures/experiment-summary.js';
import { launchBrowser, openPage, screenshot, textOf, type TestBrowser } from './browser.js';

/** The experiments page in real Chromium against a real coordinator holding a finished experiment. */
describe('experiments page in Chromium', () => {
  let server: TestServer;
  let chrome: TestBrowser;
  const summary = finishedSummary();

  beforeAll(async () => {
    server = await startTestServer({ CHAOS_PDF: 'false' });
    // What the runner leaves: the summary, its outputs and a progress log, in the server's folder.
    const store = new ExperimentStore(path.join(server.incidentsDir, '.experiments'));
    await store.create(summary);
    await store.appendEvent(summary.experiment_id, { timestamp: '2026-12-01T00:00:01.000Z', run: 1, kind: 'experiment', step: 'inject', message: 'step 1: service_kill on sandbox' });
    await writeOutputs(summary, finishedExperiment, finishedRecords(), store, {});
    chrome = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await chrome?.close();
    await server?.stop();
  });

  it('when a finished experiment is opened, then its verdict, runs, charts, progress and downloads are shown without a CSP problem', async () => {
    const { page, problems } = await openPage(chrome.browser);
    await page.goto(`${server.url}/dashboard/experiments.html?id=${summary.experiment_id}`);
    await page.waitForSelector('#runs tbody tr');
    expect(await textOf(page, '#experiment-title')).toBe('Service kill under load');
    expect(await textOf(page, '#experiment-verdict')).toMatch(/Steady state held \(or was restored\) in every run · resilience/);
    expect(await page.$$eval('#runs tbody tr', (rows) => rows.map((r) => r.children[0]!.textContent))).toEqual(['baseline', 'run 1', 'run 2']);
    expect(await textOf(page, '#experiment-list')).toContain('Service kill under load · completed · held');
    // Every chart is fetched and drawn.
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('#experiment-charts img')].filter((i) => i.complete && i.naturalWidth > 0).length >= 5);
    await page.waitForSelector('#experiment-events li');
    expect(await textOf(page, '#experiment-events')).toContain('service_kill on sandbox');
    const downloads = await page.$$eval('#experiment-downloads button', (b) => b.map((x) => x.textContent));
    expect(downloads).toEqual(['report.md', 'summary.json', 'junit.xml', 'load.csv', 'runs.csv', 'runs.json']);
    await screenshot(page, 'experiments-page');
    expect(problems).toEqual([]);
  }, 30_000);

  it('when outputs are downloaded by name, then each comes with its type and nothing outside the folder is reachable', async () => {
    const base = `${server.url}/experiments/${summary.experiment_id}`;
    const junit = await fetch(`${base}/files/junit.xml`);
    expect(junit.status).toBe(200);
    expect(junit.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(junit.headers.get('content-disposition')).toBe(`attachment; filename="${summary.experiment_id}-junit.xml"`);
    expect(await junit.text()).toContain('<testsuites');
    const chart = await fetch(`${base}/files/charts/throughput.svg`);
    expect(chart.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    for (const name of ['..%2f..%2fetc%2fpasswd', '.summary.json', 'charts/..%2fsummary.json', 'nope.md']) expect([name, (await fetch(`${base}/files/${name}`)).status]).toEqual([name, 404]);
    const listed = (await (await fetch(`${server.url}/experiments`)).json()) as { experiments: { experiment_id: string; all_held: boolean }[] };
    expect(listed.experiments).toEqual([expect.objectContaining({ experiment_id: summary.experiment_id, all_held: true })]);
  });
});
