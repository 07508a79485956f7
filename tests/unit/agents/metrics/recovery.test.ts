import { recoveryBand } from '../../../../src/agents/metrics/anomalies.js';
import { assessRecovery, recoverySettled, SETTLED_SAMPLES } from '../../../../src/agents/metrics/recovery.js';

const REVERT = '2026-11-23T10:00:00.000Z';
const at = (s: number) => new Date(Date.parse(REVERT) + s * 1000).toISOString();
const band = { lo: 5, hi: 15, basis: 'the baseline band' };

/** A series with points at -3..-1 s (the incident) and then the given values one per second after the revert. */
function series(key: string, after: number[]) {
  const before = [-3, -2, -1].map((s) => ({ t: at(s), v: 90, phase: 'incident' as const }));
  return { key, label: key, recovery_band: band, points: [...before, ...after.map((v, i) => ({ t: at(i + 1), v, phase: 'recovery' as const }))] };
}

describe('recovery after the revert', () => {
  it('when every anomalous series comes back and stays, then recovery is when the last one came back', () => {
    const r = assessRecovery([series('cpu.busy_pct', [80, 10, 9, 11]), series('mem.used_pct', [70, 60, 12, 10])], REVERT)!;
    expect(r.recovered).toBe(true);
    expect(r.series.map((s) => [s.key, s.state, s.back_after_s])).toEqual([
      ['cpu.busy_pct', 'recovered', 2],
      ['mem.used_pct', 'recovered', 3],
    ]);
    expect(r.recovery_s).toBe(3);
    expect(r.watched_s).toBe(4);
    expect(r.samples).toBe(4);
  });

  it('when a series dips into the band and leaves it again, then it counts from its last return', () => {
    const r = assessRecovery([series('cpu.busy_pct', [80, 10, 70, 10, 10])], REVERT)!;
    expect(r.series[0]).toMatchObject({ state: 'recovered', back_after_s: 4 });
  });

  it('when a series is still outside its band at the end, then the host is not recovered and no time is given', () => {
    const r = assessRecovery([series('cpu.busy_pct', [10, 10, 10]), series('disk:/.used_pct', [60, 60, 60])], REVERT)!;
    expect(r.recovered).toBe(false);
    expect(r.recovery_s).toBeNull();
    expect(r.series[1]).toMatchObject({ state: 'still_out', back_after_s: null, last: 60 });
  });

  it('when only a lagging series (load average) is still high, then the host counts as recovered without it', () => {
    const r = assessRecovery([series('cpu.busy_pct', [10, 10, 10]), series('load1', [80, 70, 60])], REVERT)!;
    expect(r.recovered).toBe(true);
    expect(r.recovery_s).toBe(1);
    expect(r.series[1]).toMatchObject({ key: 'load1', lagging: true, state: 'still_out' });
    expect(recoverySettled([series('cpu.busy_pct', [10, 10, 10]), series('load1', [80, 70, 60])], REVERT)).toBe(true);
  });

  it('when there are no samples after the revert, then each series says so', () => {
    const r = assessRecovery([series('cpu.busy_pct', [])], REVERT)!;
    expect(r).toMatchObject({ recovered: false, recovery_s: null, samples: 0 });
    expect(r.series[0]!.state).toBe('no_data');
  });

  it('when nothing was reverted or nothing was anomalous, then there is no recovery to assess', () => {
    expect(assessRecovery([series('cpu.busy_pct', [10])], null)).toBeNull();
    expect(assessRecovery([], REVERT)).toBeNull();
  });

  it(`when a series has been back for ${SETTLED_SAMPLES} samples in a row, then the watch may stop, not before`, () => {
    const back = Array.from({ length: SETTLED_SAMPLES }, () => 10);
    expect(recoverySettled([series('cpu.busy_pct', [80, ...back])], REVERT)).toBe(true);
    expect(recoverySettled([series('cpu.busy_pct', [80, ...back.slice(1)])], REVERT)).toBe(false);
    expect(recoverySettled([series('cpu.busy_pct', [...back, 80])], REVERT)).toBe(false);
    expect(recoverySettled([series('cpu.busy_pct', back), series('db.connections_pct', [90, 90, 90])], REVERT)).toBe(false);
  });
});

describe('the band a series must be back inside', () => {
  // Six samples of CPU on a host with busy neighbours: a narrow band around 9.9 %.
  const shortBaseline = { median: 9.9, mad: 1, mean: 9.9, sd: 2, lo: 2.4, hi: 17.4, n: 6 };

  it('when a short baseline gives a narrow band, then the metric\'s everyday noise around its median still counts as normal', () => {
    const b = recoveryBand(shortBaseline, 10);
    expect(b).toEqual({ lo: 0, hi: 19.9, basis: 'the baseline median ± 10 (everyday noise)' });
    // 18.4 % busy after the fix: back to normal; 30 % is not.
    const judged = (v: number) => assessRecovery([{ key: 'cpu.busy_pct', label: 'CPU busy', recovery_band: b, points: [{ t: at(1), v, phase: 'recovery' }] }], REVERT)!.recovered;
    expect(judged(18.4)).toBe(true);
    expect(judged(30)).toBe(false);
  });

  it('when the target has a known-good reference, then its normal range widens the band, never narrows it', () => {
    expect(recoveryBand(shortBaseline, 10, { median: 20, p95: 31, min: 4, max: 55, n: 60 })).toEqual({ lo: 0, hi: 31, basis: 'the baseline median ± 10 (everyday noise) and the known-good reference' });
    expect(recoveryBand(shortBaseline, 10, { median: 8, p95: 12, min: 5, max: 14, n: 60 })).toEqual({ lo: 0, hi: 19.9, basis: 'the baseline median ± 10 (everyday noise)' });
  });

  it('when a series is pass/fail (probe failures), then neither noise nor a reference that saw failures makes a failure normal', () => {
    const b = recoveryBand({ median: 0, mad: 0, mean: 0, sd: 0, lo: 0, hi: 0.38, n: 6 }, 0, { median: 0, p95: 1, min: 0, max: 1, n: 20 });
    expect(b).toEqual({ lo: 0, hi: 0.38, basis: 'the baseline band' });
    expect(assessRecovery([{ key: 'probe:x.failed', label: 'x', recovery_band: b, points: [{ t: at(1), v: 1, phase: 'recovery' }] }], REVERT)!.recovered).toBe(false);
  });
});
