import type { Remediation } from '../../src/domain/index.js';
import { startTestServer, waitForIncident, type TestServer } from '../fixtures/coordinator.js';
import { launchBrowser, openPage, textOf, type TestBrowser } from './browser.js';

/**
 * The Remediation panel against the real routes, no host needed: a finished incident whose record
 * holds a remediation (what the panel shows once a plan has run, e.g. after a restart). The
 * approval itself on a live incident is tests/e2e/remediation.test.ts.
 */
describe('remediation panel in Chromium (real routes, record from disk)', () => {
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

  it('when the record holds a rolled-back plan, then each step shows its risk, command, rollback, state and output, the failed verification, and no Approve button', async () => {
    const res = await fetch(`${server.url}/incidents`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ scenario: 'investigate', options: { offline: true, bundle: 'disk_fill' } }) });
    const { incident_id: id } = (await res.json()) as { incident_id: string };
    await waitForIncident(server.url, id);
    const at = new Date().toISOString();
    const step = (n: number, risk: 'low' | 'high', state: 'rolled_back' | 'skipped', extra: Partial<Remediation['steps'][number]> = {}) => ({
      id: `s${n}`,
      action: 'free_path' as const,
      args: ['/tmp/chaos_fill'],
      description: `Free /tmp/chaos_fill (step ${n}) <b>not bold</b>`,
      risk,
      rollback: 'nothing to restore: the files were chaos filler',
      approved: state !== 'skipped',
      state,
      started_at: at,
      finished_at: at,
      exit_code: state === 'skipped' ? null : 0,
      output_tail: state === 'skipped' ? '' : 'removed 3 files, 700 MB\n',
      ...extra,
    });
    const remediation: Remediation = {
      status: 'rolled_back',
      mode: 'approve',
      proposed_at: at,
      expires_at: at,
      approver: 'erin',
      approved_at: at,
      rejected_by: null,
      reason: 'verification failed: the rollbacks ran',
      verify_s: 20,
      steps: [step(1, 'low', 'rolled_back'), step(2, 'high', 'skipped', { reason: 'high-risk: not approved', policy: { verdict: 'denied', reason: 'policy p.yaml: the command matches deny rule /rm/' } })],
      applied_at: at,
      verification: { ok: false, at, checks: [{ name: 'disk / used', ok: false, detail: '97 % (band 40–60 %)' }] },
      finished_at: at,
      chaos_cleanup: null,
    };
    const record = await server.coordinator.store.loadRecord(id);
    await server.coordinator.store.saveRecord({ ...record, options: { ...record.options, remediation: 'approve' }, remediation });

    const { page, problems } = await openPage(chrome.browser);
    try {
      await page.goto(`${server.url}/#/incidents/${id}`, { waitUntil: 'networkidle0' });
      await page.waitForFunction(() => document.querySelector('.remediation-status')?.textContent === 'rolled back', { timeout: 10_000 });
      const steps = await page.$$eval('.remediation-step', (els) =>
        els.map((el) => ({
          desc: el.querySelector('.step-desc')?.textContent,
          risk: el.querySelector('.risk')?.textContent,
          state: el.querySelector('.step-state')?.textContent,
          command: el.querySelector('.step-command')?.textContent,
          rollback: el.querySelector('.step-rollback')?.textContent,
          output: el.querySelector('.step-output pre')?.textContent ?? null,
          policy: el.querySelector('.policy')?.textContent ?? null,
        })),
      );
      expect(steps).toEqual([
        { desc: 'Free /tmp/chaos_fill (step 1) <b>not bold</b>', risk: 'low risk', state: 'rolled back', command: 'free_path /tmp/chaos_fill', rollback: 'nothing to restore: the files were chaos filler', output: 'removed 3 files, 700 MB\n', policy: null },
        { desc: 'Free /tmp/chaos_fill (step 2) <b>not bold</b>', risk: 'high risk', state: 'skipped', command: 'free_path /tmp/chaos_fill', rollback: 'nothing to restore: the files were chaos filler', output: null, policy: 'Policy: denied (policy p.yaml: the command matches deny rule /rm/)' },
      ]);
      expect(await page.$('.remediation-step b')).toBeNull();
      expect(await textOf(page, '.remediation-verification h3')).toBe('Verification failed');
      expect(await textOf(page, '.remediation-verification li')).toBe('✗ disk / used: 97 % (band 40–60 %)');
      expect(await page.$('#remediation-approve')).toBeNull();
      expect(await page.$('.approve-high-step')).toBeNull();
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('when a decision is posted for an incident that awaits none, then the API refuses it with a problem naming why', async () => {
    const res = await fetch(`${server.url}/incidents`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ scenario: 'investigate', options: { offline: true, bundle: 'healthy' } }) });
    const { incident_id: id } = (await res.json()) as { incident_id: string };
    await waitForIncident(server.url, id);
    const approve = await fetch(`${server.url}/incidents/${id}/remediation/approve`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ approver: 'erin' }) });
    expect(approve.status).toBe(409);
    expect(((await approve.json()) as { detail: string }).detail).toMatch(/no remediation awaiting a decision|not available/);
  });
});
