import express, { type Express, type Response } from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { createDashboardRouter } from '../dashboard/dashboard-router.js';
import { jsonVisible } from '../evidence/sanitize.js';
import type { IncidentService } from '../incidents/incident-service.js';
import type { Logger } from '../logger.js';
import { createMetrics } from '../observability/metrics.js';
import type { IncidentStore } from '../store/incident-store.js';
import { requireBearerToken } from './auth.js';
import { createDocsRouter } from './docs.js';
import { createSchemaRoutes } from './schema-routes.js';
import { createExperimentRoutes } from './experiment-routes.js';
import type { ExperimentService } from '../experiments/experiment-service.js';
import type { GameDayService } from '../gamedays/gameday-service.js';
import { createGameDayRoutes } from './gameday-routes.js';
import { errorHandler } from './errors.js';
import { createMetricsRoute, type MetricsSource } from './metrics-route.js';
import { createAlertRoutes, type AlertRouteDeps } from './alerts-routes.js';
import { createWatchRoutes } from './watch-routes.js';
import type { WatchService } from '../watch/watch-service.js';
import { createRoutes } from './routes.js';

export type AppDeps = {
  incidents: IncidentService;
  store: IncidentStore;
  log: Logger;
  apiToken?: string;
  maxBodyBytes: number;
  version: string;
  showStacks?: boolean;
  /** The coordinator's metrics for GET /metrics; without them, a registry of process metrics only. */
  metrics?: MetricsSource;
  /** POST /alerts and /alerts/generic; absent, those routes are not served. */
  alerts?: AlertRouteDeps;
  /** Watch mode's routes; absent, not served. */
  watches?: WatchService;
  /** POST/GET /experiments and their outputs; absent, not served. */
  experiments?: ExperimentService;
  /** POST/GET /gamedays; absent, not served. */
  gamedays?: GameDayService;
};

/** The Express app, wired from its dependencies; nothing here reads the environment. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Answers carry host text (process names, log lines): JSON with no raw C1 or bidi character,
  // so `curl … | less` shows what the JSON says. Same value once parsed.
  app.response.json = function json(this: Response, body: unknown) {
    if (!this.get('Content-Type')) this.type('application/json');
    return this.send(jsonVisible(JSON.stringify(body)));
  };
  app.set('query parser', 'simple');
  app.use((req, res, next) => {
    if (req.originalUrl.length <= MAX_URL_CHARS) return next();
    res.status(414).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title: 'URI Too Long', status: 414, detail: `The request URL is longer than ${MAX_URL_CHARS} characters` }));
  });
  // Static pages first: they hold no data and a browser cannot send a token with a navigation.
  app.use(createDashboardRouter());
  app.use(createDocsRouter());
  app.use(createSchemaRoutes());
  app.use(requireBearerToken(deps.apiToken));
  app.use(express.json({ limit: deps.maxBodyBytes, strict: true, type: ['application/json', 'application/*+json'] }));
  app.use(createRoutes({ incidents: deps.incidents, store: deps.store, version: deps.version }));
  if (deps.alerts) app.use(createAlertRoutes(deps.alerts));
  if (deps.watches) app.use(createWatchRoutes(deps.watches));
  if (deps.experiments) app.use(createExperimentRoutes(deps.experiments));
  if (deps.gamedays) app.use(createGameDayRoutes(deps.gamedays));
  app.use(createMetricsRoute(deps.metrics ?? createMetrics()));
  app.use((req, res) => {
    const hint = req.method === 'GET' && req.path === '/' ? ': the dashboard is served to browsers (Accept: text/html); the API is described at /openapi.json and /docs' : '';
    res.status(404).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: `No route ${req.method} ${req.path}${hint}` }));
  });
  app.use(errorHandler(deps.log, deps.showStacks ?? false));
  return app;
}

/** No route of ours needs more; longer URLs get 414 (past Node's header limit, 431). */
const MAX_URL_CHARS = 8 * 1024;

const answered = new WeakSet<Duplex>();

/** How long a refused connection is read (and discarded) so the client sees the answer, not a reset. */
const DRAIN_BEFORE_CLOSE_MS = 2_000;

export type WebServer = { address: AddressInfo; url: string; stop: () => Promise<void> };

/**
 * Requests Node refuses before any route sees them (headers over its limit, a URL of 100 KB,
 * malformed HTTP): answer 431 or 400, then half-close and read what the client is still sending.
 * Node's default writes the answer and destroys the socket at once; with request bytes still
 * unread, the kernel then resets the connection and the client never sees the answer.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // Node's parser reports the same error again for every chunk still arriving: answered once.
  if (answered.has(socket)) return;
  answered.add(socket);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const detail = tooLarge ? 'The request line or headers are larger than this server accepts' : 'The request is not valid HTTP';
  const body = JSON.stringify({ type: 'about:blank', title: status.slice(4), status: Number(status.slice(0, 3)), detail });
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  setTimeout(() => socket.destroy(), DRAIN_BEFORE_CLOSE_MS).unref();
}

/** Listens and resolves with the address (port 0 picks a free one: what the tests use). */
export function startWebServer(app: Express, port: number, host: string): Promise<WebServer> {
  return new Promise((resolve, reject) => {
    const server: Server = app.listen(port, host);
    server.on('clientError', answerClientError);
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new Error(`Port ${port} on ${host} is already in use: set CHAOS_PORT to a free port`, { cause: error }));
      else if (error.code === 'EACCES') reject(new Error(`Not allowed to listen on ${host}:${port}: use a port above 1023 or run with the right privileges`, { cause: error }));
      else reject(error);
    });
    server.once('listening', () => {
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({
        address,
        url: `http://${shownHost}:${address.port}`,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
