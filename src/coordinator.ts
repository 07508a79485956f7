import { readFileSync } from 'node:fs';
import type { Config } from './config/index.js';
import { IncidentService, type TargetConnector } from './incidents/incident-service.js';
import { OfflineConnector, RoutingConnector } from './incidents/connector.js';
import { SshConnector } from './incidents/ssh-connector.js';
import type { Logger } from './logger.js';
import { createReportServices } from './report/report-services.js';
import { IncidentStore } from './store/incident-store.js';

export type Coordinator = {
  store: IncidentStore;
  incidents: IncidentService;
  version: string;
  close: () => Promise<void>;
};

/**
 * Wires the coordinator from its configuration: store, report services, connectors, the
 * incident service. Shared by the API server (main.ts) and the CLI.
 */
export async function createCoordinator(config: Config, log: Logger, overrides: { connector?: TargetConnector } = {}): Promise<Coordinator> {
  const store = new IncidentStore(config.CHAOS_INCIDENTS_DIR);
  await store.init();
  const report = createReportServices({
    pdf: config.CHAOS_PDF,
    ...(config.CHAOS_CHROMIUM_PATH ? { chromiumPath: config.CHAOS_CHROMIUM_PATH } : {}),
    ...(config.CHAOS_SLACK_WEBHOOK_URL ? { slackWebhookUrl: config.CHAOS_SLACK_WEBHOOK_URL } : {}),
    log,
  });
  const connector =
    overrides.connector ??
    new RoutingConnector(
      new OfflineConnector({ examplesDir: config.CHAOS_EXAMPLES_DIR }),
      new SshConnector({ targetsFile: config.CHAOS_TARGETS_FILE, keysDir: config.CHAOS_KEYS_DIR, store, leaseS: config.CHAOS_LEASE_S }),
      'no SSH connector',
    );
  const incidents = new IncidentService({
    store,
    connector,
    services: report.services,
    log,
    agentTimeoutMs: config.CHAOS_AGENT_TIMEOUT_MS,
    maxConcurrent: config.CHAOS_MAX_CONCURRENT_INCIDENTS,
  });
  const recovered = await incidents.recoverInterrupted();
  if (recovered.length) log.warn({ incidents: recovered }, 'Marked incidents interrupted by a previous crash');
  return {
    store,
    incidents,
    version: packageVersion(),
    close: async () => {
      await incidents.drain();
      await report.close();
    },
  };
}

/** Our package.json is one level up from src/ and two from dist/src/. */
function packageVersion(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'chaos-handler' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}
