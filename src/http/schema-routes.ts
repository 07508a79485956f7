import { Router } from 'express';
import { experimentJsonSchema } from '../experiments/schema.js';

/**
 * `GET /schemas/experiment.json`: the JSON Schema of experiment files, generated from the zod
 * schema the files are validated with. Public like /docs: editors and CI linters fetch it without
 * a token, and it holds nothing but the file format.
 */
export function createSchemaRoutes(): Router {
  const router = Router();
  const body = JSON.stringify(experimentJsonSchema(), null, 2);
  router.get('/schemas/experiment.json', (_req, res) => {
    res.type('application/schema+json').setHeader('Cache-Control', 'no-cache').send(body);
  });
  return router;
}
