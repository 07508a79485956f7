/**
 * A host that is not ours, with a fault that was already there when `investigate` began: the
 * same in both windows, so nothing "changes" inside the run. The diagnosis must still name it,
 * from absolute limits and from the host's known-good reference (SPEC §1, §9).
 */
import { analyzeLogs } from '../../../src/agents/log/log-agent.js';
import { analyzeMetrics } from '../../../src/agents/metrics/metrics-agent.js';
import { diagnose } from '../../../src/agents/fixer/diagnose.js';
import type { Evidence } from '../../../src/evidence/schema.js';
import { hostEvidence, inventory, LISTENERS } from '../../fixtures/synthetic-host.js';

function run(evidence: Evidence) {
  return diagnose(evidence, analyzeLogs(evidence), analyzeMetrics(evidence));
}

/** "No wrong answer with confidence ≥ 0.7": every other hypothesis stays below it. */
function expectNoConfidentRival(d: ReturnType<typeof run>) {
  for (const h of d.hypotheses.filter((h) => h.category !== d.root_cause.category)) expect(h.confidence).toBeLessThan(0.7);
}

const refused = 'ConnectionRefusedError: [Errno 111] Connection refused';

describe('diagnosing a host whose fault predates the run', () => {
  it('when a runaway started as shop-indexer pins both CPUs all along, then it is cpu_saturation naming shop-indexer with its executable', () => {
    const d = run(
      hostEvidence({
        sample: (s) => ({
          ...s,
          cpu: { ...s.cpu, busy_pct: 99.5 },
          load1: 4.1,
          top: [
            { pid: 901, comm: 'perl', argv0: 'shop-indexer', exe: '/usr/bin/perl', cpu_pct: 98.7, rss_mb: 6 },
            { pid: 902, comm: 'perl', argv0: 'shop-indexer', exe: '/usr/bin/perl', cpu_pct: 98.1, rss_mb: 6 },
            ...s.top,
          ],
        }),
      }),
    );
    expect(d.root_cause.category).toBe('cpu_saturation');
    expect(d.root_cause.culprit).toMatchObject({ kind: 'process', name: 'shop-indexer', exe: '/usr/bin/perl' });
    expect([901, 902]).toContain(d.root_cause.culprit?.pid);
    expect(d.root_cause.confidence).toBeGreaterThanOrEqual(0.7);
    expect(d.root_cause.summary).toContain('pinned');
    expectNoConfidentRival(d);
  });

  it('when the runaway gets only part of the CPUs because a neighbour outside the host competes, then it is still cpu_saturation naming it', () => {
    const d = run(
      hostEvidence({
        sample: (s) => ({
          ...s,
          cpu: { ...s.cpu, busy_pct: 100 },
          top: [
            { pid: 901, comm: 'python3', argv0: 'shop-indexer', exe: '/usr/bin/python3.11', cpu_pct: 22, rss_mb: 9 },
            { pid: 902, comm: 'python3', argv0: 'shop-indexer', exe: '/usr/bin/python3.11', cpu_pct: 19, rss_mb: 9 },
            ...s.top,
          ],
        }),
      }),
    );
    expect(d.root_cause.category).toBe('cpu_saturation');
    expect(d.root_cause.culprit?.name).toBe('shop-indexer');
    expect(d.root_cause.confidence).toBeGreaterThanOrEqual(0.6);
  });

  it('when an OOM kill happened after the reference but none during the run and memory is fine, then it is cited but not called memory_pressure', () => {
    const d = run(hostEvidence({ sample: (s) => ({ ...s, mem: { ...s.mem, oom_kills: 3 } }) }));
    expect(d.hypotheses.find((h) => h.category === 'memory_pressure')?.confidence ?? 0).toBeLessThan(0.5);
    expect(d.root_cause.category).toBe('healthy');
  });

  it('when the CPUs sit far above their normal only from load outside this host, then the reference alone does not make it cpu_saturation', () => {
    const d = run(hostEvidence({ sample: (s, i) => ({ ...s, cpu: { ...s.cpu, busy_pct: 80 + (i % 10) } }) }));
    expect(d.hypotheses.find((h) => h.category === 'cpu_saturation')?.confidence ?? 0).toBeLessThan(0.5);
  });

  it('when the CPUs are busy but no process of this host is behind it (a noisy neighbour), then it is not called cpu_saturation with confidence', () => {
    const d = run(hostEvidence({ sample: (s) => ({ ...s, cpu: { ...s.cpu, busy_pct: 97 } }) }));
    expect(d.hypotheses.find((h) => h.category === 'cpu_saturation')?.confidence ?? 0).toBeLessThan(0.7);
    expect(d.root_cause.category).not.toBe('healthy');
  });

  it('when cache-warmer holds 95 % of the memory cgroup all along, then it is memory_pressure naming it', () => {
    const d = run(
      hostEvidence({
        sample: (s) => ({
          ...s,
          mem: { ...s.mem, available_mb: 30, used_pct: 96.1, oom_kills: 2 },
          top: [{ pid: 950, comm: 'python3', argv0: 'cache-warmer', exe: '/usr/bin/python3.11', cpu_pct: 0.5, rss_mb: 700 }, ...s.top],
        }),
      }),
    );
    expect(d.root_cause.category).toBe('memory_pressure');
    expect(d.root_cause.culprit).toMatchObject({ kind: 'process', name: 'cache-warmer', pid: 950 });
    expect(d.root_cause.confidence).toBeGreaterThanOrEqual(0.7);
    expect(d.root_cause.evidence.map((e) => e.detail).join('\n')).toMatch(/OOM killer.*since the reference/);
    expectNoConfidentRival(d);
  });

  it('when a tmpfs at /srv/cache is full all along, then it is disk_full naming the mount and its largest files', () => {
    const d = run(
      hostEvidence({
        sample: (s) => ({ ...s, disks: s.disks.map((x) => (x.mount === '/srv/cache' ? { ...x, used_mb: 64, used_pct: 100 } : x)) }),
        snapshot: { largest_files: [{ mount: '/srv/cache', files: [{ path: '/srv/cache/thumbs/big-0.bin', size_mb: 40 }, { path: '/srv/cache/thumbs/big-1.bin', size_mb: 20 }] }] },
      }),
    );
    expect(d.root_cause.category).toBe('disk_full');
    expect(d.root_cause.culprit).toMatchObject({ kind: 'mount', name: '/srv/cache' });
    expect(d.root_cause.culprit?.files?.[0]?.path).toBe('/srv/cache/thumbs/big-0.bin');
    expect(d.root_cause.confidence).toBeGreaterThanOrEqual(0.7);
    expectNoConfidentRival(d);
  });

  it('when /srv/cache has space left but no inodes, then it is disk_full citing the inodes', () => {
    const d = run(hostEvidence({ sample: (s) => ({ ...s, disks: s.disks.map((x) => (x.mount === '/srv/cache' ? { ...x, used_pct: 12, inodes_used_pct: 100 } : x)) }) }));
    expect(d.root_cause.category).toBe('disk_full');
    expect(d.root_cause.culprit?.name).toBe('/srv/cache');
    expect(d.root_cause.evidence[0]?.detail).toContain('inodes 100%');
  });

  it('when report-builder holds 38 of 40 PostgreSQL connections all along, then it is db_connection_exhaustion naming report-builder', () => {
    const d = run(
      hostEvidence({
        sample: (s) => ({ ...s, db: { connections: 38, max_connections: 40, by_application: [{ application: 'report-builder', state: 'idle', count: 35 }, { application: 'ledger', state: 'idle', count: 3 }] } }),
        probe: (p) => (p.kind === 'db' ? { ...p, ok: false, latency_ms: null, error: 'FATAL: remaining connection slots are reserved for roles with the SUPERUSER attribute' } : p),
      }),
    );
    expect(d.root_cause.category).toBe('db_connection_exhaustion');
    expect(d.root_cause.culprit).toMatchObject({ kind: 'db_application', name: 'report-builder' });
    expect(d.root_cause.confidence).toBeGreaterThanOrEqual(0.7);
    expectNoConfidentRival(d);
  });

  it('when nginx is down with a broken config and its probe was refused in every sample, then it is service_down naming nginx and port 8088 and citing the error line', () => {
    const d = run(
      hostEvidence({
        probe: (p) => (p.kind === 'http' ? { ...p, ok: false, latency_ms: null, status: undefined, error: refused } : p),
        inventory: inventory(LISTENERS.filter((l) => l.port !== 8088)),
        snapshot: { service_errors: [{ service: 'nginx', source: '/srv/shop/logs/error.log', lines: ['2026/11/30 09:59:58 [emerg] 77#77: unknown directive "gzip_mode" in /srv/shop/nginx.conf:14'] }] },
      }),
    );
    expect(d.root_cause.category).toBe('service_down');
    expect(d.root_cause.culprit).toMatchObject({ kind: 'service', name: 'nginx', port: 8088 });
    expect(d.root_cause.confidence).toBeGreaterThanOrEqual(0.7);
    const cited = d.root_cause.evidence.map((e) => e.detail).join('\n');
    expect(cited).toContain('unknown directive "gzip_mode"');
    expect(cited).toContain('failed in all 20 probes');
    expect(d.root_cause.summary).not.toMatch(/probes? passed/);
    expectNoConfidentRival(d);
  });

  it('when ledger has been logging Too many open files all along, then it is resource_limit naming ledger', () => {
    const d = run(
      hostEvidence({
        logs: (_phase, start) => [
          { name: 'ledger', lines: Array.from({ length: 8 }, (_, i) => `${new Date(start + i * 1000).toISOString()} ERROR ledger: accept failed: [Errno 24] Too many open files`) },
        ],
      }),
    );
    expect(d.root_cause.category).toBe('resource_limit');
    expect(d.root_cause.culprit).toMatchObject({ kind: 'process', name: 'ledger', pid: 60 });
    expect(d.root_cause.confidence).toBeGreaterThanOrEqual(0.7);
    expectNoConfidentRival(d);
  });

  it('when a process sits at its open-files limit, then resource_limit names it from the snapshot', () => {
    const d = run(
      hostEvidence({
        logs: (_phase, start) => [{ name: 'ledger', lines: [0, 1, 2].map((i) => `${new Date(start + i * 1000).toISOString()} ERROR OSError: [Errno 24] Too many open files`) }],
        snapshot: { fd_pressure: [{ pid: 60, comm: 'python3', argv0: 'ledger', exe: '/usr/bin/python3.11', open_fds: 64, limit: 64 }] },
      }),
    );
    expect(d.root_cause.category).toBe('resource_limit');
    expect(d.root_cause.culprit).toMatchObject({ name: 'ledger', pid: 60, exe: '/usr/bin/python3.11' });
  });

  it('when a port of the reference no longer listens and nothing probes it, then it is service_down naming who had it', () => {
    const d = run(hostEvidence({ inventory: inventory(LISTENERS.filter((l) => l.port !== 7070)) }));
    expect(d.root_cause.category).toBe('service_down');
    expect(d.root_cause.culprit).toMatchObject({ name: 'ledger', port: 7070 });
    expect(d.root_cause.evidence[0]?.detail).toMatch(/listened on 127\.0\.0\.1:7070 in the reference of .* \(enroll, 60 min old\)/);
  });

  it('when every probe passes, limits hold and nothing is missing against the reference, then it is healthy on that positive evidence', () => {
    const d = run(hostEvidence());
    expect(d.root_cause.category).toBe('healthy');
    expect(d.root_cause.confidence).toBeGreaterThanOrEqual(0.7);
    expect(d.root_cause.summary).toContain('3 health probe(s) answered in 60 of 60 checks');
    expect(d.root_cause.summary).toContain('limits respected');
    expect(d.root_cause.summary).toMatch(/all 4 listening ports of the reference \(enroll, 60 min old\) still listen/);
  });

  it('when there is no reference and no probe, then healthy is still possible but says what it could not check, with less confidence', () => {
    const e = hostEvidence({ reference: null });
    const d = run({ ...e, probes: [] });
    expect(d.root_cause.category).toBe('healthy');
    expect(d.root_cause.summary).toContain('No known-good reference');
    expect(d.root_cause.confidence).toBeLessThan(run(hostEvidence()).root_cause.confidence);
  });

  it('when a probe fails in every sample, then the answer is never healthy (no false "probes passed")', () => {
    for (const error of [refused, 'HTTP 503 Service Unavailable', 'timeout: timed out']) {
      const d = run(hostEvidence({ probe: (p) => (p.kind === 'tcp' ? { ...p, ok: false, latency_ms: null, error } : p) }));
      expect(d.root_cause.category).not.toBe('healthy');
      expect(d.root_cause.summary).not.toMatch(/probes? (passed|answered)/);
    }
  });

  it('when a busy but healthy host runs its own work (CPU 60 %, a few warnings), then it stays healthy', () => {
    const d = run(
      hostEvidence({
        sample: (s, i) => ({ ...s, cpu: { ...s.cpu, busy_pct: 55 + (i % 10) }, top: [{ pid: 990, comm: 'python3', argv0: 'nightly-report', cpu_pct: 60, rss_mb: 80 }, ...s.top] }),
        logs: (_phase, start) => [{ name: 'ledger', lines: [0, 4, 8].map((i) => `${new Date(start + i * 1000).toISOString()} WARNING ledger: slow query took ${200 + i} ms`) }],
      }),
    );
    expect(d.root_cause.category).toBe('healthy');
  });
});
