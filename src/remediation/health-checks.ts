import type { MetricFindings } from '../agents/findings.js';
import type { VerificationCheck } from '../domain/index.js';
import type { RecoveryWindow } from '../evidence/source.js';
import { SETTLED_SAMPLES } from '../agents/metrics/recovery.js';

/** Every probe target's latest answer in the window, or null when the window has none. */
function latestProbes(window: RecoveryWindow): Map<string, RecoveryWindow['probes'][number]> | null {
  if (!window.probes.length) return null;
  const latest = new Map<string, RecoveryWindow['probes'][number]>();
  for (const p of window.probes) {
    const seen = latest.get(p.target);
    if (!seen || Date.parse(p.t) >= Date.parse(seen.t)) latest.set(p.target, p);
  }
  return latest;
}

/**
 * The watch after the fix may end: the probes pass (each target's latest answer was ok) and the
 * window holds enough samples to judge the metrics by (SETTLED_SAMPLES), even when every
 * anomalous series is a lagging one the recovery watch would not wait for.
 */
export function probesPass(window: RecoveryWindow): boolean {
  const latest = latestProbes(window);
  return latest !== null && [...latest.values()].every((p) => p.ok) && window.samples.length >= SETTLED_SAMPLES;
}

/**
 * The verification's host-wide checks (SPEC §10): the health probes pass and every anomalous
 * metric is back inside the host's known-good band (the MetricsAgent's recovery judgement over
 * the window after the fix).
 */
export function healthChecks(window: RecoveryWindow, metrics: MetricFindings | undefined, verifyS: number): VerificationCheck[] {
  const checks: VerificationCheck[] = [];
  const latest = latestProbes(window);
  if (latest === null) checks.push({ name: 'probes', ok: false, detail: `no probe answered within ${verifyS} s of the fix` });
  else {
    const failing = [...latest.values()].filter((p) => !p.ok);
    checks.push({
      name: 'probes',
      ok: failing.length === 0,
      detail: failing.length ? `failing: ${failing.map((p) => `${p.target} (${p.error ?? `status ${p.status ?? '?'}`})`).join(', ')}` : `${latest.size} probe(s) pass: ${[...latest.keys()].join(', ')}`,
    });
  }
  const recovery = metrics?.recovery;
  if (!metrics) checks.push({ name: 'metrics', ok: false, detail: 'no metric analysis to compare against' });
  else if (!metrics.anomalous.length) checks.push({ name: 'metrics', ok: true, detail: 'no metric was anomalous' });
  else if (!recovery) checks.push({ name: 'metrics', ok: false, detail: `no samples within ${verifyS} s of the fix` });
  else if (recovery.samples < SETTLED_SAMPLES) {
    // One sample back in band is not a recovery: the same settling rule as the recovery watch.
    checks.push({ name: 'metrics', ok: false, detail: `only ${recovery.samples} sample(s) within ${verifyS} s of the fix; ${SETTLED_SAMPLES} are needed to show the anomalous metrics back in their band` });
  } else {
    // As the recovery watch: lagging series (load average, swap) are reported, not waited for.
    const out = recovery.series.filter((s) => !s.lagging && s.state !== 'recovered');
    const lagging = recovery.series.filter((s) => s.lagging && s.state !== 'recovered');
    checks.push({
      name: 'metrics',
      ok: out.length === 0,
      detail: out.length
        ? `still outside the normal band after ${verifyS} s: ${out.map((s) => `${s.label} (last ${s.last ?? '?'}, band ${s.band.lo}..${s.band.hi}, set by ${s.band.basis})`).join(', ')}`
        : `every anomalous metric back inside its normal band${recovery.recovery_s !== null ? ` within ${recovery.recovery_s} s` : ''} (${recovery.samples} samples)${lagging.length ? `; slow by nature, still settling: ${lagging.map((s) => s.label).join(', ')}` : ''}`,
    });
  }
  return checks;
}
