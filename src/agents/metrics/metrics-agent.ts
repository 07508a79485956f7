import type { Agent, AgentInput, AgentResult } from '../agent.js';
import type { MetricFindings, SeriesFinding } from '../findings.js';
import type { Evidence } from '../../evidence/schema.js';
import { errorMessage } from '../../errors.js';
import { analyzeSeries } from './anomalies.js';
import { attribute } from './attribution.js';
import { extractSeries } from './series.js';

/**
 * MetricsAgent: compares every series of the incident window with its own baseline, finds the
 * anomaly windows, and attributes them to processes, mounts, interfaces and DB clients.
 */
export const metricsAgent: Agent<'MetricsAgent'> = {
  name: 'MetricsAgent',
  async run(input: AgentInput): Promise<AgentResult<MetricFindings>> {
    try {
      const findings = analyzeMetrics(input.evidence);
      await input.artifacts.write('metrics.json', `${JSON.stringify({ samples: input.evidence.samples, probes: input.evidence.probes, findings }, null, 1)}\n`);
      await input.trace('finding', {
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
      });
      return { ok: true, findings };
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
  },
};

export function analyzeMetrics(evidence: Evidence): MetricFindings {
  const series = extractSeries(evidence).map(analyzeSeries);
  const anomalous = series.filter((s) => s.anomalous);
  return {
    series,
    anomalous: anomalous.map((s) => s.key),
    ...attribute(evidence),
    time_to_detect_s: timeToDetect(anomalous, evidence.fault_started_at),
    recovery_s: recovery(anomalous, evidence.fault_reverted_at),
  };
}

function timeToDetect(anomalous: SeriesFinding[], faultStartedAt: string | null): number | null {
  if (!faultStartedAt || !anomalous.length) return null;
  const fault = Date.parse(faultStartedAt);
  const first = Math.min(...anomalous.flatMap((s) => s.windows.map((w) => Date.parse(w.start))));
  return Math.max(0, Math.round((first - fault) / 100) / 10);
}

/** Seconds after the revert until every anomalous series is back in its band, and stays there. */
function recovery(anomalous: SeriesFinding[], revertedAt: string | null): number | null {
  if (!revertedAt || !anomalous.length) return null;
  const revert = Date.parse(revertedAt);
  let worst = 0;
  for (const s of anomalous) {
    const after = s.points.filter((p) => Date.parse(p.t) >= revert);
    if (!after.length) return null;
    let lastOut = -1;
    after.forEach((p, i) => {
      if (p.v < s.baseline.lo || p.v > s.baseline.hi) lastOut = i;
    });
    if (lastOut === after.length - 1) return null; // not recovered within the recording
    const back = after[lastOut + 1]!;
    worst = Math.max(worst, (Date.parse(back.t) - revert) / 1000);
  }
  return Math.round(worst * 10) / 10;
}
