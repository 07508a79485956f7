import { Router } from 'express';
import type { WatchService } from '../watch/watch-service.js';

/** Watch mode: `POST /targets/:name/watch` (body: WatchOptions), `DELETE` it, `GET /watches`. */
export function createWatchRoutes(watches: WatchService): Router {
  const router = Router();

  router.post('/targets/:name/watch', async (req, res) => {
    const name = String(req.params.name ?? '');
    const view = await watches.start(name, req.body ?? {});
    res.status(201).location(`/targets/${encodeURIComponent(name)}/watch`).json(view);
  });

  router.get('/targets/:name/watch', (req, res) => {
    res.json(watches.get(String(req.params.name ?? '')));
  });

  router.delete('/targets/:name/watch', async (req, res) => {
    res.json(await watches.stop(String(req.params.name ?? '')));
  });

  router.get('/watches', (_req, res) => {
    res.json({ watches: watches.list() });
  });

  return router;
}
