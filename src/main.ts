import { loadConfig } from './config/index.js';
import { startCoordinatorServer } from './http/start-coordinator-server.js';
import { createLogger } from './logger.js';

/**
 * Starts the API server: the only place, with the CLI entry, that reads process.env.
 * SIGTERM/SIGINT drain: no new incidents, running ones are stopped and their chaos reverted.
 */
export async function serve(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = loadConfig(env);
  const log = createLogger(config.CHAOS_LOG_LEVEL);
  const { server, stop } = await startCoordinatorServer(config, log, { showStacks: env.NODE_ENV === 'development' });
  log.info({ url: server.url, incidentsDir: config.CHAOS_INCIDENTS_DIR }, 'Chaos-Handler coordinator listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'Shutting down: stopping running incidents and reverting their chaos');
    await stop();
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
