/**
 * Evidence that points two ways at once, on a host that is not ours: a leaking process that also
 * burns CPU, programs that share an interpreter's name, a load average that lags, a service that
 * is slow while the network is not, a filesystem filled before the run began. The diagnosis must
 * weigh what explains what, and name exactly the processes to blame.
 */
import { analyzeLogs } from '../../../src/agents/log/log-agent.js';
import { analyzeMetrics } from '../../../src/agents/metrics/metrics-agent.js';
import { diagnose } from '../../../src/agents/fixer/diagnose.js';
import { programOf } from '../../../src/agents/fixer/facts.js';
import { probeHost } from '../../../src/agents/fixer/rules/network.js';
import type { Evidence, MetricSample, ProcessSample } from '../../../src/evidence/schema.js';
import { healthyReference, hostEvidence } from '../../fixtures/synthetic-host.js';

function run(evidence: Evidence) {
  return diagnose(evidence, analyzeLogs(evidence), analyzeMetrics(evidence));
}

function confidenceOf(d: ReturnType<typeof run>, category: string): number {
  return d.hypotheses.find((h) => h.category === category)?.confidence ?? 0;
}

/** The remedy the closed loop would apply: which processes it would stop. */
function stopped(d: ReturnType<typeof run>): string[] | undefined {
  return d.actions.find((a) => a.remedy?.action === 'stop_process')?.remedy?.args;
}

const PY = '/usr/bin/python3.11';
/** The host's web app: a python3 process like any script, serving steady traffic. */
const WEB: ProcessSample = { pid: 229, comm: 'python3', argv0: '/usr/bin/python3', args: '/usr/bin/python3 /srv/shop/app.py --port 8088', exe: PY, cpu_pct: 6, rss_mb: 28 };
/** A monitoring agent, python3 as well. */
const AGENT: ProcessSample = { pid: 300, comm: 'python3', argv0: 'python3', args: 'python3 /opt/agent/collect.py --interval 1', exe: PY, cpu_pct: 9, rss_mb: 20 };
const LEAKER_PID = 4242;
/** A job started in the incident window whose RSS climbs every second. */
function leaker(step: number, mbPerStep: number, cpu: number): ProcessSample {
  return { pid: LEAKER_PID, comm: 'python3', argv0: 'python3', args: 'python3 /srv/jobs/import.py --batch 7', exe: PY, cpu_pct: cpu, rss_mb: 40 + mbPerStep * step };
}

/** A 24 GB host: hundreds of MB are a point or two of its memory. */
function bigHost(s: MetricSample, extraMb = 0): MetricSample {
  const total = 24_576;
  const used = 1_200 + extraMb;
  return { ...s, mem: { ...s.mem, total_mb: total, available_mb: total - used, used_pct: Math.round((1000 * used) / total) / 10, scope: 'host' } };
}

describe('a leak that also burns CPU', () => {
  it('when a job leaks 216 MB on a 24 GB host whose CPUs a neighbour pins, while python3 programs share the host, then it is memory_pressure naming the job by its pid alone', () => {
    const d = run(
      hostEvidence({
        sample: (s, i) => {
          const k = i - 10;
          const top = [{ ...WEB }, { ...AGENT }, ...s.top];
          const base = { ...bigHost(s, k >= 0 ? 24 * k : 0), cpu: { ...s.cpu, busy_pct: 100 }, load1: 13 };
          return { ...base, top: k >= 0 ? [leaker(k, 24, 16), ...top] : top };
        },
      }),
    );
    expect(d.root_cause.category).toBe('memory_pressure');
    expect(d.root_cause.culprit).toMatchObject({ kind: 'process', name: 'python3', pid: LEAKER_PID, pids: [LEAKER_PID] });
    expect(d.root_cause.confidence).toBeGreaterThanOrEqual(0.5);
    expect(confidenceOf(d, 'cpu_saturation')).toBeLessThan(d.root_cause.confidence);
    // The fix stops the leaking job, never the web app or the agent that share its name.
    expect(stopped(d)).toEqual(['python3', String(LEAKER_PID)]);
  });

  it('when the leaking job also uses a whole core and makes the CPUs busy, then the leak outranks the CPU it spends growing', () => {
    const d = run(
      hostEvidence({
        sample: (s, i) => {
          const k = i - 10;
          const top = [{ ...WEB, cpu_pct: 20 }, ...s.top];
          if (k < 0) return { ...bigHost(s), top };
          return { ...bigHost(s, 30 * k), cpu: { ...s.cpu, busy_pct: 72 + (k % 3) }, load1: 1.6, top: [leaker(k, 30, 100), ...top] };
        },
      }),
    );
    expect(d.root_cause.category).toBe('memory_pressure');
    expect(d.root_cause.culprit).toMatchObject({ pid: LEAKER_PID, pids: [LEAKER_PID] });
    const cpu = d.hypotheses.find((h) => h.category === 'cpu_saturation');
    expect(cpu?.culprit?.pids).toEqual([LEAKER_PID]);
    expect(cpu!.confidence).toBeLessThan(d.root_cause.confidence);
    expect(cpu!.evidence.map((e) => e.detail).join('\n')).toMatch(/spent growing its memory/);
  });

  it('when a process loads 300 MB at once on a 24 GB host (a jump, not a climb), then that alone is not called a leak', () => {
    const d = run(
      hostEvidence({
        sample: (s, i) => {
          const k = i - 10;
          const rss = k < 4 ? 40 : 340;
          const top = [{ ...WEB }, ...s.top];
          return k < 0 ? { ...bigHost(s), top } : { ...bigHost(s, rss), top: [{ ...leaker(0, 0, 2), rss_mb: rss }, ...top] };
        },
      }),
    );
    expect(confidenceOf(d, 'memory_pressure')).toBeLessThan(0.5);
  });

  it('when RSS climbs 180 MB steadily on a 24 GB host, then the climb alone is a leak (its shape, not the host-wide figure)', () => {
    const d = run(
      hostEvidence({
        sample: (s, i) => {
          const k = i - 10;
          const top = [{ ...WEB }, ...s.top];
          return k < 0 ? { ...bigHost(s), top } : { ...bigHost(s, 20 * k), top: [leaker(k, 20, 12), ...top] };
        },
      }),
    );
    expect(d.root_cause.category).toBe('memory_pressure');
    expect(d.root_cause.culprit?.pid).toBe(LEAKER_PID);
  });
});

describe('culprits named by program and pid', () => {
  it('when two workers of a python3 batch job pin the CPUs next to a python3 web app, then cpu_saturation names the two workers and not the web app', () => {
    const crunch = (pid: number, cpu: number): ProcessSample => ({ pid, comm: 'python3', argv0: 'python3', args: 'python3 -u /opt/batch/crunch.py --all', exe: PY, cpu_pct: cpu, rss_mb: 30 });
    const d = run(hostEvidence({ sample: (s) => ({ ...s, cpu: { ...s.cpu, busy_pct: 99 }, load1: 4.2, top: [crunch(901, 98), crunch(902, 97), { ...WEB, cpu_pct: 12 }, ...s.top] }) }));
    expect(d.root_cause.category).toBe('cpu_saturation');
    expect(d.root_cause.culprit).toMatchObject({ name: 'python3', pid: 901 });
    expect([...(d.root_cause.culprit?.pids ?? [])].sort()).toEqual([901, 902]);
    expect(stopped(d)).toEqual(['python3', '901', '902']);
  });

  it('when the culprit was renamed with exec -a, then fix.sh checks argv[0] as ps shows it (not only comm) before it signals each pid', () => {
    const indexer = (pid: number): ProcessSample => ({ pid, comm: 'perl', argv0: 'shop-indexer', exe: '/usr/bin/perl', cpu_pct: 98, rss_mb: 6 });
    const d = run(hostEvidence({ sample: (s) => ({ ...s, cpu: { ...s.cpu, busy_pct: 99 }, top: [indexer(901), indexer(902), ...s.top] }) }));
    const command = d.actions[0]?.command ?? '';
    for (const pid of [901, 902]) expect(command).toContain(`</proc/${pid}/cmdline | head -n 1); [ "$a" = 'shop-indexer' ] || [ "\${a##*/}" = 'shop-indexer' ]; } || [ "$(cat /proc/${pid}/comm 2>/dev/null)" = 'shop-indexer' ]; then kill -TERM ${pid}; fi`);
  });

  it('when interpreters run different programs, then each is its own program; renamed processes keep their name', () => {
    expect(programOf({ comm: 'python3', argv0: '/usr/bin/python3', args: '/usr/bin/python3 /opt/x/victim_api.py' })).toBe('python3 victim_api.py');
    expect(programOf({ comm: 'python3', argv0: 'python3', args: 'python3 -W ignore -m http.server 8000' })).toBe('python3 http.server');
    expect(programOf({ comm: 'java', args: 'java -Xmx2g -cp /srv/lib/* -jar /srv/app/billing.jar' })).toBe('java billing.jar');
    expect(programOf({ comm: 'node', args: 'node --max-old-space-size=512 server.js' })).toBe('node server.js');
    expect(programOf({ comm: 'perl', argv0: 'shop-indexer', args: 'shop-indexer --full' })).toBe('shop-indexer');
    expect(programOf({ comm: 'python3' })).toBe('python3');
  });
});

describe('a load average that lags', () => {
  it('when the load average decays from 2.9 per core after a fault ended while CPUs idle and probes pass, then the host is healthy', () => {
    const d = run(hostEvidence({ sample: (s, i) => ({ ...s, load1: 2 * 2.9 * Math.exp(-i / 60) }) }));
    expect(d.root_cause.category).toBe('healthy');
    expect(d.strongest_evidence).toEqual([]);
  });

  it('when the load average of a shared kernel rises while this host\'s CPUs stay idle, then it is no fault of this host', () => {
    const d = run(hostEvidence({ sample: (s, i) => ({ ...s, load1: i < 10 ? 0.4 : 2.4 + 0.1 * (i % 3) }) }));
    expect(d.root_cause.category).toBe('healthy');
  });
});

describe('a slow service on a fast network', () => {
  const slow = (ms: number, tcpToo: boolean) =>
    hostEvidence({ probe: (p, i) => (i >= 10 && (p.kind !== 'tcp' || tcpToo) ? { ...p, latency_ms: ms + (i % 3) } : p) });

  it('when HTTP and SQL probes slow down tenfold but TCP connects to the same host stay fast, then it is not network_degradation', () => {
    const d = run(slow(400, false));
    expect(confidenceOf(d, 'network_degradation')).toBeLessThan(0.5);
    expect(d.hypotheses.find((h) => h.category === 'network_degradation')?.evidence[0]?.detail).toMatch(/TCP connects to 127\.0\.0\.1 took .* ms as before/);
  });

  it('when every probe of the host slows down, TCP connects included, then it is network_degradation', () => {
    const d = run(slow(400, true));
    expect(d.root_cause.category).toBe('network_degradation');
  });

  it('when a probe names its host, then the host is read from each kind of target', () => {
    expect(probeHost('tcp 10.0.0.5:22')).toBe('10.0.0.5');
    expect(probeHost('tcp [::1]:5432')).toBe('::1');
    expect(probeHost('http://10.0.0.5:8080/health')).toBe('10.0.0.5');
    expect(probeHost('db app@db.internal:5432/app')).toBe('db.internal');
    expect(probeHost('gateway')).toBeNull();
  });
});

describe('a shaper judged by its own counters', () => {
  const shaped = (dropped: number, overlimits: number, packets = 1000) =>
    run(
      hostEvidence({
        snapshot: { qdiscs: [{ iface: 'eth0', kind: 'tbf', detail: `rate 1Mbit burst 32Kb lat 50ms Sent ${packets * 600} bytes ${packets} pkt (dropped ${dropped}, overlimits ${overlimits} requeues 0)` }] },
      }),
    );

  it.each([
    ['drops 1.2 % of its packets', 12, 0],
    ['goes over its limit on 15 % of them', 0, 150],
    ['drops 5 % and goes over its limit on 30 %', 50, 300],
  ])('when a shaper %s while every probe still answers, then it is network_degradation naming the interface from its counters', (_what, dropped, overlimits) => {
    const d = shaped(dropped, overlimits);
    expect(d.root_cause.category).toBe('network_degradation');
    expect(d.root_cause.culprit).toMatchObject({ kind: 'interface', name: 'eth0' });
    expect(d.root_cause.evidence.map((e) => e.ref)).toContain('qdisc:eth0:stats');
  });

  it('when a shaper is configured but drops 0.5 % and goes over its limit on 5 %, then it stays a hunch', () => {
    const d = shaped(5, 50);
    expect(confidenceOf(d, 'network_degradation')).toBeLessThan(0.5);
    expect(d.hypotheses.find((h) => h.category === 'network_degradation')?.evidence.map((e) => e.ref)).not.toContain('qdisc:eth0:stats');
  });
});

describe('a filesystem filled before the run', () => {
  const filled = (reference = healthyReference()) =>
    hostEvidence({
      reference,
      sample: (s) => ({ ...s, disks: s.disks.map((x) => (x.mount === '/srv/cache' ? { ...x, used_mb: 40, used_pct: 62.5 } : x)) }),
      snapshot: { largest_files: [{ mount: '/srv/cache', files: [{ path: '/srv/cache/export.bin', size_mb: 36 }] }] },
    });

  it('when /srv/cache went from 5 % to 62 % within the hour since the reference, then it is disk_full naming the mount (full within hours at that pace)', () => {
    const d = run(filled());
    expect(d.root_cause.category).toBe('disk_full');
    expect(d.root_cause.culprit).toMatchObject({ kind: 'mount', name: '/srv/cache' });
    expect(d.root_cause.evidence[0]?.detail).toMatch(/full in about .* h at that pace/);
  });

  it('when the same 62 % took ten days to build up, then it is no incident', () => {
    const ref = healthyReference();
    const d = run(filled({ ...ref, taken_at: new Date(Date.parse(ref.taken_at) - 10 * 86_400_000).toISOString() }));
    expect(confidenceOf(d, 'disk_full')).toBeLessThan(0.5);
    expect(d.root_cause.category).toBe('healthy');
  });
});
