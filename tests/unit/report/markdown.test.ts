import path from 'node:path';
import { analyzeLogs } from '../../../src/agents/log/log-agent.js';
import { analyzeMetrics } from '../../../src/agents/metrics/metrics-agent.js';
import { diagnose } from '../../../src/agents/fixer/diagnose.js';
import { readBundle } from '../../../src/evidence/bundle.js';
import { buildReportMarkdown } from '../../../src/report/markdown.js';
import { markdownToSafeHtml } from '../../../src/report/render/index.js';
import { EXAMPLES_DIR } from '../../fixtures/paths.js';

describe('report markdown', () => {
  it('when log lines carry HTML and markdown, then the rendered report contains no live markup from them', async () => {
    const { evidence } = await readBundle(path.join(EXAMPLES_DIR, 'db_conn_exhaust'));
    const hostile = '<script>alert(1)</script> | `x` ``` <img src=x onerror=alert(2)> [click](javascript:alert(3))';
    evidence.logs.incident.push({ name: 'evil', lines: Array.from({ length: 5 }, () => `ERROR ${hostile}`) });
    const logs = analyzeLogs(evidence);
    const metrics = analyzeMetrics(evidence);
    const md = buildReportMarkdown({
      incident: { id: 'inc-20261122-100000-aaaaaaaaaa', created_at: '2026-11-22T10:00:00Z', chaos: { state: 'not_applicable' }, agents: [], target: { kind: 'offline', bundle: 'x' } },
      host: 'h',
      source: 'offline',
      windows: evidence.windows,
      trace: [],
      findings: { LogAgent: logs, MetricsAgent: metrics, FixerAgent: diagnose(evidence, logs, metrics) },
      charts: [],
      now: new Date(),
    });
    expect(md).toContain('Top new or surging templates');
    const html = markdownToSafeHtml(md, { title: 't' });
    expect(html).not.toMatch(/<script>alert/);
    expect(html).not.toMatch(/<img[^>]*onerror/);
    expect(html).not.toMatch(/href="javascript:/);
  });
});
