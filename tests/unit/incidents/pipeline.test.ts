import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MetricFindings } from '../../../src/agents/findings.js';
import type { ChaosController } from '../../../src/incidents/chaos.js';
import { IncidentService, type TargetConnector } from '../../../src/incidents/incident-service.js';
import { type IncidentRecord } from '../../../src/domain/index.js';
import { StartIncidentRequest } from '../../../src/incidents/schema.js';
import type { Evidence, MetricSample, Phase, SamplePhase } from '../../../src/evidence/schema.js';
import type { CollectSummary, EvidenceSource, RecoveryWindow } from '../../../src/evidence/source.js';
import { createLogger } from '../../../src/logger.js';
import { IncidentStore } from '../../../src/store/incident-store.js';
import { tempDir } from '../../fixtures/paths.js';

/**
 * The pipeline's story with a scripted evidence source (no host, no SSH: those are the live
 * tests): a CPU fault, its revert, and a host that comes back a few samples later.
 */
class ScriptedSource implements EvidenceSource {
  readonly kind = 'ssh' as const;
  readonly description = 'scripted host';
  readonly samples: MetricSample[] = [];
  private clock = Date.parse('2026-11-23T10:00:00.000Z');
  private started: string | null = null;
  private reverted: string | null = null;
  recoveryOffered = 0;

  /** `recovery`: the CPU values the host shows after the revert, one a second. */
  constructor(private readonly recovery: number[]) {}

  async collect(phase: Phase, durationS: number): Promise<CollectSummary> {
    for (let i = 0; i < durationS; i += 1) this.sample(phase, phase === 'baseline' ? 8 + (i % 3) : 97);
    return { phase, samples: durationS, probes: 0, seconds: durationS };
  }

  markFault(event: 'started' | 'reverted'): void {
    const t = new Date(this.clock).toISOString();
    if (event === 'started') this.started = t;
    else this.reverted = t;
  }

  async finish(): Promise<Evidence> {
    const window = (phase: Phase) => {
      const mine = this.samples.filter((s) => s.phase === phase);
      return { start: mine[0]!.t, end: mine.at(-1)!.t };
    };
    return {
      source: 'ssh',
      host: 'scripted',
      windows: { baseline: window('baseline'), incident: window('incident') },
      fault_started_at: this.started,
      fault_reverted_at: null,
      logs: { baseline: [], incident: [] },
      samples: [...this.samples],
      probes: [],
      snapshot: null,
    inventory: null,
    reference: null,
    };
  }

  async followRecovery(maxS: number, _signal: AbortSignal, settled: (w: RecoveryWindow) => boolean): Promise<RecoveryWindow> {
    const taken: MetricSample[] = [];
    const current = (): RecoveryWindow => ({
      window: taken.length ? { start: taken[0]!.t, end: taken.at(-1)!.t } : null,
      fault_reverted_at: this.reverted,
      samples: [...taken],
      probes: [],
    });
    for (const v of this.recovery.slice(0, maxS)) {
      taken.push(this.sample('recovery', v));
      this.recoveryOffered += 1;
      if (settled(current())) break;
    }
    return current();
  }

  async close(): Promise<null> {
    return null;
  }

  private sample(phase: SamplePhase, busy: number): MetricSample {
    this.clock += 1000;
    const s: MetricSample = {
      t: new Date(this.clock).toISOString(),
      phase,
      cpu: { busy_pct: busy, iowait_pct: 0, steal_pct: 0, cores: 2 },
      load1: 0.2,
      mem: { total_mb: 4096, available_mb: 3000, used_pct: 26, swap_used_mb: 0 },
      disks: [{ mount: '/', size_mb: 10_000, used_mb: 4000, used_pct: 40 }],
      net: [],
      top: [{ pid: 4242, comm: busy > 50 ? 'burner' : 'sshd', cpu_pct: busy > 50 ? 190 : 1, rss_mb: 10 }],
    };
    this.samples.push(s);
    return s;
  }
}

class RecordingChaos implements ChaosController {
  readonly description = 'a scripted CPU fault';
  reverts = 0;
  constructor(private readonly source: ScriptedSource) {}
  async inject(): Promise<string> {
    return 'injected';
  }
  async revert(): Promise<{ ok: boolean; detail: string }> {
    this.reverts += 1;
    this.source.markFault('reverted');
    return { ok: true, detail: 'reverted' };
  }
}

async function runIncident(options: { recovery: number[]; recovery_s?: number; renderPdf?: () => Promise<Uint8Array>; stopAfterMs?: number; onStart?: (stop: () => void) => void }) {
  const { dir, cleanup } = await tempDir('pipeline');
  const store = new IncidentStore(dir);
  await store.init();
  const source = new ScriptedSource(options.recovery);
  const chaos = new RecordingChaos(source);
  const connector: TargetConnector = {
    open: async () => ({ target: { kind: 'ssh', name: 'scripted', host: '192.0.2.10', port: 22, user: 'sre-demo' }, source, chaos }),
  };
  const service = new IncidentService({
    store,
    connector,
    services: options.renderPdf ? { renderPdf: options.renderPdf } : { pdfUnavailableReason: 'not in this test' },
    log: createLogger('silent'),
    agentTimeoutMs: 30_000,
    maxConcurrent: 1,
  });
  const request = StartIncidentRequest.parse({ scenario: 'cpu_spike', target_vm: { name: 'scripted' }, options: { baseline_s: 8, observe_s: 6, ...(options.recovery_s === undefined ? {} : { recovery_s: options.recovery_s }) } });
  const { record, done } = await service.start(request);
  if (options.stopAfterMs !== undefined) setTimeout(() => void service.stop(record.id), options.stopAfterMs);
  options.onStart?.(() => void service.stop(record.id));
  const finished: IncidentRecord = await done;
  const folder = path.join(dir, record.id);
  return { finished, folder, source, chaos, store, cleanup };
}

describe('the incident pipeline around the revert', () => {
  it('when the fault is reverted, then the host is watched until it settles and the report gives the recovery time', async () => {
    const { finished, folder, source, cleanup } = await runIncident({ recovery: [95, 60, 9, 10, 8, 9, 10, 9, 8, 9] });
    try {
      expect(finished.status).toBe('completed');
      expect(Object.keys(finished.phase_ms)).toEqual(['baseline', 'chaos', 'observe', 'agents', 'revert', 'recovery', 'report']);
      // Back in band at the third sample after the revert, settled three samples later: no need to watch all ten.
      expect(source.recoveryOffered).toBe(5);
      const metrics = JSON.parse(await readFile(path.join(folder, 'metrics.json'), 'utf8')) as { findings: MetricFindings; samples: MetricSample[] };
      expect(metrics.findings.recovery).toMatchObject({ recovered: true, recovery_s: 3, samples: 5 });
      expect(metrics.findings.recovery_s).toBe(3);
      expect(metrics.samples.filter((s) => s.phase === 'recovery')).toHaveLength(5);
      const report = await readFile(path.join(folder, 'report.md'), 'utf8');
      expect(report).toContain('Recovery: **3 s** after the revert');
      expect(report).toMatch(/\| CPU busy \| .* \| 3 s \|/);
      const trace = JSON.parse(await readFile(path.join(folder, 'trace.json'), 'utf8')) as { agent: string; content: { summary?: string } }[];
      const order = trace.map((e) => e.content.summary ?? '').filter((s) => /^recovered|^ReporterAgent started/.test(s));
      expect(order).toEqual([expect.stringMatching(/^recovered: every anomalous series back to normal 3 s after the revert/), 'ReporterAgent started']);
      expect(await readFile(path.join(folder, 'slack_summary.txt'), 'utf8')).toContain('Recovered 3 s after the revert');
    } finally {
      await cleanup();
    }
  });

  it('when the host does not come back within recovery_s, then the watch ends there and the report says not recovered', async () => {
    const { finished, folder, source, cleanup } = await runIncident({ recovery: [97, 96, 97, 95, 97, 96], recovery_s: 4 });
    try {
      expect(finished.status).toBe('completed');
      expect(source.recoveryOffered).toBe(4);
      const report = await readFile(path.join(folder, 'report.md'), 'utf8');
      expect(report).toContain('Recovery: **not within 4 s** of the revert (CPU busy still outside its normal band)');
    } finally {
      await cleanup();
    }
  });

  it('when recovery_s is 0, then there is no recovery phase and the report says n/a', async () => {
    const { finished, folder, source, cleanup } = await runIncident({ recovery: [9, 9, 9], recovery_s: 0 });
    try {
      expect(finished.phase_ms).not.toHaveProperty('recovery');
      expect(source.recoveryOffered).toBe(0);
      expect(await readFile(path.join(folder, 'report.md'), 'utf8')).not.toContain('Recovery watch');
    } finally {
      await cleanup();
    }
  });

  it('when the incident is stopped while the ReporterAgent waits on a slow PDF, then nothing is written after it ends', async () => {
    let renderStarted = 0;
    let stop = (): void => undefined;
    // Stopped right as the render begins (not after a fixed delay: on a loaded machine the agents
    // before it may take longer than any delay chosen).
    const slowPdf = () => {
      renderStarted = Date.now();
      setTimeout(stop, 50);
      return new Promise<Uint8Array>((resolve) => setTimeout(() => resolve(new TextEncoder().encode('%PDF-1.4 slow')), 3_000));
    };
    const { finished, folder, chaos, store, cleanup } = await runIncident({ recovery: [9, 9, 9, 9], renderPdf: slowPdf, onStart: (s) => (stop = s) });
    try {
      expect(renderStarted).toBeGreaterThan(0);
      expect(finished.status).toBe('aborted');
      expect(chaos.reverts).toBe(1);
      const reporter = finished.agents.find((a) => a.name === 'ReporterAgent');
      expect(reporter).toMatchObject({ state: 'aborted', error: expect.stringContaining('stopped') });
      const traceAtEnd = (await store.readTrace(finished.id)).length;
      // The render resolves ~3 s after it started; give it time to try its write.
      await new Promise((r) => setTimeout(r, Math.max(0, renderStarted + 3_500 - Date.now())));
      expect(existsSync(path.join(folder, 'report.pdf'))).toBe(false);
      expect(existsSync(path.join(folder, 'slack_summary.txt'))).toBe(false);
      expect((await store.readTrace(finished.id)).length).toBe(traceAtEnd);
    } finally {
      await cleanup();
    }
  }, 15_000);
});
