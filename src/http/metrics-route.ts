import { Router } from 'express';

/** What GET /metrics needs: the exposition text of one registry. */
export type MetricsSource = { contentType: string; render: () => Promise<string> };

/** `GET /metrics` in the Prometheus text format; behind the bearer token like the rest of the API. */
export function createMetricsRoute(metrics: MetricsSource): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    const body = await metrics.render();
    res.setHeader('Cache-Control', 'no-store');
    res.type(metrics.contentType).send(body);
  });
  return router;
}
