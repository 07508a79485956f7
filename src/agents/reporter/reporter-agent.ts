import type { Agent, AgentInput, AgentResult } from '../agent.js';
import type { ReportFindings } from '../findings.js';
import { errorMessage } from '../../errors.js';
import { buildReportMarkdown, buildSlackSummary, categoryTitle } from '../../report/markdown.js';
import { chartFileName, metricCharts } from '../../report/metric-charts.js';

/**
 * ReporterAgent: writes the postmortem (report.md, report.pdf), the charts and the Slack-style
 * summary, and posts the summary when a webhook is configured. A missing browser or a failing
 * webhook is recorded, never fatal: report.md is always written.
 */
export const reporterAgent: Agent<'ReporterAgent'> = {
  name: 'ReporterAgent',
  async run(input: AgentInput): Promise<AgentResult<ReportFindings>> {
    try {
      const { evidence, findings, incident } = input;
      const written: string[] = [];
      const charts = findings.MetricsAgent ? metricCharts(findings.MetricsAgent, evidence.fault_started_at, evidence.fault_reverted_at) : [];
      const images: Record<string, string> = {};
      for (const chart of charts) {
        const file = chartFileName(chart.key);
        await input.artifacts.write(file, chart.svg);
        images[file] = chart.svg;
        written.push(file);
      }

      const markdown = buildReportMarkdown({
        incident,
        host: evidence.host,
        source: evidence.source,
        windows: evidence.windows,
        reference: evidence.reference,
        trace: await input.readTrace(),
        findings,
        charts: charts.map((c) => ({ key: c.key, title: c.title, file: chartFileName(c.key) })),
        now: new Date(),
      });
      written.push(await input.artifacts.write('report.md', markdown));

      const pdf = await renderPdf(input, markdown, images);
      if (pdf.state === 'rendered') written.push('report.pdf');
      await input.trace(pdf.state === 'rendered' ? 'artifact' : 'warning', {
        summary: pdf.state === 'rendered' ? 'report.pdf rendered' : `report.pdf ${pdf.state}: ${pdf.detail ?? ''}`,
        ...pdf,
      });

      const summary = buildSlackSummary({ incidentId: incident.id, host: evidence.host, findings, reportPath: `incidents/${incident.id}/report.md`, timings: incident.timings });
      written.push(await input.artifacts.write('slack_summary.txt', summary));
      const slack = await postSlack(input, summary);
      if (slack.state === 'failed') await input.trace('warning', { summary: `Slack webhook failed: ${slack.detail ?? ''}`, ...slack });

      const diagnosis = findings.FixerAgent;
      await input.trace('result', {
        summary: `report written${diagnosis ? `: ${categoryTitle(diagnosis.root_cause.category)}` : ''}`,
        artifacts: ['report.md', ...(pdf.state === 'rendered' ? ['report.pdf'] : []), 'slack_summary.txt', ...Object.keys(images)],
      });
      return { ok: true, findings: { artifacts: written, pdf, slack } };
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
  },
};

async function renderPdf(input: AgentInput, markdown: string, images: Record<string, string>): Promise<ReportFindings['pdf']> {
  const render = input.services.renderPdf;
  if (!render) return { state: 'skipped', detail: input.services.pdfUnavailableReason ?? 'no PDF renderer configured' };
  try {
    const bytes = await render({ title: `Incident ${input.incident.id}`, markdown, images });
    await input.artifacts.write('report.pdf', bytes);
    return { state: 'rendered' };
  } catch (error) {
    input.log.warn({ err: error }, 'PDF rendering failed');
    return { state: 'failed', detail: errorMessage(error) };
  }
}

async function postSlack(input: AgentInput, summary: string): Promise<ReportFindings['slack']> {
  if (!input.services.postSlack) return { state: 'not_configured' };
  try {
    await input.services.postSlack(summary);
    return { state: 'sent' };
  } catch (error) {
    return { state: 'failed', detail: errorMessage(error) };
  }
}
