import { z } from 'zod';
import { IncidentRecord, StartIncidentRequest, TraceEntry } from '../incidents/schema.js';

/** Response bodies, as zod schemas so the document and the code cannot drift apart. */
export const StartIncidentResponse = z.object({
  incident_id: z.string(),
  status: z.literal('started'),
  links: z.record(z.string(), z.string()),
});
export const ProblemBody = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

function schema(s: z.ZodType, io: 'input' | 'output' = 'output') {
  return z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' });
}

const problem = { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^inc-\\d{8}-\\d{6}-[0-9a-z]{10}$' } };

/** OpenAPI 3.1, generated from the zod schemas the routes validate with. */
export function buildOpenApi(version: string) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Chaos-Handler coordinator API',
      version,
      description: 'Start chaos incidents on enrolled hosts (or replay recorded evidence offline), follow them live, and download the postmortem. Never point it at production.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        StartIncidentRequest: schema(StartIncidentRequest, 'input'),
        StartIncidentResponse: schema(StartIncidentResponse),
        IncidentRecord: schema(IncidentRecord),
        TraceEntry: schema(TraceEntry),
        Problem: schema(ProblemBody),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/start_incident': {
        post: {
          operationId: 'startIncident',
          summary: 'Start an incident (alias: POST /incidents)',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/StartIncidentRequest' } } } },
          responses: {
            '202': { description: 'Started', content: { 'application/json': { schema: { $ref: '#/components/schemas/StartIncidentResponse' } } } },
            '400': problem,
            '409': problem,
            '413': problem,
          },
        },
      },
      '/incidents': {
        get: { operationId: 'listIncidents', summary: 'List incidents, newest first', responses: { '200': { description: 'Incidents' } } },
        post: {
          operationId: 'createIncident',
          summary: 'Start an incident',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/StartIncidentRequest' } } } },
          responses: { '202': { description: 'Started', content: { 'application/json': { schema: { $ref: '#/components/schemas/StartIncidentResponse' } } } }, '400': problem, '409': problem },
        },
      },
      '/status/{id}': { get: { operationId: 'getStatus', summary: 'Phase, agents, trace so far, artifacts', parameters: [idParam], responses: { '200': { description: 'Status' }, '404': problem } } },
      '/incidents/{id}': { get: { operationId: 'getIncident', summary: 'Same as /status/{id}', parameters: [idParam], responses: { '200': { description: 'Status' }, '404': problem } } },
      '/incidents/{id}/stop': { post: { operationId: 'stopIncident', summary: 'Abort: revert the chaos now (idempotent)', parameters: [idParam], responses: { '200': { description: 'Stopped or already finished' }, '404': problem } } },
      '/incidents/{id}/events': { get: { operationId: 'incidentEvents', summary: 'Server-Sent Events: trace entries as they are written, then `end`', parameters: [idParam], responses: { '200': { description: 'text/event-stream' }, '404': problem } } },
      '/incidents/{id}/artifacts': { get: { operationId: 'listArtifacts', summary: 'Artifact names and sizes', parameters: [idParam], responses: { '200': { description: 'Artifacts' }, '404': problem } } },
      '/incidents/{id}/artifacts/{name}': {
        get: {
          operationId: 'getArtifact',
          summary: 'Download one artifact by name (e.g. fix.sh, trace.json, artifacts/chart-cpu.busy_pct.svg)',
          parameters: [idParam, { name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'The file' }, '404': problem },
        },
      },
      '/report/{id}': {
        get: {
          operationId: 'getReport',
          summary: 'report.md, or the PDF with ?format=pdf',
          parameters: [idParam, { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['md', 'pdf'] } }],
          responses: { '200': { description: 'The report' }, '404': problem },
        },
      },
      '/halt': { post: { operationId: 'haltAll', summary: 'Revert every active incident now (idempotent)', responses: { '200': { description: 'Halted ids' } } } },
      '/healthz': { get: { operationId: 'healthz', summary: 'Liveness', security: [], responses: { '200': { description: 'OK' } } } },
      '/openapi.json': { get: { operationId: 'openapi', summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}
