import { z } from 'zod';
import { IncidentRecord, TraceEntry } from '../domain/index.js';
import { StartIncidentRequest } from '../incidents/schema.js';
import { ExperimentSummary } from '../experiments/result-schema.js';
import { Experiment } from '../experiments/schema.js';

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
  /** Why a target could not be reached (502, or 403 for an untrusted host key). */
  reason: z.enum(['refused', 'timed_out', 'unreachable', 'host_key_mismatch', 'auth_failed', 'handshake_failed', 'connection_lost']).optional(),
});

function schema(s: z.ZodType, io: 'input' | 'output' = 'output') {
  return z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' });
}

const problem = { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^inc-\\d{8}-\\d{6}-[0-9a-z]{10}$' }, example: 'inc-20261122-223457-9ia1cgb4do' };
const json = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });
const started = { description: 'Started', content: { 'application/json': { schema: { $ref: '#/components/schemas/StartIncidentResponse' } } } };

export const StartExperimentResponse = z.object({
  experiment_id: z.string(),
  status: z.literal('running'),
  links: z.record(z.string(), z.string()),
});
const expIdParam = { name: 'experimentId', in: 'path', required: true, schema: { type: 'string', pattern: '^exp-\\d{8}-\\d{6}-[0-9a-z]{10}$' }, example: 'exp-20261201-001500-4k2m9q1x7c' };

// Separate constants: an array of differently shaped literals would be typed with undefined members.
const INJECT_STEP = { type: 'inject', scenario: 'cpu_spike', args: { duration: 30, load: 2 } };
const WAIT_STEP = { type: 'wait', seconds: 6 };

/** A short experiment on the sandbox: what Swagger UI pre-fills and the Postman collection sends. */
export const EXPERIMENT_EXAMPLES = {
  cpu_spike: {
    summary: 'CPU spike under 20 requests/s: does the API keep answering?',
    value: {
      title: 'CPU spike keeps the API answering',
      targets: ['sandbox'],
      steady_state: [{ name: 'api-health', type: 'http', url: 'http://10.213.7.2:8080/health', expect_status: 200, latency_ms: { p: 95, max: 1000 } }],
      load: { url: 'http://10.213.7.2:8080/health', rps: 20 },
      method: [INJECT_STEP, WAIT_STEP],
      safeguards: [{ probe: 'api-health', leave_for_s: 5 }],
      runs: 1,
    },
  },
};

/** Request examples, first one first: Swagger UI pre-fills it and the Postman collection sends it. */
export const START_EXAMPLES = {
  offline: {
    summary: 'Offline: replay the recorded cpu_spike evidence (no SSH)',
    value: { scenario: 'cpu_spike', options: { offline: true } },
  },
  offline_paced: {
    summary: 'Offline, paced: the disk_fill recording replayed at 10x real time, to watch it live',
    value: { scenario: 'disk_fill', options: { offline: true, replay_speed: 10 } },
  },
  live: {
    summary: 'Live: an enrolled host by address, port, user and key name',
    value: {
      scenario: 'cpu_spike',
      target_vm: { host: '10.213.7.2', port: 22, user: 'sre-demo', key_path: 'sandbox_ed25519' },
      options: { duration: 60, load: 2, baseline_s: 10, observe_s: 20 },
    },
  },
  investigate: {
    summary: 'Live, no chaos: diagnose whatever is wrong on the enrolled target "sandbox" now',
    value: { scenario: 'investigate', target_vm: { name: 'sandbox' } },
  },
};
const startBody = { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/StartIncidentRequest' }, examples: START_EXAMPLES } } };

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
        Experiment: schema(Experiment, 'input'),
        StartExperimentResponse: schema(StartExperimentResponse),
        ExperimentSummary: schema(ExperimentSummary),
      },
    },
    security: [{ bearer: [] }],
    tags: [
      { name: 'Incidents', description: 'Start incidents and follow them' },
      { name: 'Reports', description: 'The postmortem and every artifact an incident leaves' },
      { name: 'Control', description: 'Stop one incident or halt them all: chaos is reverted now' },
      { name: 'Experiments', description: 'Chaos experiments: steady state under load, faults through incidents, safeguards, repeated runs and their statistics' },
      { name: 'Service', description: 'Health, metrics and this description' },
    ],
    paths: {
      '/start_incident': {
        post: {
          operationId: 'startIncident',
          tags: ['Incidents'],
          summary: 'Start an incident (alias: POST /incidents)',
          requestBody: startBody,
          responses: {
            '202': started,
            '400': problem,
            '403': problem,
            '404': problem,
            '409': problem,
            '413': problem,
            '502': problem,
          },
        },
      },
      '/incidents': {
        get: { operationId: 'listIncidents', tags: ['Incidents'], summary: 'List incidents, newest first', responses: { '200': json('Incidents') } },
        post: {
          operationId: 'createIncident',
          tags: ['Incidents'],
          summary: 'Start an incident',
          requestBody: startBody,
          responses: { '202': started, '400': problem, '403': problem, '404': problem, '409': problem, '502': problem },
        },
      },
      '/status/{id}': { get: { operationId: 'getStatus', tags: ['Incidents'], summary: 'Phase, agents, trace so far, artifacts', parameters: [idParam], responses: { '200': json('Status'), '404': problem } } },
      '/incidents/{id}': { get: { operationId: 'getIncident', tags: ['Incidents'], summary: 'Same as /status/{id}', parameters: [idParam], responses: { '200': json('Status'), '404': problem } } },
      '/incidents/{id}/stop': { post: { operationId: 'stopIncident', tags: ['Control'], summary: 'Abort: revert the chaos now (idempotent)', parameters: [idParam], responses: { '200': json('Stopped or already finished'), '404': problem } } },
      '/incidents/{id}/events': {
        get: {
          operationId: 'incidentEvents',
          tags: ['Incidents'],
          summary: 'Server-Sent Events: trace entries as they are written, then `end`',
          parameters: [idParam],
          responses: { '200': { description: '`event: trace` per trace entry, then `event: end` with the final status', content: { 'text/event-stream': { schema: { type: 'string' } } } }, '404': problem },
        },
      },
      '/incidents/{id}/audit': { get: { operationId: 'getAudit', tags: ['Reports'], summary: 'The audit log of the incident: approvals, steps with output tails, verifications, who did each', parameters: [idParam], responses: { '200': json('Audit entries, oldest first'), '404': problem } } },
      '/incidents/{id}/artifacts': { get: { operationId: 'listArtifacts', tags: ['Reports'], summary: 'Artifact names and sizes', parameters: [idParam], responses: { '200': json('Artifacts'), '404': problem } } },
      '/incidents/{id}/artifacts/{name}': {
        get: {
          operationId: 'getArtifact',
          tags: ['Reports'],
          summary: 'Download one artifact by name (e.g. fix.sh, trace.json, artifacts/chart-cpu.busy_pct.svg)',
          parameters: [idParam, { name: 'name', in: 'path', required: true, schema: { type: 'string' }, example: 'fix.sh' }],
          responses: { '200': { description: 'The file' }, '404': problem },
        },
      },
      '/report/{id}': {
        get: {
          operationId: 'getReport',
          tags: ['Reports'],
          summary: 'report.md, or the PDF with ?format=pdf',
          parameters: [idParam, { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['md', 'pdf'] }, example: 'pdf' }],
          responses: {
            '200': { description: 'The report', content: { 'text/markdown': { schema: { type: 'string' } }, 'application/pdf': { schema: { type: 'string', format: 'binary' } } } },
            '404': problem,
          },
        },
      },
      '/experiments': {
        get: { operationId: 'listExperiments', tags: ['Experiments'], summary: 'List experiments, newest first, with their verdict', responses: { '200': json('Experiments') } },
        post: {
          operationId: 'startExperiment',
          tags: ['Experiments'],
          summary: 'Start an experiment (body: the experiment file as JSON; ?runs=N overrides its runs)',
          parameters: [{ name: 'runs', in: 'query', required: false, schema: { type: 'integer' }, example: 1 }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Experiment' }, examples: EXPERIMENT_EXAMPLES } } },
          responses: {
            '202': { description: 'Started', content: { 'application/json': { schema: { $ref: '#/components/schemas/StartExperimentResponse' } } } },
            '400': problem,
            '403': problem,
            '409': problem,
          },
        },
      },
      '/experiments/{experimentId}': {
        get: {
          operationId: 'getExperiment',
          tags: ['Experiments'],
          summary: 'The summary so far: progress, per-run figures, statistics over runs, linked incidents, output files',
          parameters: [expIdParam],
          responses: { '200': { description: 'Summary', content: { 'application/json': { schema: { $ref: '#/components/schemas/ExperimentSummary' } } } }, '404': problem },
        },
      },
      '/experiments/{experimentId}/events': {
        get: {
          operationId: 'experimentEvents',
          tags: ['Experiments'],
          summary: 'Server-Sent Events: progress of each step as it happens, then `end`',
          parameters: [expIdParam],
          responses: { '200': { description: '`event: progress` per step, then `event: end` with the status and whether the steady state held', content: { 'text/event-stream': { schema: { type: 'string' } } } }, '404': problem },
        },
      },
      '/experiments/{experimentId}/stop': {
        post: { operationId: 'stopExperiment', tags: ['Experiments'], summary: 'Stop: its incidents revert their faults now, the outputs are written (idempotent)', parameters: [expIdParam], responses: { '200': json('Stopped or already finished'), '404': problem } },
      },
      '/experiments/{experimentId}/files': {
        get: { operationId: 'listExperimentFiles', tags: ['Experiments'], summary: 'Output names and sizes', parameters: [expIdParam], responses: { '200': json('Files'), '404': problem } },
      },
      '/experiments/{experimentId}/files/{name}': {
        get: {
          operationId: 'getExperimentFile',
          tags: ['Experiments'],
          summary: 'Download one output: report.md, report.pdf, summary.json, junit.xml, load.csv, runs.csv, runs.json, experiment.yaml, charts/…',
          parameters: [expIdParam, { name: 'name', in: 'path', required: true, schema: { type: 'string' }, example: 'junit.xml' }],
          responses: { '200': { description: 'The file' }, '404': problem },
        },
      },
      '/halt': { post: { operationId: 'haltAll', tags: ['Control'], summary: 'Revert every active incident now (idempotent)', responses: { '200': json('Halted ids') } } },
      '/healthz': { get: { operationId: 'healthz', tags: ['Service'], summary: 'Liveness', security: [], responses: { '200': json('OK') } } },
      '/metrics': {
        get: {
          operationId: 'metrics',
          tags: ['Service'],
          summary: 'Prometheus metrics: incidents by phase and outcome, agent durations, SSH commands, report render time, process',
          responses: { '200': { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/openapi.json': { get: { operationId: 'openapi', tags: ['Service'], summary: 'This document', responses: { '200': json('OpenAPI 3.1') } } },
      '/schemas/experiment.json': {
        get: {
          operationId: 'experimentSchema',
          tags: ['Service'],
          summary: 'JSON Schema of experiment files (generated from the zod schema they are validated with; public)',
          security: [],
          responses: { '200': { description: 'JSON Schema (draft 2020-12)', content: { 'application/schema+json': { schema: { type: 'object' } } } } },
        },
      },
    },
  };
}
