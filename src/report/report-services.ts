import type { AgentServices } from '../agents/agent.js';
import type { Logger } from '../logger.js';
import { createPdfRenderer, findChromium, markdownToSafeHtml } from './render/index.js';
import { createSlackPoster } from './slack.js';

export type ReportServices = { services: AgentServices; close: () => Promise<void> };

/**
 * The ReporterAgent's collaborators: one Chromium for every PDF (launched on first use) and the
 * Slack poster. Without a browser the services say why, and report.md is still written.
 */
export function createReportServices(options: { pdf: boolean; chromiumPath?: string; browserProfileRoot?: string; slackWebhookUrl?: string; log: Logger }): ReportServices {
  const services: AgentServices = {};
  let close: () => Promise<void> = async () => {};
  // A configured path is used as is: a typo must be reported, not papered over by another browser.
  const executable = options.pdf ? (options.chromiumPath ? findChromium(options.chromiumPath, []) : findChromium()) : null;
  if (!options.pdf) {
    services.pdfUnavailableReason = 'PDF rendering is turned off (CHAOS_PDF=false)';
  } else if (!executable) {
    services.pdfUnavailableReason = `no Chromium found${options.chromiumPath ? ` at ${options.chromiumPath}` : ''}: install it (apt-get install chromium) or set CHAOS_CHROMIUM_PATH`;
  } else {
    const renderer = createPdfRenderer({
      executablePath: executable,
      searchDefaults: false,
      log: options.log,
      ...(options.browserProfileRoot ? { profileRoot: options.browserProfileRoot } : {}),
    });
    services.renderPdf = async (doc) => {
      const embeds = Object.fromEntries(Object.entries(doc.images).map(([file, svg]) => [file, { kind: 'svg' as const, svg }]));
      return renderer.render(markdownToSafeHtml(doc.markdown, { title: doc.title, embeds }));
    };
    close = () => renderer.close();
  }
  if (options.slackWebhookUrl) services.postSlack = createSlackPoster(options.slackWebhookUrl);
  return { services, close };
}
