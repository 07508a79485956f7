/**
 * A scripted 24 GB host on which one process leaks: it appears, grows by 60 MB a second to
 * 420 MB, and then holds it, idle. Host-wide memory barely moves (under 2 points): only the
 * process's own RSS tells. Its samples are the sampler's JSON lines, for a watcher's link and for
 * an incident's SSH evidence source.
 */
import type { ExecResult, SshStats, StreamHandle, StreamResult } from '../../../src/ssh/connection.js';
import type { EvidenceConnection } from '../../../src/evidence/ssh/ssh-evidence-source.js';
import type { WatchProbe, WatchSample } from '../../../src/watch/judge.js';

export const LEAKER = { pid: 4242, comm: 'python3', argv0: 'cache-warmer', args: 'cache-warmer --fill' } as const;
export const PROBE_TARGET = 'http://10.0.0.5:8080/health';
const TOTAL_MB = 24_000;

/** The leaker's RSS in the watch's samples, one a second: not yet running, climbing, then flat. */
export const LEAK_TRAIL: (number | null)[] = [null, null, null, null, null, 15, 75, 135, 195, 255, 315, 375, 420, 420];
/** Where it ends: what an investigation that looks afterwards sees. */
export const LEAK_TOP_MB = 420;

/** One sample at `t`; `leaker`: its RSS (null: not running), busy while it allocates. */
export function leakySample(t: Date, leaker: number | null, growing: boolean): WatchSample {
  const others = [
    { pid: 301, comm: 'postgres', argv0: '/usr/lib/postgresql/15/bin/postgres', cpu_pct: 0.5, rss_mb: 28 },
    { pid: 302, comm: 'python3', argv0: '/usr/bin/python3', args: '/usr/bin/python3 /opt/victim/victim_api.py', cpu_pct: 1, rss_mb: 27 },
    { pid: 303, comm: 'sshd', argv0: 'sshd: /usr/sbin/sshd -D', cpu_pct: 0.2, rss_mb: 9 },
  ];
  const leak = leaker === null ? [] : [{ ...LEAKER, cpu_pct: growing ? 35 : 0, rss_mb: leaker }];
  const usedMb = 480 + (leaker ?? 0);
  return {
    t: t.toISOString(),
    cpu: { busy_pct: growing ? 21 : 4, iowait_pct: 0, steal_pct: 0, cores: 2 },
    load1: 0.3,
    mem: { total_mb: TOTAL_MB, available_mb: TOTAL_MB - usedMb, used_pct: Math.round((1000 * usedMb) / TOTAL_MB) / 10, swap_used_mb: 0, oom_kills: 0 },
    disks: [{ mount: '/', size_mb: 50_000, used_mb: 20_000, used_pct: 40, inodes_used_pct: 10 }],
    net: [{ iface: 'eth0', rx_kbps: 12, tx_kbps: 15, rx_errs: 0, tx_errs: 0, rx_drop: 0, tx_drop: 0 }],
    top: [...leak, ...others],
  };
}

export function probeAt(t: Date): WatchProbe {
  return { t: t.toISOString(), target: PROBE_TARGET, kind: 'http', ok: true, latency_ms: 3, status: 200 };
}

/** The sampler's lines for one tick: the probe taken with the sample, then the sample. */
export function samplerLines(t: Date, leaker: number | null, growing: boolean): string[] {
  return [JSON.stringify({ type: 'probe', data: probeAt(new Date(t.getTime() - 200)) }), JSON.stringify({ type: 'sample', data: leakySample(t, leaker, growing) })];
}

const ok = (command: string): ExecResult => ({ command, exitCode: 0, signal: null, outcome: 'exited', stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, durationMs: 1 });

/**
 * The incident's SSH connection to the leaky host after the leak: its sampler prints a tick
 * every `everyMs` (host time advancing a second each, from `from`), the leaker flat at
 * LEAK_TOP_MB; discovery, logs and the snapshot answer with nothing (the evidence does without).
 */
export function scriptedConnection(from: Date, everyMs = 25): EvidenceConnection & { streams: number } {
  let t = from.getTime();
  const conn = {
    streams: 0,
    stream(command: string, onLine: (line: string) => void): StreamHandle {
      conn.streams += 1;
      let finish: (r: StreamResult) => void = () => undefined;
      const done = new Promise<StreamResult>((resolve) => (finish = resolve));
      const timer = setInterval(() => {
        t += 1000;
        for (const line of samplerLines(new Date(t), LEAK_TOP_MB, false)) onLine(line);
      }, everyMs);
      const stop = async () => {
        clearInterval(timer);
        finish({ ...ok(command), exitCode: null, outcome: 'aborted', lines: 0, droppedLines: 0 });
        return done;
      };
      return { done, stop };
    },
    exec: async (command: string) => ok(command),
    stats: (): SshStats => ({ connectionsOpened: 1, channelsOpened: 1, maxConcurrentChannels: 1, reconnects: 0, commands: 1, failures: 0, activeChannels: 0, queued: 0 }),
    close: async () => undefined,
  };
  return conn;
}
