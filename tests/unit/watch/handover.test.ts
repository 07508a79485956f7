import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { analyzeLogs } from '../../../src/agents/log/log-agent.js';
import { analyzeMetrics } from '../../../src/agents/metrics/metrics-agent.js';
import { diagnose } from '../../../src/agents/fixer/diagnose.js';
import type { IncidentRecord, TraceEntry } from '../../../src/domain/index.js';
import { readBundle, serializeBundle } from '../../../src/evidence/bundle.js';
import type { MetricSample, ProbeResult } from '../../../src/evidence/schema.js';
import type { PriorSamples } from '../../../src/evidence/source.js';
import { SshEvidenceSource } from '../../../src/evidence/ssh/ssh-evidence-source.js';
import { IncidentService, type IncidentOrigin, type TargetConnector } from '../../../src/incidents/incident-service.js';
import { StartIncidentRequest } from '../../../src/incidents/schema.js';
import { createLogger } from '../../../src/logger.js';
import { IncidentStore } from '../../../src/store/incident-store.js';
import { WatchOptions } from '../../../src/watch/schema.js';
import { Watcher } from '../../../src/watch/watcher.js';
import { fakeWatchLink } from './fake-watch-link.js';
import { tempDir } from '../../fixtures/paths.js';
import { LEAK_TOP_MB, LEAK_TRAIL, LEAKER, PROBE_TARGET, samplerLines, scriptedConnection } from './leaky-host.js';

const log = createLogger('silent');
const T0 = Date.parse('2026-12-01T09:00:00.000Z');
const at = (i: number) => new Date(T0 + i * 1000);

/** The watch's link to the leaky host: the test prints each tick of its sampler. */
function watchLink() {
  const { link, feed } = fakeWatchLink();
  return { link, tick: (i: number, rss: number | null) => samplerLines(at(i), rss, rss !== null && rss < LEAK_TOP_MB).forEach(feed) };
}

type Detection = { detected_at: string; seen: PriorSamples };

/** Watches the leaky host through LEAK_TRAIL; returns what the watch handed to the investigation it opened. */
async function watchTheLeak(): Promise<Detection> {
  const host = watchLink();
  let now = T0;
  const opened: Detection[] = [];
  const watcher = new Watcher({
    target: 'leaky',
    options: WatchOptions.parse({ interval_s: 1, consecutive: 3, cooldown_s: 600, outside_probes: false }),
    connect: async () => host.link,
    investigate: async (d) => (opened.push(d), 'inc-handed'),
    log,
    now: () => new Date(now),
  });
  await watcher.start();
  for (const [i, rss] of LEAK_TRAIL.entries()) {
    now = at(i).getTime() + 300;
    host.tick(i, rss);
  }
  await new Promise((r) => setImmediate(r));
  await watcher.stop();
  expect(opened).toHaveLength(1);
  return opened[0]!;
}

/** One investigation of the leaky host after the leak, through the real pipeline and agents. */
async function investigate(origin: IncidentOrigin, hostFrom: Date) {
  const { dir, cleanup } = await tempDir('handover');
  const store = new IncidentStore(dir);
  await store.init();
  let recorded: { files: { name: string; content: string }[] } | null = null;
  // As the SSH connector does for investigations: a healthy verdict would refresh the reference.
  const learned: string[] = [];
  const connector: TargetConnector = {
    open: async () => ({
      target: { kind: 'ssh', name: 'leaky', host: '10.0.0.5', port: 22, user: 'sre-demo' },
      source: new SshEvidenceSource(scriptedConnection(hostFrom), { host: 'sre-demo@leaky (10.0.0.5:22)', probes: [], reference: null, maxSeconds: 60, log }),
      chaos: null,
      onDiagnosis: async (incidentId) => (learned.push(incidentId), 'known-good reference of leaky refreshed from this healthy run'),
      // As the SSH connector's --record does: the evidence as an offline bundle in the incident folder.
      record: async (incidentId, evidence) => {
        const manifest = { format_version: 1 as const, label: 'investigate', host: evidence.host, recorded_from: 'vm' as const, recorded_at: new Date().toISOString(), windows: evidence.windows, fault_started_at: evidence.fault_started_at, fault_reverted_at: evidence.fault_reverted_at };
        recorded = { files: serializeBundle(manifest, evidence) };
        for (const file of recorded.files) await store.writeArtifact(incidentId, `bundle/${file.name}`, file.content);
      },
    }),
  };
  const service = new IncidentService({ store, connector, services: { pdfUnavailableReason: 'not in this test' }, log, agentTimeoutMs: 30_000, maxConcurrent: 1 });
  const request = StartIncidentRequest.parse({ scenario: 'investigate', target_vm: { name: 'leaky' }, options: { baseline_s: 1, observe_s: 1, recovery_s: 0, record: true } });
  const { record, done } = await service.start(request, origin);
  const finished: IncidentRecord = await done;
  const folder = path.join(dir, record.id);
  const json = async <T>(file: string) => JSON.parse(await readFile(path.join(folder, file), 'utf8')) as T;
  return { finished, folder, json, recorded: recorded !== null, learned, cleanup };
}

describe('watch mode hands the investigation what it saw', () => {
  it('when a process leaks and has stopped growing by the time the investigation looks, then the watch hands over the climb, and the investigation says memory_pressure naming the leaking pid', async () => {
    const { detected_at, seen } = await watchTheLeak();
    // In band, before the leaker ran: the baseline. From its first sample on (the climb the
    // 256 MB limit still allowed, then the three samples out of band): the fault.
    expect(seen.first_out_at).toBe(at(10).toISOString());
    expect(seen.before.map((s) => s.t)).toEqual([0, 1, 2, 3, 4].map((i) => at(i).toISOString()));
    expect(seen.during.map((s) => s.top.find((p) => p.pid === LEAKER.pid)?.rss_mb)).toEqual([15, 75, 135, 195, 255, 315, 375, 420]);
    expect(seen.probes.map((p) => p.t)).toEqual(LEAK_TRAIL.slice(0, 13).map((_, i) => new Date(at(i).getTime() - 200).toISOString()));
    expect(seen.probes.every((p) => p.target === PROBE_TARGET)).toBe(true);

    // The investigation's own sampler starts after the watch's last sample.
    const run = await investigate({ trigger: 'watch', detected_at, prior: seen }, at(LEAK_TRAIL.length));
    try {
      expect(run.finished).toMatchObject({ status: 'completed', outcome: { category: 'memory_pressure', culprit: 'cache-warmer' } });
      const fix = await run.json<{ root_cause: { category: string; culprit: { pid: number; pids: number[] } } }>('fix_suggestion.json');
      expect(fix.root_cause.culprit).toMatchObject({ pid: LEAKER.pid, pids: [LEAKER.pid] });

      // The evidence: the watch's samples first, in time order, none of the investigation's own overlapping them.
      const metrics = await run.json<{ samples: MetricSample[]; probes: ProbeResult[] }>('metrics.json');
      const times = metrics.samples.map((s) => Date.parse(s.t));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(new Set(times).size).toBe(times.length);
      expect(metrics.samples.slice(0, 13).map((s) => s.t)).toEqual([...seen.before, ...seen.during].map((s) => s.t));
      expect(metrics.samples.filter((s) => s.phase === 'baseline').map((s) => s.t)).toEqual(seen.before.map((s) => s.t));
      const own = metrics.samples.slice(13);
      expect(own.length).toBeGreaterThan(3);
      expect(own.every((s) => s.phase === 'incident' && Date.parse(s.t) > Date.parse(at(12).toISOString()))).toBe(true);
      // Probes by their own time: the one taken 0.2 s before the leaker's first sample is still baseline.
      expect(metrics.probes.filter((p) => p.phase === 'baseline').map((p) => p.t)).toEqual(seen.probes.slice(0, 6).map((p) => p.t));

      // The record and the trace say where they come from; the baseline was not looked at again.
      expect(run.finished.phase_ms).toHaveProperty('baseline');
      const trace = await run.json<TraceEntry[]>('trace.json');
      const summaries = trace.map((e) => (e.content as { summary?: string }).summary ?? '');
      expect(summaries).toContainEqual(
        `this investigation includes 13 samples from watch mode: 5 in band before the host left it (the baseline window, ${at(0).toISOString()} to ${at(4).toISOString()}) and 8 from ${at(5).toISOString()} on, the fault building up and out of band from ${at(10).toISOString()} (the start of the incident window)`,
      );
      const baseline = trace.find((e) => e.type === 'phase' && (e.content as { phase: string; state: string }).phase === 'baseline' && (e.content as { state: string }).state === 'finished');
      expect(baseline?.content).toMatchObject({ detail: '5 samples, 6 probes over 4 s taken by watch mode before the host left its band (not collected again)' });

      // Fault start from the evidence (the leaker's first sample), no later than the watch's first sample out of band: an honest MTTD.
      expect(run.finished.timings).toMatchObject({ fault_started_at: at(5).toISOString(), fault_start_source: 'estimated', detected_at });
      expect(run.finished.timings!.mttd_s).toBeCloseTo((Date.parse(detected_at) - at(5).getTime()) / 1000, 1);

      // The bundle keeps them: an offline replay sees the same windows and says the same.
      expect(run.recorded).toBe(true);
      const replay = (await readBundle(path.join(run.folder, 'bundle'))).evidence;
      expect(replay.samples.map((s) => [s.t, s.phase])).toEqual(metrics.samples.map((s) => [s.t, s.phase]));
      expect(replay.windows.baseline).toEqual({ start: at(0).toISOString(), end: at(4).toISOString() });
      expect(replay.windows.incident.start).toBe(at(5).toISOString());
      const again = diagnose(replay, analyzeLogs(replay), analyzeMetrics(replay));
      expect(again.root_cause).toMatchObject({ category: 'memory_pressure', culprit: { pid: LEAKER.pid } });
    } finally {
      await run.cleanup();
    }
  });

  it("when the same leak is investigated without the watch's samples, then the flat process it finds reads as a healthy host (the problem this handover solves)", async () => {
    const run = await investigate({ trigger: 'watch', detected_at: at(13).toISOString() }, at(LEAK_TRAIL.length));
    try {
      expect(run.finished.status).toBe('completed');
      expect(run.finished.outcome).toMatchObject({ category: 'healthy', culprit: null });
      // Something saw this host out of its band: a healthy verdict is not learned as its normal.
      expect(run.learned).toEqual([]);
      const trace = await run.json<TraceEntry[]>('trace.json');
      expect(trace.map((e) => (e.content as { summary?: string }).summary)).toContainEqual(
        "known-good reference not refreshed: this run was opened by watch mode, so a healthy verdict is not learned as the host's normal (chaos-handler baseline refreshes it on purpose)",
      );
    } finally {
      await run.cleanup();
    }
  });

  it('when the watch saw no sample in band before the breach, then the investigation says why it uses none and looks for itself', async () => {
    const { detected_at, seen } = await watchTheLeak();
    const bare: PriorSamples = { ...seen, before: seen.before.slice(0, 1) };
    const run = await investigate({ trigger: 'watch', detected_at, prior: bare }, at(LEAK_TRAIL.length));
    try {
      const trace = await run.json<TraceEntry[]>('trace.json');
      expect(trace.map((e) => (e.content as { summary?: string }).summary)).toContainEqual(
        'the 9 samples watch mode took before it opened this incident are not used: 1 sample(s) in band before the host left it, fewer than the 2 a baseline needs',
      );
      const metrics = await run.json<{ samples: MetricSample[] }>('metrics.json');
      expect(metrics.samples.every((s) => Date.parse(s.t) > at(LEAK_TRAIL.length).getTime())).toBe(true);
      expect(metrics.samples.some((s) => s.phase === 'baseline')).toBe(true);
    } finally {
      await run.cleanup();
    }
  });
});
