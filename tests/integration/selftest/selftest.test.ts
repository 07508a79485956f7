import { startTestServer, waitForIncident, type TestServer } from '../../fixtures/coordinator.js';
import type { IncidentRecord, TraceEntry } from '../../../src/domain/index.js';
import { measureIncident } from '../../../src/selftest/measure.js';

/**
 * The coordinator's self-test through the real wiring: the CHAOS_SELFTEST_* switches in the
 * config, a real coordinator over HTTP, offline replays of the recordings, and the answers the
 * pipeline gives (retries, the agent timeout, validation, partial reports).
 */
type Status = IncidentRecord & { trace: TraceEntry[] };

async function runIncident(server: TestServer, bundle = 'cpu_spike') {
  const res = await fetch(`${server.url}/start_incident`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ scenario: 'investigate', options: { offline: true, bundle } }) });
  expect(res.status).toBe(202);
  const { incident_id: id } = (await res.json()) as { incident_id: string };
  const status = (await waitForIncident(server.url, id)) as unknown as Status;
  const reportRes = await fetch(`${server.url}/report/${id}`);
  const report = reportRes.status === 200 ? await reportRes.text() : null;
  const injected = status.trace.flatMap((e) => {
    const s = (e.content as { selftest?: { fault: string; agent: string; attempt: number } }).selftest;
    return s ? [`${s.agent}#${s.attempt}:${s.fault}`] : [];
  });
  return { id, status, report, injected, summaries: status.trace.map((e) => (e.content as { summary?: string }).summary ?? '') };
}

const EXPECTED = { cpu_spike: 'cpu_saturation', disk_fill: 'disk_full', healthy: 'healthy' } as const;

const agent = (status: Status, name: string) => status.agents.find((a) => a.name === name)!;

describe('self-test of the agents (real coordinator, offline incidents)', () => {
  it('when the FixerAgent crashes on every attempt, then it is retried, and the report is a partial report that says what is missing and why', async () => {
    const server = await startTestServer({ CHAOS_PDF: 'false', CHAOS_SELFTEST_FAULTS: 'FixerAgent:crash:1', CHAOS_AGENT_RETRIES: '1', CHAOS_AGENT_RETRY_BACKOFF_MS: '50' });
    try {
      const { status, report, injected, summaries } = await runIncident(server);
      expect(status.status).toBe('completed');
      expect(injected).toEqual(['FixerAgent#1:crash', 'FixerAgent#2:crash']);
      expect(agent(status, 'FixerAgent')).toMatchObject({ state: 'failed', attempts: 2, error: 'self-test crash injected into FixerAgent' });
      expect(summaries).toContain('FixerAgent attempt 1 failed: self-test crash injected into FixerAgent; retrying in 50 ms (attempt 2 of 2)');
      expect(status.outcome).toBeNull();
      expect(report).toContain('## Partial report');
      expect(report).toMatch(/\| FixerAgent \| failed \| 2 \| self-test crash injected into FixerAgent \| the root cause, the hypotheses and the recommended fix/);
      expect(report).toMatch(/\| TesterAgent \| failed \| \d \| no diagnosis to test: FixerAgent did not succeed \|/);
      expect(measureIncident(status, status.trace, report).outcome).toBe('partial');
      // The retry is counted for Prometheus; the TesterAgent, with no diagnosis to test, is not retried.
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain('chaos_agent_retries_total{agent="FixerAgent",reason="failed"} 1');
      expect(metrics).not.toContain('chaos_agent_retries_total{agent="TesterAgent"');
    } finally {
      await server.stop();
    }
  });

  it('when an agent hangs, then it is cut at the agent timeout; a delayed agent still finishes; the report names what the hang cost', async () => {
    const server = await startTestServer({ CHAOS_PDF: 'false', CHAOS_SELFTEST_FAULTS: 'LogAgent:timeout:1,MetricsAgent:delay:1', CHAOS_AGENT_TIMEOUT_MS: '1000', CHAOS_AGENT_RETRIES: '0' });
    try {
      const { status, report, injected } = await runIncident(server);
      expect(injected).toEqual(['LogAgent#1:timeout', 'MetricsAgent#1:delay']);
      expect(agent(status, 'LogAgent')).toMatchObject({ state: 'timed_out', attempts: 1, error: 'did not finish within 1000 ms' });
      expect(agent(status, 'LogAgent').duration_ms).toBeGreaterThanOrEqual(1000);
      expect(agent(status, 'LogAgent').duration_ms).toBeLessThan(3000);
      expect(agent(status, 'MetricsAgent')).toMatchObject({ state: 'succeeded', attempts: 1 });
      expect(agent(status, 'MetricsAgent').duration_ms).toBeGreaterThanOrEqual(500);
      // The metrics alone still name the fault; the report says the logs are missing.
      expect(status.outcome?.category).toBe('cpu_saturation');
      expect(report).toMatch(/\| LogAgent \| timed out \| 1 \| did not finish within 1000 ms \| the Logs section; the diagnosis was made without log evidence/);
      expect(report).not.toContain('## Logs');
    } finally {
      await server.stop();
    }
  });

  it('when crashes and corrupted output are drawn at random, then the pipeline recovers each with a retry, and the same seed injects the same faults again', async () => {
    const env = { CHAOS_PDF: 'false', CHAOS_SELFTEST_FAULTS: '*:crash:0.25,*:corrupt:0.25', CHAOS_SELFTEST_SEED: '7', CHAOS_AGENT_RETRIES: '3', CHAOS_AGENT_RETRY_BACKOFF_MS: '10' };
    const runAll = async () => {
      const server = await startTestServer(env);
      try {
        const runs = [];
        for (const [bundle, expected] of Object.entries(EXPECTED)) runs.push({ ...(await runIncident(server, bundle)), expected });
        return runs;
      } finally {
        await server.stop();
      }
    };
    const first = await runAll();
    const injected = first.flatMap((r) => r.injected);
    expect(injected.some((f) => f.endsWith(':crash'))).toBe(true);
    expect(injected.some((f) => f.endsWith(':corrupt'))).toBe(true);
    for (const run of first) {
      const measured = measureIncident(run.status, run.status.trace, run.report);
      expect(measured.outcome).not.toBe('lost');
      // Corrupted output never reached the report: a complete incident has its right diagnosis.
      if (measured.outcome === 'complete') expect(run.status.outcome?.category).toBe(run.expected);
      for (const f of measured.faults.filter((x) => x.recovered)) expect(f.mttrMs).toBeGreaterThanOrEqual(0);
    }
    expect(first.flatMap((r) => r.summaries).some((s) => /^\w+Agent recovered on attempt \d, \d+ ms after its first attempt began$/.test(s))).toBe(true);
    expect(first.flatMap((r) => r.summaries).some((s) => / output failed validation: /.test(s))).toBe(true);

    const again = await runAll();
    expect(again.map((r) => r.injected)).toEqual(first.map((r) => r.injected));
  });
});
