import type { Findings } from '../../../src/agents/findings.js';
import type { IncidentTimings } from '../../../src/domain/index.js';
import type { Evidence } from '../../../src/evidence/schema.js';
import { EMPTY_TIMINGS, detectionTimings, faultSigns, markTiming } from '../../../src/incidents/timings.js';
import { timingsLine, timingsSection } from '../../../src/report/timings-section.js';
import { hostEvidence } from '../../fixtures/synthetic-host.js';

const at = (s: number) => new Date(Date.parse('2026-12-01T10:00:00.000Z') + s * 1000).toISOString();

/** Findings as the agents would leave them, reduced to what the timings read. */
function findings(options: { category?: string; windows?: number[]; templates?: { at: number; severity?: string; is_new?: boolean }[]; signatures?: number[]; culpritPid?: number }): Partial<Findings> {
  return {
    MetricsAgent: { series: [{ key: 'cpu.busy_pct', anomalous: (options.windows ?? []).length > 0, windows: (options.windows ?? []).map((w) => ({ start: at(w), end: at(w + 5) })) }] },
    LogAgent: {
      templates: (options.templates ?? []).map((t, i) => ({ template_id: `t${i}`, severity: t.severity ?? 'error', is_new: t.is_new ?? true, rate_ratio: null, first_seen: at(t.at) })),
      signatures: (options.signatures ?? []).map((s) => ({ signature: 'oom_kill', first_seen: at(s) })),
    },
    FixerAgent: { root_cause: { category: options.category ?? 'cpu_saturation', culprit: options.culpritPid ? { kind: 'process', name: 'stress', pid: options.culpritPid } : null } },
  } as unknown as Partial<Findings>;
}

/** Twenty samples a second apart from `at(0)`; the culprit pid shows up from `culpritFrom` on. */
function evidence(options: { injected?: number; failedProbeAt?: number; culpritFrom?: number } = {}): Evidence {
  const base = hostEvidence();
  const samples = Array.from({ length: 20 }, (_, i) => ({ ...base.samples[0]!, t: at(i), phase: i < 10 ? ('baseline' as const) : ('incident' as const), top: options.culpritFrom !== undefined && i >= options.culpritFrom ? [{ pid: 4242, comm: 'stress', cpu_pct: 99, rss_mb: 5 }] : [] }));
  const probes = options.failedProbeAt === undefined ? [] : [{ t: at(options.failedProbeAt), phase: 'incident' as const, target: 'http://127.0.0.1:8080/health', ok: false, latency_ms: null }];
  return { ...base, samples, probes, fault_started_at: options.injected === undefined ? null : at(options.injected), windows: { baseline: { start: at(0), end: at(9) }, incident: { start: at(10), end: at(19) } } };
}

describe('markTiming', () => {
  it('when the moments are marked, then MTTD, MTTR and the approval wait are derived from them', () => {
    let r = markTiming({ id: 'x', timings: null }, 'fault_started_at', at(0));
    r = markTiming(r, 'detected_at', new Date(at(3.25)));
    r = markTiming(r, 'diagnosed_at', at(10));
    expect(r.timings).toMatchObject({ fault_start_source: 'injected', mttd_s: 3.3, mttr_s: null, approval_wait_s: null });
    r = markTiming(r, 'approved_at', at(40));
    r = markTiming(r, 'mitigated_at', at(45));
    r = markTiming(r, 'recovered_at', at(52));
    expect(r.timings).toEqual({
      fault_started_at: at(0),
      fault_start_source: 'injected',
      detected_at: at(3.25),
      diagnosed_at: at(10),
      approved_at: at(40),
      mitigated_at: at(45),
      recovered_at: at(52),
      mttd_s: 3.3,
      mttr_s: 52,
      approval_wait_s: 30,
    });
    expect(r.id).toBe('x');
  });

  it('when a moment is cleared or unknown, then what depends on it is null', () => {
    const r = markTiming(markTiming({ timings: { ...EMPTY_TIMINGS, detected_at: at(5) } }, 'fault_started_at', at(1), 'estimated'), 'fault_started_at', null);
    expect(r.timings).toMatchObject({ fault_started_at: null, fault_start_source: null, mttd_s: null });
  });

  it('when the host clock puts the detection before the injection, then MTTD is 0, never negative', () => {
    const r = markTiming(markTiming({}, 'fault_started_at', at(10)), 'detected_at', at(9.6));
    expect(r.timings.mttd_s).toBe(0);
  });
});

describe('detectionTimings', () => {
  it('when the fault was injected, then it starts then and is detected at its first sign after that', () => {
    const t = detectionTimings(evidence({ injected: 10 }), findings({ windows: [4, 12], templates: [{ at: 11.5 }] }));
    expect(t).toEqual({ fault_started_at: at(10), fault_start_source: 'injected', detected_at: at(11.5) });
  });

  it('when an injected fault shows no anomaly window (a CPU already busy), then the culprit appearing detects it', () => {
    const t = detectionTimings(evidence({ injected: 10, culpritFrom: 11 }), findings({ culpritPid: 4242 }));
    expect(t).toEqual({ fault_started_at: at(10), fault_start_source: 'injected', detected_at: at(11) });
  });

  it('when an injected fault is diagnosed healthy, then it was never detected', () => {
    expect(detectionTimings(evidence({ injected: 10 }), findings({ category: 'healthy', windows: [12] }))).toEqual({ fault_started_at: at(10), fault_start_source: 'injected', detected_at: null });
  });

  it('when nothing was injected, then the start is estimated from the earliest sign and the culprit appearing counts', () => {
    const t = detectionTimings(evidence({ culpritFrom: 6 }), findings({ windows: [9], signatures: [14], culpritPid: 4242 }));
    expect(t).toEqual({ fault_started_at: at(6), fault_start_source: 'estimated', detected_at: at(9) });
  });

  it('when a failed probe is the first sign, then it dates the fault', () => {
    const t = detectionTimings(evidence({ failedProbeAt: 7 }), findings({ windows: [12] }));
    expect(t).toEqual({ fault_started_at: at(7), fault_start_source: 'estimated', detected_at: at(7) });
  });

  it('when the fault shows in the first sample, then it predates the run: start unknown, detected when first looked', () => {
    const t = detectionTimings(evidence({ failedProbeAt: 0 }), findings({}));
    expect(t).toEqual({ fault_started_at: null, fault_start_source: null, detected_at: at(0) });
    expect(detectionTimings(evidence(), findings({}))).toEqual({ fault_started_at: null, fault_start_source: null, detected_at: at(0) });
  });

  it('when watch mode detected the fault before the run, then that is its detection, and an alert dates its start', () => {
    expect(detectionTimings(evidence({ failedProbeAt: 0 }), findings({ windows: [12] }), { detectedAt: at(-20) })).toEqual({ fault_started_at: null, fault_start_source: null, detected_at: at(-20) });
    expect(detectionTimings(evidence(), findings({}), { detectedAt: at(-20), alertFiredAt: at(-50) })).toEqual({ fault_started_at: at(-50), fault_start_source: 'estimated', detected_at: at(-20) });
    // An alert that fired after the detection says nothing of the start.
    expect(detectionTimings(evidence(), findings({}), { detectedAt: at(-20), alertFiredAt: at(-5) }).fault_started_at).toBeNull();
  });

  it('when watch mode handed over its samples, then its first sample out of band dates the start at the latest, and an earlier sign in them before it', () => {
    // The watch's samples are the evidence's first (from at(0)); the detection came after them.
    expect(detectionTimings(evidence(), findings({}), { detectedAt: at(22), outOfBandAt: at(14) })).toEqual({ fault_started_at: at(14), fault_start_source: 'estimated', detected_at: at(22) });
    expect(detectionTimings(evidence({ culpritFrom: 8 }), findings({ culpritPid: 4242 }), { detectedAt: at(22), outOfBandAt: at(14) })).toEqual({ fault_started_at: at(8), fault_start_source: 'estimated', detected_at: at(22) });
    // Host clock ahead of the coordinator's: a start after the detection is no start.
    expect(detectionTimings(evidence(), findings({}), { detectedAt: at(12), outOfBandAt: at(14) }).fault_started_at).toBeNull();
  });

  it('when the host is healthy and nothing was injected, then there is no fault to time', () => {
    expect(detectionTimings(evidence(), findings({ category: 'healthy', windows: [12] }))).toEqual({ fault_started_at: null, fault_start_source: null, detected_at: null });
  });

  it('when log templates are quiet or old, then they are not signs of the fault', () => {
    const signs = faultSigns(evidence(), findings({ templates: [{ at: 3, severity: 'info' }, { at: 4, is_new: false }, { at: 5 }] }));
    expect(signs.map((s) => [s.kind, s.at])).toEqual([['log', at(5)]]);
  });
});

describe('timings in the report and the summary', () => {
  const timings: IncidentTimings = { ...markTiming(markTiming(markTiming({}, 'fault_started_at', at(0), 'estimated'), 'detected_at', at(2)), 'recovered_at', at(30)).timings };

  it('when timings are known, then the report lists each moment with its offset and MTTD and MTTR', () => {
    const md = timingsSection(timings).join('\n');
    expect(md).toContain('## Timings');
    expect(md).toContain(`| Fault started | ${at(0)} (estimated from the evidence) | 0 s |`);
    expect(md).toContain(`| Detected | ${at(2)} | 2 s |`);
    expect(md).toContain('| Approved | — | — |');
    expect(md).toContain('**MTTD** 2 s · **MTTR** 30 s · **waiting for approval** n/a');
  });

  it('when the fault predates the run, then the report says its start is unknown', () => {
    expect(timingsSection({ ...EMPTY_TIMINGS, detected_at: at(0) }).join('\n')).toContain('| Fault started | unknown: before the run began | — |');
  });

  it('when timings are measured, then the Slack line gives MTTD and MTTR; with nothing measured there is no line', () => {
    expect(timingsLine(timings)).toBe('MTTD 2 s, MTTR 30 s (fault start estimated from the evidence)');
    expect(timingsLine(EMPTY_TIMINGS)).toBeNull();
    expect(timingsSection(undefined)).toEqual([]);
  });
});
