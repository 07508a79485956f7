import path from 'node:path';
import { analyzeLogs } from '../../../src/agents/log/log-agent.js';
import { analyzeMetrics } from '../../../src/agents/metrics/metrics-agent.js';
import { diagnose } from '../../../src/agents/fixer/diagnose.js';
import { readBundle } from '../../../src/evidence/bundle.js';
import { buildReportMarkdown } from '../../../src/report/markdown.js';
import { markdownToSafeHtml } from '../../../src/report/render/index.js';
import { EXAMPLES_DIR } from '../../fixtures/paths.js';
import { hostEvidence } from '../../fixtures/synthetic-host.js';

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
      reference: evidence.reference,
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

  it('when the host was judged against its known-good reference, then the report says which one and how old it is, and names the culprit with port and executable', () => {
    const evidence = hostEvidence({ probe: (p) => (p.kind === 'http' ? { ...p, ok: false, latency_ms: null, error: 'ConnectionRefusedError: [Errno 111] Connection refused' } : p) });
    const input = (reference: typeof evidence.reference) => {
      const e = { ...evidence, reference };
      const logs = analyzeLogs(e);
      const metrics = analyzeMetrics(e);
      return buildReportMarkdown({
        incident: { id: 'inc-20261130-100000-aaaaaaaaaa', created_at: '2026-11-30T10:00:00Z', chaos: { state: 'not_applicable' }, agents: [], target: { kind: 'ssh', name: 'shop', host: '10.213.8.2', port: 2222, user: 'ops' } },
        host: e.host,
        source: 'ssh',
        windows: e.windows,
        reference: e.reference,
        trace: [],
        findings: { LogAgent: logs, MetricsAgent: metrics, FixerAgent: diagnose(e, logs, metrics) },
        charts: [],
        now: new Date('2026-11-30T10:01:00Z'),
      });
    };
    const md = input(evidence.reference);
    expect(md).toMatch(/\| Compared with \| the reference of 2026-11-30T09:00:00.000Z \(enroll, 60 min old\): 4 listening ports, 3 services, 3 probes/);
    expect(md).toMatch(/\*\*Culprit:\*\* service `nginx` \(pid 51, port 8088, executable `\/usr\/sbin\/nginx`\)/);
    expect(input(null)).toContain('| Compared with | no known-good reference recorded for this host');
  });
});
