import path from 'node:path';
import { analyzeLogs } from '../../../src/agents/log/log-agent.js';
import { analyzeMetrics } from '../../../src/agents/metrics/metrics-agent.js';
import { diagnose } from '../../../src/agents/fixer/diagnose.js';
import { readBundle } from '../../../src/evidence/bundle.js';
import type { Evidence, LogStream } from '../../../src/evidence/schema.js';
import { BUNDLE_EXPECTATIONS, EXAMPLES_DIR } from '../../fixtures/paths.js';

/**
 * Noise a real host always has: an app that logs the same unrelated errors all the time, and a
 * busy neighbour process. Added to both windows, it must change no diagnosis.
 */
function withNoise(evidence: Evidence): Evidence {
  const noisyLogs = (window: { start: string; end: string }): LogStream => {
    const start = Date.parse(window.start);
    const seconds = Math.max(1, Math.round((Date.parse(window.end) - start) / 1000));
    return {
      name: 'billing',
      lines: Array.from({ length: seconds }, (_, i) => `${new Date(start + i * 1000).toISOString()} ERROR invoice ${1000 + i} rejected by payment gateway: card declined (code 51)`),
    };
  };
  return {
    ...evidence,
    // Noise the host always makes: its known-good reference has the template too (a template the
    // healthy host never printed is news, and rightly keeps it from "healthy").
    reference: evidence.reference && {
      ...evidence.reference,
      log_templates: [...evidence.reference.log_templates, { stream: 'billing', template: 'invoice <*> rejected by payment gateway: card declined (code <*>)', per_min: 60 }],
    },
    logs: {
      baseline: [...evidence.logs.baseline, noisyLogs(evidence.windows.baseline)],
      incident: [...evidence.logs.incident, noisyLogs(evidence.windows.incident)],
    },
    samples: evidence.samples.map((s, i) => ({
      ...s,
      cpu: { ...s.cpu, busy_pct: Math.min(100, s.cpu.busy_pct + 20 + (i % 3)) },
      top: [...s.top, { pid: 4242, comm: 'backup-agent', cpu_pct: 40 + (i % 3), rss_mb: 300 }],
    })),
  };
}

describe('diagnosis under steady noise', () => {
  it.each(Object.entries(BUNDLE_EXPECTATIONS))('when the %s bundle gets unrelated errors and a busy neighbour, then it is still %s', async (bundle, category) => {
    const { evidence } = await readBundle(path.join(EXAMPLES_DIR, bundle));
    const noisy = withNoise(evidence);
    const d = diagnose(noisy, analyzeLogs(noisy), analyzeMetrics(noisy));
    expect(d.root_cause.category).toBe(category);
    expect(d.root_cause.culprit?.name).not.toBe('backup-agent');
  });
});
