import type { KnownGoodReference } from '../../../src/evidence/reference.js';
import { buildUp, judgeSample, learnProbes, newWatchMemory, type WatchProbe, type WatchSample } from '../../../src/watch/judge.js';

function sample(over: Partial<{ cpu: number; mem: number; tmp: number; db: number; top: WatchSample['top']; oom: number }> = {}): WatchSample {
  return {
    t: '2026-12-01T00:00:00.000Z',
    cpu: { busy_pct: over.cpu ?? 7, iowait_pct: 0, steal_pct: 0, cores: 2 },
    load1: 0.5,
    mem: { total_mb: 24_000, available_mb: 23_000, used_pct: over.mem ?? 2.5, swap_used_mb: 0, oom_kills: over.oom ?? 24 },
    disks: [{ mount: '/tmp', size_mb: 1024, used_mb: 0, used_pct: over.tmp ?? 0, inodes_used_pct: 0 }],
    net: [],
    top: over.top ?? [],
    db: { connections: over.db ?? 2, max_connections: 100, by_application: [] },
  };
}

const probe = (ok: boolean, latency: number | null, target = 'http://10.213.7.2:8080/health'): WatchProbe => ({ t: '2026-12-01T00:00:00.000Z', target, kind: 'http', ok, latency_ms: latency, ...(ok ? {} : { error: 'connection refused' }) });

const reference = {
  levels: {
    'mem.used_pct': { median: 2.5, p95: 2.5, min: 2.5, max: 2.5, n: 30 },
    'disk:/tmp.used_pct': { median: 0, p95: 0, min: 0, max: 0, n: 30 },
    'db.connections_pct': { median: 2, p95: 4, min: 0, max: 4, n: 30 },
    'mem.oom_kills': { median: 24, p95: 24, min: 24, max: 24, n: 30 },
  },
  probes: [{ target: 'http://10.213.7.2:8080/health', kind: 'http', ok_pct: 100, latency_ms_median: 50, n: 30 }],
} as unknown as KnownGoodReference;

describe('judging one watch sample', () => {
  it('when the host looks like its reference, then it is inside its band', () => {
    expect(judgeSample(sample(), [probe(true, 60)], reference, newWatchMemory())).toEqual([]);
  });

  it('when OOM kills happened after the reference but before the watch, then only kills while watched count', () => {
    const memory = newWatchMemory();
    expect(judgeSample(sample({ oom: 30 }), [], reference, memory)).toEqual([]);
    expect(judgeSample(sample({ oom: 31 }), [], reference, memory).map((b) => b.detail)).toEqual(['1 OOM kill(s) since the watch began']);
  });

  it('when CPUs are pinned, memory or a filesystem is at its limit, or DB connections near max, then each absolute limit is a breach', () => {
    const spinner = [{ pid: 7, comm: 'stress-ng', cpu_pct: 190, rss_mb: 5 }];
    const keys = judgeSample(sample({ cpu: 99, mem: 93, tmp: 95, db: 90, top: spinner }), [], null, newWatchMemory()).map((b) => b.key);
    expect(keys).toEqual(['cpu', 'memory', 'disk:/tmp', 'db']);
  });

  it("when the CPUs are pinned but not by this host's processes (a neighbour on shared CPUs), then that is no breach", () => {
    const idle = [{ pid: 7, comm: 'python3', cpu_pct: 3, rss_mb: 5 }];
    expect(judgeSample(sample({ cpu: 99, top: idle }), [], null, newWatchMemory())).toEqual([]);
  });

  it('when a filesystem or DB connections are far above the reference band but under the limits, then that is a breach too', () => {
    const breaches = judgeSample(sample({ tmp: 50, db: 40 }), [], reference, newWatchMemory());
    expect(breaches.map((b) => b.detail)).toEqual(['/tmp 50% full, normal at most 0%', 'DB connections at 40%, normal at most 4%']);
  });

  it('when a probe fails or answers five times slower than its normal, then it is a breach', () => {
    const breaches = judgeSample(sample(), [probe(false, null), probe(true, 900, 'tcp 10.213.7.2:22')], reference, newWatchMemory());
    expect(breaches.map((b) => b.detail)).toEqual(['http://10.213.7.2:8080/health failed: connection refused']);
    const memory = newWatchMemory();
    for (let i = 0; i < 5; i++) learnProbes([probe(true, 40, 'outside http://x/health')], memory);
    expect(judgeSample(sample(), [probe(true, 1500, 'outside http://x/health')], null, memory).map((b) => b.key)).toEqual(['probe:outside http://x/health']);
  });

  it('when a process grows by hundreds of MB while watched, then the leak is a breach whatever the host size', () => {
    const memory = newWatchMemory();
    const proc = (rss: number) => [{ pid: 900, comm: 'python3', cpu_pct: 3, rss_mb: rss, argv0: 'leaker' }];
    expect(judgeSample(sample({ top: proc(20) }), [], reference, memory)).toEqual([]);
    expect(judgeSample(sample({ top: proc(200) }), [], reference, memory)).toEqual([]);
    expect(judgeSample(sample({ top: proc(400) }), [], reference, memory).map((b) => b.detail)).toEqual(['leaker (pid 900) grew by 380 MB to 400 MB']);
  });

  it('when there is no reference, then the first sample is the band, and new OOM kills are counted from it', () => {
    const memory = newWatchMemory();
    expect(judgeSample(sample({ tmp: 20, oom: 3 }), [], null, memory)).toEqual([]);
    expect(judgeSample(sample({ tmp: 25, oom: 3 }), [], null, memory)).toEqual([]);
    expect(judgeSample(sample({ tmp: 45, oom: 5 }), [], null, memory).map((b) => b.detail)).toEqual(['2 OOM kill(s) since the watch began', '/tmp 45% full, normal at most 20%']);
  });
});

describe('the build-up before a breach', () => {
  const leaker = (rss: number) => ({ pid: 900, comm: 'python3', cpu_pct: 30, rss_mb: rss, argv0: 'leaker' });
  const rssBreach = { key: 'rss:python3', detail: 'leaker (pid 900) grew by 300 MB to 320 MB', pid: 900 };

  it('when a process appeared and grew in the samples still in band, then they are the fault building up, not the baseline', () => {
    const inBand = [sample(), sample(), sample({ top: [leaker(20)] }), sample({ top: [leaker(90)] }), sample({ top: [leaker(160)] }), sample({ top: [leaker(240)] })];
    expect(buildUp(inBand, [rssBreach])).toBe(4);
  });

  it('when the process grew only at the end, then only those samples are the build-up; a flat stretch before stays the baseline', () => {
    const inBand = [sample({ top: [leaker(20)] }), sample({ top: [leaker(20.4)] }), sample({ top: [leaker(20)] }), sample({ top: [leaker(150)] })];
    expect(buildUp(inBand, [rssBreach])).toBe(1);
  });

  it('when the fault arrived at once or measures no level, then nothing before the streak is taken from the baseline', () => {
    const inBand = [sample({ tmp: 1 }), sample({ tmp: 1.1 }), sample({ tmp: 1 })];
    expect(buildUp(inBand, [{ key: 'disk:/tmp', detail: '/tmp 95% full (limit 90%)' }])).toBe(0);
    const rising = [sample({ cpu: 10 }), sample({ cpu: 40 }), sample({ cpu: 80 })];
    expect(buildUp(rising, [{ key: 'cpu', detail: 'CPU 99% busy' }, { key: 'probe:http://x/', detail: 'http://x/ failed' }])).toBe(0);
  });

  it('when memory filled step by step, then the steps are the build-up, and the oldest sample always stays the baseline', () => {
    const inBand = [sample({ mem: 40 }), sample({ mem: 45 }), sample({ mem: 50 }), sample({ mem: 55 })];
    expect(buildUp(inBand, [{ key: 'memory', detail: 'memory 91% used (limit 90%)' }])).toBe(3);
  });
});
