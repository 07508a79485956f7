import { Router, type Request, type Response } from 'express';
import { InputError, NotFoundError } from '../errors.js';
import { isIncidentId } from '../domain/index.js';
import { jsonVisible } from '../evidence/sanitize.js';
import type { IncidentService } from '../incidents/incident-service.js';
import { type IncidentRecord } from '../domain/index.js';
import { StartIncidentRequest } from '../incidents/schema.js';
import { ApproveRequest, RejectRequest } from '../remediation/schema.js';
import type { IncidentStore } from '../store/incident-store.js';
import { AuditStore } from '../store/audit-store.js';
import { validationProblem } from './errors.js';
import { buildOpenApi } from './openapi.js';

export type RouteDeps = { incidents: IncidentService; store: IncidentStore; version: string; audit?: AuditStore };

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.sh': 'text/plain; charset=utf-8',
  '.pdf': 'application/pdf',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** HTTP only: parse, call the service, shape the answer. No business logic lives here. */
export function createRoutes(deps: RouteDeps): Router {
  const { incidents, store } = deps;
  const audit = deps.audit ?? new AuditStore(store);
  const router = Router();

  const start = async (req: Request, res: Response) => {
    const parsed = StartIncidentRequest.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).type('application/problem+json').send(JSON.stringify(validationProblem(parsed.error)));
      return;
    }
    const { record } = await incidents.start(parsed.data);
    res
      .status(202)
      .location(`/status/${record.id}`)
      .json({ incident_id: record.id, status: 'started', links: links(record.id) });
  };
  router.post('/start_incident', start);
  router.post('/incidents', start);

  router.get('/incidents', async (_req, res) => {
    const { records, damaged } = await incidents.overview();
    const listed = [...records.map(summary), ...damaged.map((d) => damagedSummary(d.id, d.problem))];
    res.json({ incidents: listed.sort((a, b) => b.incident_id.localeCompare(a.incident_id)) });
  });

  const status = async (req: Request, res: Response) => {
    const id = incidentId(req);
    const view = await incidents.view(id);
    const artifacts = await store.listArtifacts(id);
    const problems = view.traceProblems.length ? { trace_problems: view.traceProblems } : {};
    if (view.state === 'damaged') {
      res.json({ ...damagedSummary(id, view.problem), trace: view.trace, ...problems, artifacts, links: links(id) });
      return;
    }
    const { record } = view;
    res.json({ ...summary(record), agents: record.agents, chaos: record.chaos, phase_ms: record.phase_ms, timings: record.timings ?? null, options: record.options, trace: view.trace, ...problems, artifacts, links: links(id) });
  };
  router.get('/status/:id', status);
  router.get('/incidents/:id', status);

  router.post('/incidents/:id/stop', async (req, res) => {
    const id = incidentId(req);
    await incidents.requireExists(id);
    const wasActive = incidents.isActive(id);
    const record = await incidents.stop(id);
    res.json({ incident_id: id, stopped: wasActive, status: record.status, chaos: record.chaos });
  });

  router.get('/incidents/:id/remediation', async (req, res) => {
    const id = incidentId(req);
    res.json({ incident_id: id, ...(await incidents.remediation(id)) });
  });

  router.post('/incidents/:id/remediation/approve', async (req, res) => {
    const id = incidentId(req);
    const parsed = ApproveRequest.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).type('application/problem+json').send(JSON.stringify(validationProblem(parsed.error)));
      return;
    }
    const remediation = await incidents.decideRemediation(id, { kind: 'approve', approver: parsed.data.approver, steps: parsed.data.steps });
    res.json({ incident_id: id, remediation });
  });

  router.post('/incidents/:id/remediation/reject', async (req, res) => {
    const id = incidentId(req);
    const parsed = RejectRequest.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).type('application/problem+json').send(JSON.stringify(validationProblem(parsed.error)));
      return;
    }
    const remediation = await incidents.decideRemediation(id, { kind: 'reject', by: parsed.data.approver, reason: parsed.data.reason });
    res.json({ incident_id: id, remediation });
  });

  router.get('/incidents/:id/audit', async (req, res) => {
    const id = incidentId(req);
    const { entries, bad } = await audit.inspect(id);
    res.json({ incident_id: id, entries, ...(bad.length ? { unreadable_lines: bad } : {}) });
  });

  router.post('/halt', async (_req, res) => {
    const halted = await incidents.halt();
    res.json({ halted });
  });

  router.get('/report/:id', async (req, res) => {
    const id = incidentId(req);
    const format = req.query.format ?? 'md';
    if (format !== 'md' && format !== 'pdf') throw new InputError('format must be md or pdf', 'format');
    const name = format === 'pdf' ? 'report.pdf' : 'report.md';
    const data = await store.readArtifact(id, name).catch((error: unknown) => {
      throw new NotFoundError(`${name} of ${id} is not available${incidents.isActive(id) ? ' yet: the incident is still running' : ''}`, { cause: error });
    });
    res.type(format === 'pdf' ? 'application/pdf' : 'text/markdown; charset=utf-8');
    res.setHeader('Content-Disposition', `inline; filename="${id}-${name}"`);
    res.send(data);
  });

  router.get('/incidents/:id/artifacts', async (req, res) => {
    const id = incidentId(req);
    await incidents.requireExists(id);
    res.json({ incident_id: id, artifacts: await store.listArtifacts(id) });
  });

  router.get('/incidents/:id/artifacts/*name', async (req, res) => {
    const id = incidentId(req);
    const parts = (req.params as { name?: string[] | string }).name;
    const name = Array.isArray(parts) ? parts.join('/') : String(parts ?? '');
    const data = await store.readArtifact(id, name);
    const ext = /\.[a-z]+$/.exec(name)?.[0] ?? '';
    res.type(CONTENT_TYPES[ext] ?? 'application/octet-stream');
    // Artifacts hold host text: never let a browser sniff or run them.
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    res.setHeader('Content-Disposition', `${ext === '.pdf' || ext === '.svg' || ext === '.png' ? 'inline' : 'attachment'}; filename="${name.split('/').pop()}"`);
    res.send(data);
  });

  router.get('/incidents/:id/events', async (req, res) => {
    const id = incidentId(req);
    await incidents.requireExists(id);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${jsonVisible(JSON.stringify(data))}\n\n`);
    // Subscribe before reading the trace so nothing falls between the two; drop duplicates.
    const sent = new Set<string>();
    const key = (e: { timestamp: string; agent: string; type: string }) => `${e.timestamp}|${e.agent}|${e.type}`;
    let replaying = true;
    const buffered: unknown[] = [];
    const finish = async () => {
      const record = await store.loadRecord(id).catch(() => null);
      send('end', { status: record?.status ?? 'unknown' });
      res.end();
    };
    const unsubscribe = incidents.subscribe(
      id,
      (entry) => {
        if (replaying) buffered.push(entry);
        else if (!sent.has(key(entry))) send('trace', entry);
      },
      () => void finish(),
    );
    req.on('close', unsubscribe);
    for (const entry of await store.readTrace(id)) {
      sent.add(key(entry));
      send('trace', entry);
    }
    replaying = false;
    for (const entry of buffered as { timestamp: string; agent: string; type: string }[]) if (!sent.has(key(entry))) send('trace', entry);
    if (!incidents.isActive(id)) {
      unsubscribe();
      await finish();
    }
  });

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', version: deps.version });
  });

  router.get('/openapi.json', (_req, res) => {
    res.json(buildOpenApi(deps.version));
  });

  return router;
}

function incidentId(req: Request): string {
  const id: string = String(req.params.id ?? '');
  // Anything that is not an id is simply not an incident: no file system access at all.
  if (!isIncidentId(id)) throw new NotFoundError(`No incident ${JSON.stringify(String(req.params.id).slice(0, 80))}`);
  return id;
}

function summary(r: IncidentRecord) {
  return {
    incident_id: r.id,
    scenario: r.scenario,
    status: r.status,
    phase: r.phase,
    target: r.target,
    created_at: r.created_at,
    updated_at: r.updated_at,
    finished_at: r.finished_at,
    outcome: r.outcome,
    error: r.error,
    // The experiment run that opened it (links: /experiments/:id), or null.
    experiment: r.experiment ?? null,
    // What opened it: a person, an alert (its name and whether it has resolved), or watch mode.
    trigger: r.trigger ?? 'manual',
    alert: r.alert ? { name: r.alert.name, fired_at: r.alert.fired_at, resolved_at: r.alert.resolved_at, runbook_url: r.alert.runbook_url } : null,
  };
}

/** An incident whose incident.json cannot be read: listed, with why, instead of failing the request. */
function damagedSummary(id: string, problem: string) {
  return { incident_id: id, status: 'damaged' as const, error: problem };
}

function links(id: string) {
  return {
    status: `/status/${id}`,
    events: `/incidents/${id}/events`,
    report_md: `/report/${id}`,
    report_pdf: `/report/${id}?format=pdf`,
    artifacts: `/incidents/${id}/artifacts`,
    stop: `/incidents/${id}/stop`,
    audit: `/incidents/${id}/audit`,
  };
}
