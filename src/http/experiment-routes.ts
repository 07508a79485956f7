import { Router, type Request } from 'express';
import { InputError, NotFoundError } from '../errors.js';
import { jsonVisible } from '../evidence/sanitize.js';
import { isExperimentId } from '../experiments/experiment-id.js';
import type { ExperimentService } from '../experiments/experiment-service.js';
import { validateExperimentValue } from '../experiments/parse.js';
import type { ExperimentSummary } from '../experiments/result-schema.js';


const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml',
  '.yaml': 'text/plain; charset=utf-8',
  '.pdf': 'application/pdf',
  '.svg': 'image/svg+xml',
};

/**
 * Experiments over HTTP: `POST /experiments` (body: the experiment as JSON; 202 and its id),
 * `GET /experiments`, `GET /experiments/:id` (the summary), `GET /experiments/:id/events` (SSE of
 * the progress), `POST /experiments/:id/stop`, and the outputs by name.
 */
export function createExperimentRoutes(experiments: ExperimentService): Router {
  const store = experiments.store;
  const router = Router();

  router.post('/experiments', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const validation = validateExperimentValue(body);
    if (!validation.ok) {
      const errors = validation.errors.map((e) => ({ field: e.path || '(body)', message: e.message }));
      res.status(400).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title: 'Bad Request', status: 400, detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors }));
      return;
    }
    const runs = req.query.runs;
    let runsOverride: number | undefined;
    if (runs !== undefined) {
      runsOverride = Number(runs);
      if (!Number.isInteger(runsOverride) || runsOverride < 1 || runsOverride > 100) throw new InputError('runs must be a whole number from 1 to 100', 'runs');
    }
    const { summary } = await experiments.start(validation.experiment, runsOverride !== undefined ? { runs: runsOverride } : {});
    res.status(202).location(`/experiments/${summary.experiment_id}`).json({ experiment_id: summary.experiment_id, status: summary.status, links: links(summary.experiment_id) });
  });

  router.get('/experiments', async (_req, res) => {
    const all = await experiments.list();
    res.json({ experiments: all.map(listed) });
  });

  router.get('/experiments/:id', async (req, res) => {
    const id = experimentId(req);
    const summary = await experiments.get(id);
    res.json({ ...summary, active: experiments.isActive(id), outputs: await store.listOutputs(id), links: links(id) });
  });

  router.post('/experiments/:id/stop', async (req, res) => {
    const id = experimentId(req);
    await experiments.get(id);
    const wasActive = experiments.isActive(id);
    const summary = await experiments.stop(id);
    res.json({ experiment_id: id, stopped: wasActive, status: summary.status });
  });

  router.get('/experiments/:id/events', async (req, res) => {
    const id = experimentId(req);
    await experiments.get(id);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${jsonVisible(JSON.stringify(data))}\n\n`);
    const finish = async () => {
      const summary = await experiments.get(id).catch(() => null);
      send('end', { status: summary?.status ?? 'unknown', all_held: summary?.aggregate?.all_held ?? null });
      res.end();
    };
    // Subscribe before reading the log so nothing falls between the two; drop duplicates.
    const key = (e: { timestamp: string; step: string; message: string }) => `${e.timestamp}|${e.step}|${e.message}`;
    const sent = new Set<string>();
    const buffered: Parameters<Parameters<ExperimentService['subscribe']>[1]>[0][] = [];
    let replaying = true;
    const unsubscribe = experiments.subscribe(
      id,
      (event) => {
        if (replaying) buffered.push(event);
        else if (!sent.has(key(event))) send('progress', event);
      },
      () => void finish(),
    );
    req.on('close', unsubscribe);
    for (const event of await store.readEvents(id)) {
      sent.add(key(event));
      send('progress', event);
    }
    replaying = false;
    for (const event of buffered) if (!sent.has(key(event))) send('progress', event);
    if (!experiments.isActive(id)) {
      unsubscribe();
      await finish();
    }
  });

  router.get('/experiments/:id/files', async (req, res) => {
    const id = experimentId(req);
    await experiments.get(id);
    res.json({ experiment_id: id, files: await store.listOutputs(id) });
  });

  router.get('/experiments/:id/files/*name', async (req, res) => {
    const id = experimentId(req);
    const parts = (req.params as { name?: string[] | string }).name;
    const name = Array.isArray(parts) ? parts.join('/') : String(parts ?? '');
    const data = await store.readOutput(id, name);
    const ext = /\.[a-z]+$/.exec(name)?.[0] ?? '';
    res.type(CONTENT_TYPES[ext] ?? 'application/octet-stream');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    res.setHeader('Content-Disposition', `${ext === '.pdf' || ext === '.svg' ? 'inline' : 'attachment'}; filename="${id}-${name.split('/').pop()}"`);
    res.send(data);
  });

  return router;
}

function experimentId(req: Request): string {
  const id = String(req.params.id ?? '');
  if (isExperimentId(id)) return id;
  throw new NotFoundError(`No experiment ${JSON.stringify(String(req.params.id).slice(0, 80))}`);
}

function listed(s: ExperimentSummary) {
  return {
    experiment_id: s.experiment_id,
    title: s.title,
    status: s.status,
    target: s.target,
    scenario: s.scenario,
    progress: s.progress,
    created_at: s.created_at,
    finished_at: s.finished_at,
    runs: s.runs.length,
    all_held: s.aggregate?.all_held ?? null,
    resilience_score: s.aggregate?.resilience_score ?? null,
    links: links(s.experiment_id),
  };
}

function links(id: string) {
  return {
    summary: `/experiments/${id}`,
    events: `/experiments/${id}/events`,
    stop: `/experiments/${id}/stop`,
    files: `/experiments/${id}/files`,
    report_md: `/experiments/${id}/files/report.md`,
    report_pdf: `/experiments/${id}/files/report.pdf`,
    junit: `/experiments/${id}/files/junit.xml`,
    load_csv: `/experiments/${id}/files/load.csv`,
    summary_json: `/experiments/${id}/files/summary.json`,
    runs_csv: `/experiments/${id}/files/runs.csv`,
  };
}
