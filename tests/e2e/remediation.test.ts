import { ensureSandbox, onSandbox } from '../fixtures/sandbox.js';
import { startTestServer, type TestServer } from '../fixtures/coordinator.js';
import { ensureRemediationScripts, finished, getRemediation, startIncident, waitForProposal } from '../integration/remediation/harness.js';
import { launchBrowser, openPage, screenshot, textOf, type TestBrowser } from './browser.js';

/**
 * The dashboard's approval view in real Chromium on a real incident: a CPU fault injected on the
 * sandbox, diagnosed, its plan approved by clicking, applied over SSH and verified.
 */
describe('remediation approval in the dashboard (sandbox, Chromium)', () => {
  let server: TestServer;
  let chrome: TestBrowser;

  beforeAll(async () => {
    const sandbox = await ensureSandbox();
    await ensureRemediationScripts();
    server = await startTestServer({ CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false' });
    chrome = await launchBrowser();
  }, 660_000);

  afterAll(async () => {
    await chrome?.close();
    await server?.stop();
    await onSandbox('sudo -n /opt/chaos-scripts/cleanup_all.sh');
  });

  it('when a person approves the plan in the dashboard, then each step is shown with its risk and rollback, applied, verified, and MTTR is recorded', async () => {
    const id = await startIncident(server.url, 'cpu_spike', { duration: 90, load: 2, remediation: 'approve' });
    const proposed = await waitForProposal(server.url, id);
    const steps = proposed.remediation!.steps;
    expect(steps.length).toBeGreaterThan(0);

    const { page, problems } = await openPage(chrome.browser);
    try {
      await page.goto(`${server.url}/#/incidents/${id}`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#remediation-approve', { timeout: 10_000 });
      const shown = await page.$$eval('.remediation-step', (els) =>
        els.map((el) => ({ id: (el as HTMLElement).dataset.step, risk: el.querySelector('.risk')?.textContent, rollback: el.querySelector('.step-rollback')?.textContent, command: el.querySelector('.step-command')?.textContent })),
      );
      expect(shown.map((s) => [s.id, s.risk])).toEqual(steps.map((s) => [s.id, `${s.risk} risk`]));
      for (const s of shown) {
        expect(s.rollback).toBeTruthy();
        expect(s.command).toBeTruthy();
      }
      await screenshot(page, 'remediation-proposed');

      // Without a name nothing is sent: the panel asks for one.
      await page.click('#remediation-approve');
      await page.waitForSelector('#remediation-message');
      expect(await textOf(page, '#remediation-message')).toMatch(/name/);
      expect((await getRemediation(server.url, id)).remediation!.status).toBe('proposed');

      await page.type('#remediation-approver', 'dana (e2e)');
      for (const box of await page.$$('.approve-high-step')) await box.click();
      await page.click('#remediation-approve');

      // The panel shows how it ended; a timeout or another end prints the remediation's own account.
      await page.waitForFunction(() => ['resolved', 'failed', 'rolled back', 'expired'].includes(document.querySelector('.remediation-status')?.textContent ?? ''), { timeout: 120_000 }).catch(() => undefined);
      const ended = (await getRemediation(server.url, id)).remediation!;
      if (ended.status !== 'resolved') throw new Error(`remediation ${ended.status}: ${JSON.stringify({ reason: ended.reason, steps: ended.steps.map((s) => [s.action, s.state, s.output_tail.slice(-300)]), verification: ended.verification })}`);
      await page.waitForFunction(() => document.querySelector('.remediation-status')?.textContent === 'resolved', { timeout: 10_000 });
      const status = await finished(server.url, id);
      const rem = (await getRemediation(server.url, id)).remediation!;
      expect(rem).toMatchObject({ status: 'resolved', approver: 'dana (e2e)' });
      expect(rem.steps.every((s) => s.state === 'done' || s.state === 'skipped')).toBe(true);
      const timings = status.timings as { approved_at: string | null; mttr_s: number | null };
      expect(timings.approved_at).not.toBeNull();
      expect(typeof timings.mttr_s).toBe('number');
      await page.waitForFunction((mttr) => document.querySelector('#incident-mttr')?.textContent === `${mttr} s`, { timeout: 10_000 }, timings.mttr_s);
      expect(await page.$$eval('.remediation-step .step-state', (els) => els.map((el) => el.textContent))).toEqual(rem.steps.map((s) => s.state.replaceAll('_', ' ')));
      await screenshot(page, 'remediation-resolved');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 300_000);
});
