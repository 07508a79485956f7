import { phasePrior } from '../../../src/evidence/prior-samples.js';
import type { PriorSamples } from '../../../src/evidence/source.js';
import { SshEvidenceSource } from '../../../src/evidence/ssh/ssh-evidence-source.js';
import { createLogger } from '../../../src/logger.js';
import { leakySample, probeAt, scriptedConnection } from '../watch/leaky-host.js';

const T0 = Date.parse('2026-12-01T09:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000);
const log = createLogger('silent');

/** Watch samples at the given seconds: `before` in band, `during` from the fault's first sign. */
function prior(before: number[], during: number[]): PriorSamples {
  return {
    taken_by: 'watch mode',
    first_out_at: at(during[0] ?? 99).toISOString(),
    before: before.map((s) => leakySample(at(s), null, false)),
    during: during.map((s) => leakySample(at(s), 300, true)),
    probes: [...before, ...during].map((s) => probeAt(at(s - 0.2))),
  };
}

describe('samples handed over from before the incident', () => {
  it('when they come out of order or twice, then the evidence has them once, in time order, before as baseline and during as incident', () => {
    const phased = phasePrior(prior([3, 1, 2, 2], [6, 5]));
    if (!phased.ok) throw new Error(phased.reason);
    expect(phased.samples.map((s) => [s.t, s.phase])).toEqual([
      [at(1).toISOString(), 'baseline'],
      [at(2).toISOString(), 'baseline'],
      [at(3).toISOString(), 'baseline'],
      [at(5).toISOString(), 'incident'],
      [at(6).toISOString(), 'incident'],
    ]);
    // A probe is phased by its own time: the one taken just before the incident window's first sample is baseline.
    expect(phased.probes.map((p) => [p.t, p.phase])).toEqual([
      [at(0.8).toISOString(), 'baseline'],
      [at(1.8).toISOString(), 'baseline'],
      [at(2.8).toISOString(), 'baseline'],
      [at(4.8).toISOString(), 'baseline'],
      [at(5.8).toISOString(), 'incident'],
    ]);
    expect(phased.result).toMatchObject({ baseline: { samples: 3, probes: 4, window: { start: at(1).toISOString(), end: at(3).toISOString() } }, incident: { samples: 2, probes: 1, since: at(5).toISOString() } });
    // The repeated sample and its repeated probe.
    expect(phased.result.dropped).toBe(2);
  });

  it("when a sample in band is not before the fault's first sign (a host clock stepped back), then it is left out rather than mixed into the incident", () => {
    const phased = phasePrior(prior([1, 2, 3, 7], [5, 6]));
    if (!phased.ok) throw new Error(phased.reason);
    expect(phased.samples.filter((s) => s.phase === 'baseline').map((s) => s.t)).toEqual([1, 2, 3].map((s) => at(s).toISOString()));
    expect(phased.samples.filter((s) => s.phase === 'incident').map((s) => s.t)).toEqual([5, 6].map((s) => at(s).toISOString()));
    expect(phased.result.dropped).toBe(1);
  });

  it('when fewer than two samples were in band, then there is no baseline and nothing is taken', () => {
    expect(phasePrior(prior([1], [5, 6]))).toEqual({ ok: false, reason: '1 sample(s) in band before the host left it, fewer than the 2 a baseline needs' });
  });

  it("when the SSH source is seeded, then its baseline is the seeded one at once, its own samples join the incident window after them, and a late seed is refused", async () => {
    // The incident's sampler starts with a clock 3 s behind the watch's last sample: those first lines would overlap.
    const source = new SshEvidenceSource(scriptedConnection(at(3)), { host: 'leaky', probes: [], reference: null, maxSeconds: 30, log });
    const seeded = source.seed(prior([0, 1, 2, 3], [4, 5, 6]));
    expect(seeded).toMatchObject({ ok: true, baseline: { samples: 4 }, incident: { samples: 3, since: at(4).toISOString() } });
    const signal = new AbortController().signal;
    const started = Date.now();
    expect(await source.collect('baseline', 10, signal)).toEqual({ phase: 'baseline', samples: 4, probes: 5, seconds: 3, taken_by: 'watch mode' });
    expect(Date.now() - started).toBeLessThan(1_000);
    const observed = await source.collect('incident', 1, signal);
    expect(observed.samples).toBeGreaterThan(3);
    const evidence = await source.finish(signal);
    await source.close();
    const times = evidence.samples.map((s) => Date.parse(s.t));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(times).size).toBe(times.length);
    expect(evidence.samples.filter((s) => s.phase === 'incident' && Date.parse(s.t) <= at(6).getTime()).map((s) => s.t)).toEqual([4, 5, 6].map((s) => at(s).toISOString()));
    expect(evidence.windows).toEqual({ baseline: { start: at(0).toISOString(), end: at(3).toISOString() }, incident: { start: at(4).toISOString(), end: evidence.samples.at(-1)!.t } });
    expect(observed.samples).toBe(evidence.samples.length - 7);
    expect(source.seed(prior([0, 1], [4]))).toEqual({ ok: false, reason: 'the evidence source had already begun collecting' });
  });
});
