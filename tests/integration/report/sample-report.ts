/**
 * A realistic postmortem, as the ReporterAgent would write it, with host text that tries to break
 * out: a log excerpt, a process name and an error template carrying markup.
 */
import { barChart, timeSeriesChart, type TimePoint } from '../../../src/report/charts/index.js';
import type { TrustedEmbed } from '../../../src/report/render/index.js';

export const HOSTILE_SCRIPT = `<script>document.title='PWNED-BY-LOG'</script>`;
export const HOSTILE_IMG = '<img src=x onerror=alert(1)>';
export const HOSTILE_SVG = '<svg onload=alert(document.domain)>';

const T0 = Date.UTC(2025, 0, 14, 9, 30, 0);

function samples(n: number, f: (i: number) => number): TimePoint[] {
  return Array.from({ length: n }, (_, i) => ({ t: T0 + i * 5_000, v: f(i) }));
}

export function sampleEmbeds(): Record<string, TrustedEmbed> {
  const wobble = (i: number): number => Math.sin(i * 1.7) * 2.5 + Math.cos(i * 0.6) * 1.5;
  const cpu = timeSeriesChart({
    title: 'CPU utilisation — web-1',
    unit: '%',
    yMax: 100,
    series: [
      { name: 'cpu total', points: samples(144, (i) => (i < 36 ? 14 + wobble(i) : i < 108 ? 95 + wobble(i) / 2 : 15 + wobble(i))) },
      { name: `stress-ng ${HOSTILE_SVG}`, points: samples(144, (i) => (i < 36 || i >= 108 ? 0 : 81 + wobble(i) / 3)) },
      { name: 'postgres', points: samples(144, (i) => (i >= 60 && i < 64 ? NaN : 4 + wobble(i) / 4)) },
    ],
    band: { lo: 9, hi: 19, label: 'baseline p5–p95' },
    windows: [{ start: T0 + 185_000, end: T0 + 540_000, severity: 'high', label: 'cpu saturation' }],
    markers: [
      { t: T0 + 180_000, label: 'fault injected' },
      { t: T0 + 540_000, label: 'reverted' },
    ],
  });
  const latency = barChart({
    title: 'HTTP p95 latency: baseline vs incident',
    unit: 'ms',
    bars: [
      { label: 'GET /api/orders — baseline', value: 38 },
      { label: 'GET /api/orders — incident', value: 912, highlight: true },
      { label: 'POST /api/checkout — baseline', value: 71 },
      { label: 'POST /api/checkout — incident', value: 1480, highlight: true },
    ],
  });
  return {
    'artifacts/cpu.svg': { kind: 'svg', svg: cpu },
    'artifacts/latency.svg': { kind: 'svg', svg: latency },
  };
}

export function sampleMarkdown(incidentId = 'inc-20250114-7f3a9c'): string {
  return `# Postmortem: CPU saturation on web-1

| | |
|---|---|
| **Incident** | \`${incidentId}\` |
| **Target** | web-1 (\`10.20.0.5:22\`, user \`sre-demo\`) |
| **Scenario** | \`cpu_spike\` — duration 360 s, 4 workers |
| **Diagnosis** | \`cpu_saturation\` — confidence **0.93** |
| **Culprit** | \`stress-ng\` (pid 24817) |
| **Chaos** | reverted at 09:39:00 UTC, verified healthy at 09:39:20 UTC |

## Summary

At 09:33:00 UTC a CPU fault was injected on **web-1**. Within 5 s total CPU rose from a baseline
of 14 % (p5–p95: 9–19 %) to a sustained 95 %, and the p95 latency of \`GET /api/orders\` went from
38 ms to 912 ms. The diagnosis rests on the metrics and the process table, not on the scenario's
name: four \`stress-ng\` workers held 81 % of all CPU while no other process changed its share.

> **Impact:** checkout requests slowed 20× for six minutes; no errors were returned to clients,
> no data was lost.

## Timeline (UTC)

| time | agent | event |
|---|---|---|
| 09:30:00 | coordinator | baseline recording started (180 s) |
| 09:33:00 | coordinator | failsafe armed (deadline 300 s, lease 30 s); \`cpu_spike\` started |
| 09:33:05 | MetricsAgent | CPU 95 % > baseline p95 19 % — anomaly \`high\` |
| 09:33:12 | LogAgent | 3 new error templates (see excerpt) |
| 09:34:40 | FixerAgent | \`fix.sh\` proposed: stop the runaway workers |
| 09:39:00 | coordinator | chaos reverted (\`stop\`) |
| 09:39:20 | TesterAgent | CPU back to 15 %, \`/healthz\` 200 in 12 ms |

## Evidence

### CPU

![CPU utilisation on web-1](artifacts/cpu.svg)

### Latency

![HTTP p95 latency, baseline vs incident](artifacts/latency.svg)

### Top processes during the incident

| pid | command | CPU % | RSS MB |
|---:|---|---:|---:|
| 24817 | \`stress-ng\` | 81.2 | 6 |
| 812 | \`gunicorn: worker [orders]\` | 9.4 | 212 |
| 4410 | ${HOSTILE_SVG} | 0.3 | 1 |
| 1203 | \`postgres: checkpointer\` | 0.2 | 48 |

### New error templates

1. \`upstream timed out (110: Connection timed out) while reading response header from upstream\`
2. \`worker <*> took <*> ms to respond\`
3. ${HOSTILE_SCRIPT} — a template learnt from an untrusted log line, shown as text.

### Log excerpt (verbatim from the host)

\`\`\`log
2025-01-14T09:33:11.201Z web-1 nginx[640]: upstream timed out (110: Connection timed out) while reading response header
2025-01-14T09:33:11.874Z web-1 orders[812]: worker 3 took 1204 ms to respond (GET /api/orders?page=2&size=50)
2025-01-14T09:33:12.002Z web-1 orders[812]: ${HOSTILE_SCRIPT}
2025-01-14T09:33:12.415Z web-1 orders[812]: user-agent: ${HOSTILE_IMG}
2025-01-14T09:33:12.980Z web-1 kernel: [ 4412.331] sched: RT throttling activated
\`\`\`

Unsafe links from the logs are not clickable: [see details](javascript:alert(1)),
[passwords](file:///etc/passwd), ![tracker](https://evil.example/pixel.png).

## Suggested fix (review before running; never run automatically)

\`\`\`bash
#!/usr/bin/env bash
set -euo pipefail
# Stop the runaway CPU workers found during ${incidentId}.
pkill --pidfile /var/run/chaos-cpu_spike.pid || true
systemctl is-active --quiet orders.service || systemctl restart orders.service
\`\`\`

## Follow-ups

- [x] Chaos reverted and verified
- [ ] Alert on CPU > 85 % for 2 min on the web tier
- [ ] Cap \`gunicorn\` workers with \`CPUQuota=\` in the unit file

---

*Generated by Chaos-Handler from recorded evidence. Host text above is quoted verbatim and
may contain attacker-controlled content.*
`;
}
