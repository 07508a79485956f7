import type { StreamHandle, StreamResult } from '../../../src/ssh/connection.js';
import { ConflictError } from '../../../src/errors.js';
import type { PriorSamples } from '../../../src/evidence/source.js';
import { createLogger } from '../../../src/logger.js';
import type { WatchLink } from '../../../src/watch/watcher.js';
import { Watcher } from '../../../src/watch/watcher.js';
import { WatchOptions } from '../../../src/watch/schema.js';

/** A sampler that prints what the test tells it to; `end()` makes it exit as if the link dropped. */
function fakeLink() {
  let onLine: ((line: string) => void) | null = null;
  let finish: ((r: StreamResult) => void) | null = null;
  const calls = { samplers: 0, closed: 0 };
  const result = (exitCode: number | null): StreamResult => ({ command: 'sampler', exitCode, signal: null, outcome: exitCode === null ? 'aborted' : 'exited', stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, durationMs: 1, lines: 0, droppedLines: 0 });
  const link: WatchLink = {
    sample: (_interval, cb) => {
      calls.samplers += 1;
      onLine = cb;
      const done = new Promise<StreamResult>((resolve) => (finish = resolve));
      const handle: StreamHandle = { done, stop: async () => (finish?.(result(null)), done) };
      return handle;
    },
    outsideUrls: [],
    reference: null,
    close: async () => void (calls.closed += 1),
  };
  let t = 0;
  const emit = (cpu: number) => {
    t += 1;
    const data = { t: new Date(Date.UTC(2026, 11, 1, 0, 0, t)).toISOString(), cpu: { busy_pct: cpu, iowait_pct: 0, steal_pct: 0, cores: 2 }, load1: 1, mem: { total_mb: 1000, available_mb: 900, used_pct: 10 }, disks: [], net: [], top: [{ pid: 9, comm: 'burn', cpu_pct: cpu * 2, rss_mb: 1 }] };
    onLine?.(JSON.stringify({ type: 'sample', data }));
  };
  return { link, calls, emit, end: () => finish?.(result(1)), garbage: (line: string) => onLine?.(line) };
}

describe('a watcher', () => {
  it('when K samples in a row are out of band, then one investigation opens with the detection time, and the cooldown holds back a flapping host', async () => {
    const f = fakeLink();
    let now = Date.parse('2026-12-01T00:00:10Z');
    const opened: string[] = [];
    const watcher = new Watcher({
      target: 'sandbox',
      options: WatchOptions.parse({ consecutive: 3, cooldown_s: 60, outside_probes: false }),
      connect: async () => f.link,
      investigate: async ({ detected_at }) => (opened.push(detected_at), `inc-${opened.length}`),
      log: createLogger('silent'),
      now: () => new Date(now),
    });
    await watcher.start();
    f.emit(10);
    f.emit(99);
    f.emit(99);
    f.garbage('not json');
    f.emit(10); // back in band: the streak starts over
    f.emit(99);
    f.emit(99);
    expect(opened).toEqual([]);
    f.emit(99);
    await new Promise((r) => setImmediate(r));
    expect(opened).toEqual(['2026-12-01T00:00:10.000Z']);
    expect(watcher.view()).toMatchObject({ state: 'watching', samples: 7, out_of_band: 3, detections: [{ incident_id: 'inc-1', first_out_at: '2026-12-01T00:00:05.000Z', breaches: ["CPU 99% busy (limit 95%), 198% of a core by this host's processes"] }] });
    // Flapping: out of band again within the cooldown opens nothing; after it, one more.
    for (const cpu of [10, 99, 99, 99, 99]) f.emit(cpu);
    now += 61_000;
    f.emit(99);
    await new Promise((r) => setImmediate(r));
    expect(opened).toHaveLength(2);
    await watcher.stop();
    expect(watcher.view().state).toBe('stopped');
    expect(f.calls.closed).toBe(1);
  });

  it('when the watch has run long, then it hands an investigation only its last minute in band and, of a long streak, its first and latest samples', async () => {
    const f = fakeLink();
    let now = Date.parse('2026-12-01T01:00:00Z');
    const handed: PriorSamples[] = [];
    const watcher = new Watcher({
      target: 'sandbox',
      options: WatchOptions.parse({ interval_s: 1, consecutive: 60, cooldown_s: 10, outside_probes: false }),
      connect: async () => f.link,
      investigate: async ({ seen }) => (handed.push(seen), `inc-${handed.length}`),
      log: createLogger('silent'),
      now: () => new Date(now),
    });
    await watcher.start();
    const at = (n: number) => new Date(Date.UTC(2026, 11, 1, 0, 0, n)).toISOString();
    for (let i = 0; i < 100; i++) f.emit(10); // samples 1..100, in band
    for (let i = 0; i < 70; i++) f.emit(99); // 101..170, out of band
    await new Promise((r) => setImmediate(r));
    expect(handed).toHaveLength(1);
    // The minute before the breach (by the host's clock), CPUs pinned at once: nothing built up.
    expect(handed[0]!.before.map((s) => s.t)).toEqual(Array.from({ length: 60 }, (_, i) => at(41 + i)));
    expect(handed[0]!.during.map((s) => s.t)).toEqual(Array.from({ length: 60 }, (_, i) => at(101 + i)));
    expect(handed[0]!.first_out_at).toBe(at(101));
    now += 11_000;
    f.emit(99); // 171: the cooldown is over, the streak goes on
    await new Promise((r) => setImmediate(r));
    expect(handed).toHaveLength(2);
    const during = handed[1]!.during.map((s) => s.t);
    expect(during).toEqual([...Array.from({ length: 30 }, (_, i) => at(101 + i)), ...Array.from({ length: 30 }, (_, i) => at(142 + i))]);
    expect(handed[1]!.first_out_at).toBe(at(101));
    await watcher.stop();
  });

  it('when the target is busy, then the detection says why and nothing retries until the cooldown is over', async () => {
    const f = fakeLink();
    const watcher = new Watcher({
      target: 'sandbox',
      options: WatchOptions.parse({ consecutive: 1, cooldown_s: 600, outside_probes: false }),
      connect: async () => f.link,
      investigate: async () => {
        throw new ConflictError('An incident is already running on sandbox; one at a time per target');
      },
      log: createLogger('silent'),
    });
    await watcher.start();
    f.emit(99);
    f.emit(99);
    await new Promise((r) => setImmediate(r));
    expect(watcher.view().detections).toEqual([expect.objectContaining({ incident_id: null, error: 'An incident is already running on sandbox; one at a time per target' })]);
    await watcher.stop();
  });

  it('when the sampler ends by itself, then the watcher reconnects and samples again', async () => {
    const f = fakeLink();
    let connects = 0;
    const watcher = new Watcher({
      target: 'sandbox',
      options: WatchOptions.parse({ outside_probes: false }),
      connect: async () => (connects++, f.link),
      investigate: async () => 'inc',
      log: createLogger('silent'),
    });
    await watcher.start();
    f.end();
    const deadline = Date.now() + 5_000;
    while (f.calls.samplers < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(f.calls.samplers).toBe(2);
    expect(connects).toBe(2);
    expect(watcher.view().state).toBe('watching');
    await watcher.stop();
  });
});
