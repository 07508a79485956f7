import { loadConfig } from './config/index.js';
import { createCoordinator } from './coordinator.js';
import { createApp, startWebServer } from './http/create-app.js';
import { createLogger } from './logger.js';
import { createMetrics } from './observability/metrics.js';

/**
 * Starts the API server: the only place, with the CLI entry, that reads process.env.
 * SIGTERM/SIGINT drain: no new incidents, running ones are stopped and their chaos reverted.
 */
export async function serve(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = loadConfig(env);
  const log = createLogger(config.CHAOS_LOG_LEVEL);
  const metrics = createMetrics();
  const coordinator = await createCoordinator(config, log, { observer: metrics });
  const app = createApp({
    incidents: coordinator.incidents,
    store: coordinator.store,
    log,
    ...(config.CHAOS_API_TOKEN ? { apiToken: config.CHAOS_API_TOKEN } : {}),
    maxBodyBytes: config.CHAOS_MAX_BODY_BYTES,
    version: coordinator.version,
    showStacks: env.NODE_ENV === 'development',
    metrics,
  });
  const server = await startWebServer(app, config.CHAOS_PORT, config.CHAOS_BIND);
  log.info({ url: server.url, incidentsDir: coordinator.store.root }, 'Chaos-Handler coordinator listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'Shutting down: stopping running incidents and reverting their chaos');
    await coordinator.close();
    await server.stop();
    log.info('Shut down cleanly');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'Unhandled promise rejection'));
}

const isEntry = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) {
  serve().catch((error: unknown) => {
    console.error(`chaos-handler: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
