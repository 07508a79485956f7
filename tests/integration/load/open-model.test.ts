/**
 * The load generator against a real HTTP server on loopback that slows down mid-run: the rate
 * the server sees holds through the slow phase (open model), and latency counts from the
 * scheduled send time (queueing behind busy connections included).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { perSecond, startLoad, summarize } from '../../../src/load/index.js';

type Phase = { fromS: number; toS: number; delayMs: number };

/** A server whose answer is delayed by the phase it is in, counting arrivals per second of the run. */
function slowingServer() {
  let startMs = 0;
  let phases: Phase[] = [];
  const arrivals = new Map<number, number>();
  const server: Server = createServer((_req, res) => {
    const elapsed = Date.now() - startMs;
    const second = Math.floor(elapsed / 1000);
    arrivals.set(second, (arrivals.get(second) ?? 0) + 1);
    const delay = phases.find((p) => elapsed >= p.fromS * 1000 && elapsed < p.toS * 1000)?.delayMs ?? 0;
    setTimeout(() => res.end('{"ok":true}'), delay);
  });
  server.keepAliveTimeout = 10_000;
  return {
    server,
    arrivals,
    reset(at: number, next: Phase[]) {
      startMs = at;
      phases = next;
      arrivals.clear();
    },
  };
}

describe('open-model load against a server that slows down', () => {
  const s = slowingServer();
  let base = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    s.server.closeAllConnections();
    await new Promise<void>((resolve) => s.server.close(() => resolve()));
  });

  it('when answers take 400 ms from second 2 to 4, then the server still receives the full rate and the latency shows the slow phase', async () => {
    const rps = 100;
    s.reset(Date.now(), [{ fromS: 2, toS: 4, delayMs: 400 }]);
    const run = startLoad({ url: `${base}/items`, rps, durationS: 6, timeoutMs: 2000 }, { allowedHosts: [] });
    const result = await run.done;

    expect(result.records).toHaveLength(600);
    expect(result.records.every((r) => r.ok && r.status === 200)).toBe(true);
    expect(result.dispatch.achieved_rps).toBeGreaterThan(rps * 0.95);
    expect(result.dispatch.achieved_rps).toBeLessThan(rps * 1.05);
    // What the server saw: the slow seconds got as many requests as the fast ones.
    for (const second of [2, 3]) expect(s.arrivals.get(second) ?? 0).toBeGreaterThanOrEqual(rps * 0.9);
    // And what the generator saw going out: every request written to a connection, in every second.
    expect(result.dispatch.wire.sent).toBe(600);
    expect(result.dispatch.per_second.seconds).toBe(5);
    expect(result.dispatch.wire.per_second.min).toBeGreaterThanOrEqual(rps * 0.9);

    const seconds = perSecond(result.records, result.start_ms);
    expect(seconds).toHaveLength(6);
    const slow = summarize(result.records, { fromMs: result.start_ms + 2100, toMs: result.start_ms + 3900 });
    const fast = summarize(result.records, { fromMs: result.start_ms + 4500, toMs: result.start_ms + 6000 });
    expect(slow.latency_ms.p50).toBeGreaterThanOrEqual(400);
    expect(fast.latency_ms.p50).toBeLessThan(100);
    expect(seconds[2]?.requests).toBe(100);
    expect(seconds[3]?.requests).toBe(100);
  });

  it('when too few connections serve a slow server, then requests are still scheduled on time and their latency includes the wait for a connection', async () => {
    // 4 connections × (1 / 0.2 s) = 20 answers/s for 50 requests/s: a queue builds up. A closed
    // loop would measure 200 ms each and send 20/s; the open model keeps sending 50/s and the
    // latency from the scheduled time grows with the queue until requests time out.
    const rps = 50;
    s.reset(Date.now(), [{ fromS: 0, toS: 60, delayMs: 200 }]);
    const run = startLoad({ url: `${base}/slow`, rps, durationS: 3, timeoutMs: 1500, connections: 4 }, { allowedHosts: [] });
    const result = await run.done;

    expect(result.records).toHaveLength(150);
    expect(result.dispatch.achieved_rps).toBeGreaterThan(rps * 0.95);
    expect(result.dispatch.achieved_rps).toBeLessThan(rps * 1.05);
    const all = summarize(result.records);
    expect(all.latency_ms.p99).toBeGreaterThanOrEqual(1000); // far above the 200 ms of service
    expect(result.records.filter((r) => r.error === 'timeout').length).toBeGreaterThan(0);
    expect(result.records.filter((r) => r.ok).every((r) => r.latency_ms >= 200)).toBe(true);
    // Issued at 50/s, but the 4 busy connections let requests onto the wire only as they free
    // up: the wire figures show the queue that the issue rate alone would hide.
    expect(result.dispatch.wire.achieved_rps).toBeLessThan(rps * 0.7);
    expect(result.dispatch.wire.lag_ms.p99).toBeGreaterThan(500);
    // The first requests found free connections: the queue builds up, it was not there at once.
    expect(result.records[0]?.latency_ms).toBeLessThan(400);
  });

  it('when stopped early, then scheduling ends and the run resolves with what was sent', async () => {
    s.reset(Date.now(), []);
    const run = startLoad({ url: `${base}/x`, rps: 20, timeoutMs: 1000 }, { allowedHosts: [] });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    run.stop();
    const result = await run.done;
    expect(result.records.length).toBeGreaterThanOrEqual(18);
    expect(result.records.length).toBeLessThanOrEqual(23);
    expect(run.finished()).toHaveLength(result.records.length);
  });
});
