import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AnyAgent } from '../../../src/agents/agent.js';
import type { TraceEntry } from '../../../src/domain/index.js';
import { OfflineConnector } from '../../../src/incidents/connector.js';
import { IncidentService } from '../../../src/incidents/incident-service.js';
import type { AgentHook } from '../../../src/incidents/pipeline.js';
import { StartIncidentRequest } from '../../../src/incidents/schema.js';
import { createLogger } from '../../../src/logger.js';
import { measureIncident } from '../../../src/selftest/measure.js';
import { IncidentStore } from '../../../src/store/incident-store.js';
import { EXAMPLES_DIR, tempDir } from '../../fixtures/paths.js';

/** How an agent misbehaves on its n-th attempt (1-based); undefined: it does its work. */
type Misbehaviour = 'throw' | 'fail' | 'corrupt' | 'hang';

/** A hook that scripts each agent's attempts (the self-test's own hook draws them at random). */
function scripted(plan: Partial<Record<AnyAgent['name'], Misbehaviour[]>>): AgentHook {
  return {
    forIncident() {
      const attempts = new Map<string, number>();
      return (agent) => ({
        name: agent.name,
        ...(agent.afterRevert ? { afterRevert: agent.afterRevert } : {}),
        async run(input) {
          const n = (attempts.get(agent.name) ?? 0) + 1;
          attempts.set(agent.name, n);
          switch (plan[agent.name]?.[n - 1]) {
            case 'throw':
              throw new Error(`scripted crash ${n}`);
            case 'fail':
              return { ok: false, error: `scripted failure ${n}` };
            case 'corrupt':
              return { ok: true, findings: { root_cause: 'not an object' } as never };
            case 'hang':
              return new Promise<never>((_, reject) => input.signal.addEventListener('abort', () => reject(input.signal.reason), { once: true }));
            default:
              return agent.run(input);
          }
        },
      });
    },
  };
}

async function runOffline(hook: AgentHook, options: { retries?: number; agentTimeoutMs?: number; backoffMs?: number; stopWhen?: (summary: string) => boolean } = {}) {
  const { dir, cleanup } = await tempDir('retries');
  const store = new IncidentStore(dir);
  await store.init();
  const service = new IncidentService({
    store,
    connector: new OfflineConnector({ examplesDir: EXAMPLES_DIR }),
    services: { pdfUnavailableReason: 'not in this test' },
    log: createLogger('silent'),
    agentTimeoutMs: options.agentTimeoutMs ?? 30_000,
    maxConcurrent: 1,
    agentHook: hook,
    retry: { retries: options.retries ?? 2, backoffMs: options.backoffMs ?? 20 },
  });
  const { record: started, done } = await service.start(StartIncidentRequest.parse({ scenario: 'investigate', options: { offline: true, bundle: 'cpu_spike' } }));
  const stopWhen = options.stopWhen;
  if (stopWhen) service.subscribe(started.id, (entry) => stopWhen((entry.content as { summary?: string }).summary ?? '') && void service.stop(started.id), () => undefined);
  const record = await done;
  const trace = await store.readTrace(record.id);
  const report = await readFile(path.join(dir, record.id, 'report.md'), 'utf8').catch(() => null);
  const summaries = trace.map((e: TraceEntry) => (e.content as { summary?: string }).summary ?? '');
  return { record, trace, report, summaries, cleanup, folder: path.join(dir, record.id) };
}

describe('agent retries, validation and partial reports', () => {
  it('when an agent crashes once, then it is retried after a pause and the incident completes with its diagnosis', async () => {
    const run = await runOffline(scripted({ FixerAgent: ['throw'] }));
    try {
      expect(run.record.status).toBe('completed');
      expect(run.record.outcome?.category).toBe('cpu_saturation');
      expect(run.record.agents.find((a) => a.name === 'FixerAgent')).toMatchObject({ state: 'succeeded', attempts: 2 });
      expect(run.summaries).toContainEqual('FixerAgent attempt 1 failed: scripted crash 1; retrying in 20 ms (attempt 2 of 3)');
      expect(run.summaries).toContainEqual(expect.stringMatching(/^FixerAgent recovered on attempt 2, \d+ ms after its first attempt began$/));
      expect(run.report).not.toContain('## Partial report');
      expect(measureIncident(run.record, run.trace, run.report)).toEqual({ outcome: 'complete', faults: [] });
    } finally {
      await run.cleanup();
    }
  });

  it('when an agent returns output that breaks its contract, then it is rejected, never reaches the next agent, and the retry is used', async () => {
    const run = await runOffline(scripted({ FixerAgent: ['corrupt', 'corrupt'] }));
    try {
      expect(run.record.agents.find((a) => a.name === 'FixerAgent')).toMatchObject({ state: 'succeeded', attempts: 3 });
      expect(run.summaries).toContainEqual(expect.stringMatching(/^FixerAgent attempt 1 failed: FixerAgent output failed validation: root_cause: /));
      expect(run.record.agents.find((a) => a.name === 'TesterAgent')?.state).toBe('succeeded');
      const fix = JSON.parse(await readFile(path.join(run.folder, 'fix_suggestion.json'), 'utf8')) as { root_cause: { category: string } };
      expect(fix.root_cause.category).toBe('cpu_saturation');
    } finally {
      await run.cleanup();
    }
  });

  it('when an attempt hangs, then it is cut at the agent timeout and the retry succeeds', async () => {
    const run = await runOffline(scripted({ LogAgent: ['hang'] }), { agentTimeoutMs: 1500 });
    try {
      expect(run.record.agents.find((a) => a.name === 'LogAgent')).toMatchObject({ state: 'succeeded', attempts: 2 });
      expect(run.summaries).toContainEqual('LogAgent attempt 1 timed out: did not finish within 1500 ms; retrying in 20 ms (attempt 2 of 3)');
      expect(run.record.agents.find((a) => a.name === 'LogAgent')!.duration_ms).toBeGreaterThanOrEqual(1500);
    } finally {
      await run.cleanup();
    }
  });

  it('when an agent fails on every attempt, then the report is a partial report naming it, why, and what is missing', async () => {
    const run = await runOffline(scripted({ FixerAgent: ['fail', 'throw', 'fail'] }));
    try {
      expect(run.record.status).toBe('completed');
      expect(run.record.agents.find((a) => a.name === 'FixerAgent')).toMatchObject({ state: 'failed', attempts: 3, error: 'scripted failure 3' });
      expect(run.summaries).toContainEqual('FixerAgent failed (after 3 attempts): scripted failure 3');
      const report = run.report!;
      expect(report).toContain('## Partial report');
      expect(report).toContain('2 agents did not succeed; this report is incomplete.');
      expect(report).toMatch(/\| FixerAgent \| failed \| 3 \| scripted failure 3 \| the root cause, the hypotheses and the recommended fix \\\(no fix\\_suggestion.json, no fix.sh\\\)/);
      expect(report).toMatch(/\| TesterAgent \| failed \| 1 \| no diagnosis to test: FixerAgent did not succeed \| the risk rating and rollback plan/);
      expect(measureIncident(run.record, run.trace, run.report).outcome).toBe('partial');
      // Its input is missing: trying the TesterAgent again could not help, so it is not retried.
      expect(run.record.agents.find((a) => a.name === 'TesterAgent')).toMatchObject({ state: 'failed', attempts: 1 });
    } finally {
      await run.cleanup();
    }
  });

  it('when the ReporterAgent fails on every attempt, then the coordinator writes a short partial report itself', async () => {
    const run = await runOffline(scripted({ ReporterAgent: ['throw', 'throw'] }), { retries: 1 });
    try {
      expect(run.record.agents.find((a) => a.name === 'ReporterAgent')).toMatchObject({ state: 'failed', attempts: 2 });
      const report = run.report!;
      expect(report).toMatch(/^# Incident inc-\S+: partial report/);
      expect(report).toMatch(/\| ReporterAgent \| failed \| 2 \| scripted crash 2 \| the full report/);
      expect(report).toContain('**CPU saturation** with confidence');
      expect(run.summaries).toContainEqual('report.md written as a partial report: the ReporterAgent failed');
      expect(measureIncident(run.record, run.trace, run.report).outcome).toBe('partial');
    } finally {
      await run.cleanup();
    }
  });

  it('when the incident is stopped while an agent waits for its retry, then it ends at once, the agent marked aborted', async () => {
    const started = Date.now();
    const run = await runOffline(scripted({ FixerAgent: ['throw'] }), { backoffMs: 20_000, stopWhen: (s) => s.startsWith('FixerAgent attempt 1 failed') });
    try {
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(run.record.status).toBe('aborted');
      expect(run.record.agents.find((a) => a.name === 'FixerAgent')).toMatchObject({ state: 'aborted', attempts: 1 });
      expect(run.report).toBeNull();
    } finally {
      await run.cleanup();
    }
  });

  it('when retries are 0, then a failed agent is not tried again', async () => {
    const run = await runOffline(scripted({ LogAgent: ['throw'] }), { retries: 0 });
    try {
      expect(run.record.agents.find((a) => a.name === 'LogAgent')).toMatchObject({ state: 'failed', attempts: 1 });
      expect(run.summaries).toContainEqual('LogAgent failed: scripted crash 1');
      expect(run.report).toMatch(/\| LogAgent \| failed \| 1 \| scripted crash 1 \| the Logs section; the diagnosis was made without log evidence/);
    } finally {
      await run.cleanup();
    }
  });
});
