import { Router } from 'express';
import type { GameDayService } from '../gamedays/gameday-service.js';
import { gameDayFromValue } from '../gamedays/load-gameday.js';

/**
 * Game days: `POST /gamedays` (body: the game day as JSON, experiments inline), `GET /gamedays`,
 * `GET /gamedays/:id` (schedule, progress, scoreboard), `POST /gamedays/:id/stop`.
 */
export function createGameDayRoutes(gamedays: GameDayService): Router {
  const router = Router();

  router.post('/gamedays', async (req, res) => {
    const { record } = await gamedays.start(gameDayFromValue(req.body));
    res.status(202).location(`/gamedays/${record.id}`).json(record);
  });

  router.get('/gamedays', async (_req, res) => {
    res.json({ gamedays: await gamedays.list() });
  });

  router.get('/gamedays/:id', async (req, res) => {
    res.json(await gamedays.get(String(req.params.id)));
  });

  router.post('/gamedays/:id/stop', async (req, res) => {
    res.json(await gamedays.stop(String(req.params.id)));
  });

  return router;
}
