import type { Agent, AgentInput, AgentResult } from '../agent.js';
import type { MetricFindings, SeriesFinding } from '../findings.js';
import type { Evidence } from '../../evidence/schema.js';
import { errorMessage } from '../../errors.js';
import { analyzeSeries } from './anomalies.js';
import { attribute } from './attribution.js';
import { assessRecovery, recoverySettled, stillOut } from './recovery.js';
import { extractSeries } from './series.js';

/**
 * MetricsAgent: compares every series of the incident window with its own baseline, finds the
 * anomaly windows, and attributes them to processes, mounts, interfaces and DB clients.
 */
export const metricsAgent: Agent<'MetricsAgent'> = {
  name: 'MetricsAgent',
  run: (input) =>
    analyzeAndRecord(input, (findings) => ({
      summary: findings.anomalous.length
        ? `${findings.anomalous.length} anomalous series: ${findings.anomalous.join(', ')}`
        : 'every series stayed inside its baseline band',
      anomalies: findings.series
        .filter((s) => s.anomalous)
        .map((s) => ({ key: s.key, baseline_median: s.baseline.median, incident_max: s.incident.max, windows: s.windows })),
      top_cpu: findings.processes.by_cpu.slice(0, 3),
      top_rss_growth: findings.processes.by_rss_growth.slice(0, 3),
      time_to_detect_s: findings.time_to_detect_s,
      recovery_s: findings.recovery_s,
    })),

  /** Once the fault is reverted and the host watched: how long each anomalous series took to come back. */
  afterRevert: {
    settled: settledAfterRevert,
    run: (input) => analyzeAndRecord(input, (findings) => ({ summary: recoverySummary(findings), recovery: findings.recovery, recovery_s: findings.recovery_s })),
  },
};

/** Both steps: analyse the evidence as it stands, write metrics.json, trace what `describe` picks. */
async function analyzeAndRecord(input: AgentInput, describe: (findings: MetricFindings) => object): Promise<AgentResult<MetricFindings>> {
  try {
    const findings = analyzeMetrics(input.evidence);
    await writeMetrics(input, findings);
    await input.trace('finding', describe(findings));
    return { ok: true, findings };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

function writeMetrics(input: AgentInput, findings: MetricFindings): Promise<string> {
  return input.artifacts.write('metrics.json', `${JSON.stringify({ samples: input.evidence.samples, probes: input.evidence.probes, findings }, null, 1)}\n`);
}

function recoverySummary(findings: MetricFindings): string {
  const r = findings.recovery;
  if (!r) return findings.anomalous.length ? 'recovery not measured: no samples after the revert' : 'nothing was anomalous, so nothing to recover from';
  const lagging = stillOut(r, { lagging: true });
  const head = r.recovered
    ? `recovered: every anomalous series back to normal ${r.recovery_s} s after the revert`
    : `not recovered within ${r.watched_s} s of the revert: ${stillOut(r).join(', ')} still out of their normal band`;
  return lagging.length ? `${head} (${lagging.join(', ')} still settling, as it lags by design)` : head;
}

/**
 * The recovery watch's stop condition: given the MetricsAgent's findings (the recovery bands)
 * and the evidence so far, is every anomalous series settled back inside its band?
 */
export function settledAfterRevert(findings: MetricFindings, evidence: Evidence): boolean {
  const fresh = new Map(extractSeries(evidence).map((s) => [s.key, s.points]));
  const anomalous = findings.series.filter((s) => s.anomalous).map((s) => ({ ...s, points: fresh.get(s.key) ?? [] }));
  return recoverySettled(anomalous, evidence.fault_reverted_at);
}

export function analyzeMetrics(evidence: Evidence): MetricFindings {
  const series = extractSeries(evidence).map((s) => analyzeSeries(s, evidence.reference?.levels[s.key]));
  const anomalous = series.filter((s) => s.anomalous);
  const recovery = assessRecovery(anomalous, evidence.fault_reverted_at);
  return {
    series,
    anomalous: anomalous.map((s) => s.key),
    ...attribute(evidence),
    time_to_detect_s: timeToDetect(anomalous, evidence.fault_started_at),
    recovery_s: recovery?.recovery_s ?? null,
    recovery,
  };
}

function timeToDetect(anomalous: SeriesFinding[], faultStartedAt: string | null): number | null {
  if (!faultStartedAt || !anomalous.length) return null;
  const fault = Date.parse(faultStartedAt);
  const first = Math.min(...anomalous.flatMap((s) => s.windows.map((w) => Date.parse(w.start))));
  return Math.max(0, Math.round((first - fault) / 100) / 10);
}
