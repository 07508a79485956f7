import { describe, expect, it } from '@jest/globals';
import { LOAD_CSV_HEADER, toCsv } from '../../../src/load/csv.js';
import { assertLoadUrl } from '../../../src/load/generate-load.js';
import type { LoadRecord } from '../../../src/load/schema.js';
import { latencyPercentiles, perSecond, summarize } from '../../../src/load/stats.js';
import { InputError, NotAllowedError } from '../../../src/errors.js';

const START = Date.parse('2026-12-01T00:00:00.000Z');
const rec = (offsetMs: number, latency: number, status: number | null, error: string | null = null): LoadRecord => ({
  timestamp: new Date(START + offsetMs).toISOString(),
  latency_ms: latency,
  ok: error === null,
  status,
  error,
});

describe('latencyPercentiles', () => {
  it('when there are values, then p50/p95/p99 are the interpolated quantiles of simple-statistics and max the largest', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, reversed
    expect(latencyPercentiles(values)).toEqual({ p50: 50.5, p95: 95.05, p99: 99.01, max: 100 });
  });
  it('when there are none, then every percentile is null', () => {
    expect(latencyPercentiles([])).toEqual({ p50: null, p95: null, p99: null, max: null });
  });
});

describe('perSecond', () => {
  it('when requests span seconds, then each second counts its scheduled requests and its completed successes', () => {
    const records = [rec(0, 10, 200), rec(500, 900, 200), rec(1200, 5, 503, 'http_503'), rec(1500, 1000, null, 'timeout'), rec(3100, 20, 200)];
    const seconds = perSecond(records, START);
    expect(seconds.map((s) => [s.second, s.requests, s.ok, s.errors, s.error_rate, s.throughput_rps])).toEqual([
      [0, 2, 2, 0, 0, 1],
      [1, 2, 0, 2, 1, 1], // the 900 ms answer of second 0 completed in second 1
      [2, 0, 0, 0, 0, 0], // a stall shows as a gap, not a missing row
      [3, 1, 1, 0, 0, 1],
    ]);
    expect(seconds[0]).toMatchObject({ t: '2026-12-01T00:00:00.000Z', p50: 455, max: 900 });
    expect(seconds[2]?.p99).toBeNull();
  });
});

describe('summarize', () => {
  it('when a window is given, then only requests scheduled inside it count and throughput is per second of window', () => {
    const records = [rec(0, 10, 200), rec(1000, 20, 200), rec(2000, 30, 500, 'http_500'), rec(3000, 40, 200)];
    expect(summarize(records, { fromMs: START + 1000, toMs: START + 3000 })).toEqual({
      requests: 2,
      ok: 1,
      errors: 1,
      error_rate: 0.5,
      throughput_rps: 0.5,
      latency_ms: { p50: 25, p95: 29.5, p99: 29.9, max: 30 },
    });
  });
});

describe('toCsv', () => {
  it('when records are written, then each is one line under the header, with the status empty when no answer came', () => {
    const csv = toCsv([rec(0, 12.34567, 200), rec(5, 2000, null, 'timeout'), rec(10, 3, null, 'odd, "quoted"\nerror')]);
    expect(csv).toBe(
      `${LOAD_CSV_HEADER}\n` +
        '2026-12-01T00:00:00.000Z,12.346,true,200,\n' +
        '2026-12-01T00:00:00.005Z,2000,false,,timeout\n' +
        '2026-12-01T00:00:00.010Z,3,false,,"odd, ""quoted""\nerror"\n',
    );
  });
  it('when there are no records, then the file is the header alone', () => {
    expect(toCsv([])).toBe('timestamp,latency_ms,ok,status,error\n');
  });
});

describe('assertLoadUrl', () => {
  it('when the host is loopback or enrolled, then the URL is accepted', () => {
    expect(assertLoadUrl('http://127.0.0.1:8080/x', []).port).toBe('8080');
    expect(assertLoadUrl('http://[::1]:80/', []).hostname).toBe('[::1]');
    expect(assertLoadUrl('http://10.213.7.2:8080/items', ['10.213.7.2']).pathname).toBe('/items');
  });
  it('when the host is anything else, then load is refused before any connection', () => {
    expect(() => assertLoadUrl('http://10.0.0.9/', ['10.213.7.2'])).toThrow(NotAllowedError);
    expect(() => assertLoadUrl('http://169.254.169.254/latest', [])).toThrow(/neither/);
  });
  it('when the URL is not http or carries credentials, then it is refused as bad input', () => {
    expect(() => assertLoadUrl('ftp://127.0.0.1/', [])).toThrow(InputError);
    expect(() => assertLoadUrl('http://u:p@127.0.0.1/', [])).toThrow(/credentials/);
    expect(() => assertLoadUrl('not a url', [])).toThrow(InputError);
  });
});
