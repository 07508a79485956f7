import { Router } from 'express';
import { fromAlertmanager, fromGeneric } from '../alerts/normalize.js';
import type { AlertService } from '../alerts/alert-service.js';
import { AlertmanagerWebhook, type AlertOutcome, type GenericAlertMapping } from '../alerts/schema.js';
import { NotFoundError } from '../errors.js';
import { validationProblem } from './errors.js';

export type AlertRouteDeps = {
  alerts: AlertService;
  instanceLabel: string;
  /** How to read other sources' webhooks; without one, POST /alerts/generic answers 404. */
  genericMapping: GenericAlertMapping | null;
};

/**
 * `POST /alerts` (Alertmanager, webhook payload version 4) and `POST /alerts/generic`. Always 202
 * for a valid notification: what became of each alert (opened, duplicate, unmapped and why) is
 * in the body, since the sender cannot act on a per-alert failure anyway.
 */
export function createAlertRoutes(deps: AlertRouteDeps): Router {
  const router = Router();

  router.post('/alerts', async (req, res) => {
    const parsed = AlertmanagerWebhook.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).type('application/problem+json').send(JSON.stringify(validationProblem(parsed.error)));
      return;
    }
    res.status(202).json(answer(await deps.alerts.receive(fromAlertmanager(parsed.data, deps.instanceLabel))));
  });

  router.post('/alerts/generic', async (req, res) => {
    if (!deps.genericMapping) throw new NotFoundError('No generic alert mapping is configured: set CHAOS_ALERT_GENERIC_MAPPING (see examples/alerting/README.md)');
    res.status(202).json(answer(await deps.alerts.receive(fromGeneric(req.body, deps.genericMapping))));
  });

  return router;
}

function answer(outcomes: AlertOutcome[]) {
  return { received: outcomes.length, opened: outcomes.filter((o) => o.outcome === 'opened').map((o) => o.incident_id), outcomes };
}
