import type { Config } from '../config/index.js';
import { createCoordinator, type Coordinator } from '../coordinator.js';
import type { Logger } from '../logger.js';
import { createMetrics, type CoordinatorMetrics } from '../observability/metrics.js';
import { createApp, startWebServer, type WebServer } from './create-app.js';

export type CoordinatorServer = {
  server: WebServer;
  coordinator: Coordinator;
  metrics: CoordinatorMetrics;
  /** Graceful: stops the running incidents (their chaos reverted), then the server. */
  stop: () => Promise<void>;
};

/**
 * The coordinator behind its HTTP API, listening: what `serve` runs, and what the tests and the
 * benchmarks start on port 0.
 */
export async function startCoordinatorServer(config: Config, log: Logger, options: { showStacks?: boolean } = {}): Promise<CoordinatorServer> {
  const metrics = createMetrics();
  const coordinator = await createCoordinator(config, log, { observer: metrics });
  const app = createApp({
    incidents: coordinator.incidents,
    store: coordinator.store,
    log,
    ...(config.CHAOS_API_TOKEN ? { apiToken: config.CHAOS_API_TOKEN } : {}),
    maxBodyBytes: config.CHAOS_MAX_BODY_BYTES,
    version: coordinator.version,
    showStacks: options.showStacks ?? false,
    metrics,
    alerts: { alerts: coordinator.alerts, instanceLabel: config.CHAOS_ALERT_INSTANCE_LABEL, genericMapping: config.CHAOS_ALERT_GENERIC_MAPPING ?? null },
    watches: coordinator.watches,
    experiments: coordinator.experiments,
    gamedays: coordinator.gamedays,
  });
  const server = await startWebServer(app, config.CHAOS_PORT, config.CHAOS_BIND);
  return {
    server,
    coordinator,
    metrics,
    stop: async () => {
      await coordinator.close();
      await server.stop();
    },
  };
}
