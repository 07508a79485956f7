import type { Agent, AgentInput, AgentResult } from '../agent.js';
import type { ReportFindings } from '../findings.js';
import { errorMessage } from '../../errors.js';
import { buildReportMarkdown, buildSlackSummary, categoryTitle } from '../../report/markdown.js';
import { chartFileName, metricCharts } from '../../report/metric-charts.js';
import type { Narrative } from '../../narrative/schema.js';

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

      const told = await narrate(input);
      if (told.narrative) written.push('narrative.json');

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
        narrative: told.narrative,
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
      return { ok: true, findings: { artifacts: written, pdf, slack, narrative: told.state } };
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
  },
};

/**
 * The optional narrative: asked for once the diagnosis is final, and never in the report's way.
 * Any failure (timeout, HTTP error, unreachable endpoint) is traced as "skipped" with its reason.
 * narrative.json keeps the exact (redacted) request that left, so anyone can check what was sent.
 */
async function narrate(input: AgentInput): Promise<{ narrative: Narrative | null; state: NonNullable<ReportFindings['narrative']> }> {
  const narrator = input.services.narrator;
  if (!narrator) return { narrative: null, state: { state: 'not_configured' } };
  const target = input.incident.target;
  const started = performance.now();
  try {
    const { narrative, request } = await narrator.narrate({ evidence: input.evidence, findings: input.findings, target }, input.signal);
    const ms = Math.round(performance.now() - started);
    await input.artifacts.write('narrative.json', `${JSON.stringify({ model: narrative.model, duration_ms: ms, request, narrative }, null, 2)}\n`);
    await input.trace('info', { summary: `narrative written by the model ${narrative.model} in ${ms} ms (${narrative.hypotheses.length} hypotheses of its own)`, narrative: { state: 'written', model: narrative.model, duration_ms: ms } });
    return { narrative, state: { state: 'written', model: narrative.model } };
  } catch (error) {
    input.signal.throwIfAborted();
    const reason = errorMessage(error);
    input.log.warn({ model: narrator.model, reason }, 'Narrative skipped');
    await input.trace('warning', { summary: `narrative skipped: ${reason}`, narrative: { state: 'skipped', model: narrator.model, detail: reason } });
    return { narrative: null, state: { state: 'skipped', model: narrator.model, detail: reason } };
  }
}

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
