import { z } from 'zod';
import { IncidentRecord, TraceEntry } from '../domain/index.js';
import { StartIncidentRequest } from '../incidents/schema.js';
import { ApproveRequest, RejectRequest } from '../remediation/schema.js';
import { Remediation } from '../domain/index.js';
import { ExperimentSummary } from '../experiments/result-schema.js';
import { Experiment } from '../experiments/schema.js';
import { GameDay, GameDayRecord } from '../gamedays/schema.js';
import { AlertmanagerWebhook, AlertOutcome } from '../alerts/schema.js';
import { WatchOptions, WatchView } from '../watch/schema.js';
import type { Json } from './postman.js';

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
/** What Alertmanager posts (webhook payload version 4); the host here is not enrolled, so a replay opens nothing. */
export const ALERT_EXAMPLES = {
  alertmanager: {
    summary: 'Alertmanager: HostCpuBusy firing on web-1 (opens an investigate incident when web-1 is enrolled)',
    value: {
      version: '4',
      groupKey: '{}:{alertname="HostCpuBusy"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'chaos-handler',
      groupLabels: { alertname: 'HostCpuBusy' },
      commonLabels: { alertname: 'HostCpuBusy', instance: 'web-1.example.com:9100', severity: 'page' },
      commonAnnotations: { runbook_url: 'https://runbooks.example.com/host-cpu-busy' },
      externalURL: 'http://127.0.0.1:9093',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'HostCpuBusy', instance: 'web-1.example.com:9100', severity: 'page' },
          annotations: { runbook_url: 'https://runbooks.example.com/host-cpu-busy' },
          startsAt: '2026-12-01T00:10:00Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://127.0.0.1:9090/graph',
          fingerprint: 'a1b2c3d4e5f60718',
        },
      ],
    },
  },
};
/** A game day as the API takes it: each experiment inline (the API reads no files). */
const GAMEDAY_EXAMPLES: Record<string, { summary: string; value: Json }> = {
  rehearsal: {
    summary: 'An hour of game time in two minutes: one fault, then two on one host',
    value: {
      title: 'Sandbox rehearsal',
      window: { duration: '1h', compress_to: '2m' },
      max_targets_at_once: 1,
      curriculum: [
        {
          name: 'one fault',
          kind: 'single',
          experiments: [
            { at: '0m', experiment: { title: 'CPU pinned', targets: ['sandbox'], steady_state: [{ name: 'health', type: 'http', url: 'http://10.213.7.2:8080/health', expect_status: 200 }], method: [{ type: 'inject', scenario: 'cpu_spike', args: { duration: 20, load: 2 } }, { type: 'wait', seconds: 6 }] } },
          ],
        },
        {
          name: 'two faults on one host',
          kind: 'compound',
          experiments: [
            {
              at: '30m',
              experiment: {
                title: 'Disk filling while the CPUs are pinned',
                targets: ['sandbox'],
                steady_state: [{ name: 'health', type: 'http', url: 'http://10.213.7.2:8080/health', expect_status: 200 }],
                method: [
                  { type: 'inject', scenario: 'disk_fill', args: { size_mb: 200, path: '/tmp/chaos_fill' } },
                  { type: 'inject', scenario: 'cpu_spike', args: { duration: 30, load: 2 } },
                  { type: 'wait', seconds: 8 },
                ],
              },
            },
          ],
        },
      ],
    },
  },
};
const gameDayParam = { name: 'gameDayId', in: 'path', required: true, schema: { type: 'string', pattern: '^gd-\\d{8}-\\d{6}-[0-9a-z]{10}$' }, example: 'gd-20261201-101500-abcdefghij' };
const targetParam = { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }, example: 'sandbox' };
const watchView = { description: 'The watch', content: { 'application/json': { schema: { $ref: '#/components/schemas/WatchView' } } } };

/** POST /alerts answers one outcome per alert. */
export const AlertsResponse = z.object({ received: z.number().int(), opened: z.array(z.string().nullable()), outcomes: z.array(AlertOutcome) });

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
        Remediation: schema(Remediation),
        ApproveRequest: schema(ApproveRequest, 'input'),
        RejectRequest: schema(RejectRequest, 'input'),
        TraceEntry: schema(TraceEntry),
        Problem: schema(ProblemBody),
        Experiment: schema(Experiment, 'input'),
        StartExperimentResponse: schema(StartExperimentResponse),
        ExperimentSummary: schema(ExperimentSummary),
        AlertmanagerWebhook: schema(AlertmanagerWebhook, 'input'),
        AlertsResponse: schema(AlertsResponse),
        WatchOptions: schema(WatchOptions, 'input'),
        WatchView: schema(WatchView),
        GameDay: schema(GameDay, 'input'),
        GameDayRecord: schema(GameDayRecord),
      },
    },
    security: [{ bearer: [] }],
    tags: [
      { name: 'Incidents', description: 'Start incidents and follow them' },
      { name: 'Reports', description: 'The postmortem and every artifact an incident leaves' },
      { name: 'Control', description: 'Stop one incident or halt them all: chaos is reverted now' },
      { name: 'Remediation', description: 'Closed loop: the proposed fix, approved or rejected by a person, applied, verified, rolled back on failure' },
      { name: 'Experiments', description: 'Chaos experiments: steady state under load, faults through incidents, safeguards, repeated runs and their statistics' },
      { name: 'Game days', description: 'Experiments scheduled over a window with a curriculum and guard rails, and their scoreboard' },
      { name: 'Alerts and watch', description: 'Investigations nobody started: alerts from Alertmanager or other sources, and targets watched continuously' },
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
      '/incidents/{id}/remediation': {
        get: { operationId: 'getRemediation', tags: ['Remediation'], summary: 'The remediation plan: steps with risk, rollback and state, approval, verification; and whether a decision is awaited', parameters: [idParam], responses: { '200': json('{ remediation: Remediation | null, awaiting_decision }'), '404': problem } },
      },
      '/incidents/{id}/remediation/approve': {
        post: {
          operationId: 'approveRemediation',
          tags: ['Remediation'],
          summary: 'Approve the proposed fix: the steps listed, or every step but the high-risk ones (those need their own approval); the approver is recorded',
          parameters: [idParam],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: { $ref: '#/components/schemas/ApproveRequest' },
                examples: { all_but_high_risk: { summary: 'Every step but the high-risk ones', value: { approver: 'alice' } }, listed: { summary: 'Listed steps (high-risk ones included)', value: { approver: 'alice', steps: ['s1'] } } },
              },
            },
          },
          responses: { '200': json('The approved plan; the incident applies it now'), '400': problem, '404': problem, '409': problem },
        },
      },
      '/incidents/{id}/remediation/reject': {
        post: {
          operationId: 'rejectRemediation',
          tags: ['Remediation'],
          summary: 'Reject the proposed fix: nothing runs on the host; the chaos is reverted as usual',
          parameters: [idParam],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/RejectRequest' }, examples: { reject: { summary: 'Reject with a reason', value: { approver: 'alice', reason: 'not during business hours' } } } } } },
          responses: { '200': json('The rejected plan'), '400': problem, '404': problem, '409': problem },
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
      '/gamedays': {
        get: { operationId: 'listGameDays', tags: ['Game days'], summary: 'List game days, newest first, with their scoreboards', responses: { '200': json('Game days') } },
        post: {
          operationId: 'startGameDay',
          tags: ['Game days'],
          summary: 'Start a game day (body: the game-day file as JSON, each experiment inline; its curriculum is checked first)',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/GameDay' }, examples: GAMEDAY_EXAMPLES } } },
          responses: { '202': { description: 'Started', content: { 'application/json': { schema: { $ref: '#/components/schemas/GameDayRecord' } } } }, '400': problem, '409': problem },
        },
      },
      '/gamedays/{gameDayId}': {
        get: {
          operationId: 'getGameDay',
          tags: ['Game days'],
          summary: 'The schedule, each entry\'s progress and experiment, and the scoreboard so far',
          parameters: [gameDayParam],
          responses: { '200': { description: 'Game day', content: { 'application/json': { schema: { $ref: '#/components/schemas/GameDayRecord' } } } }, '404': problem },
        },
      },
      '/gamedays/{gameDayId}/stop': {
        post: { operationId: 'stopGameDay', tags: ['Game days'], summary: 'Stop: nothing more starts, running experiments revert their faults (idempotent)', parameters: [gameDayParam], responses: { '200': json('Stopped or already finished'), '404': problem } },
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
      '/alerts': {
        post: {
          operationId: 'receiveAlerts',
          tags: ['Alerts and watch'],
          summary: "Alertmanager's webhook (payload version 4): a firing alert about an enrolled host opens one investigate incident (deduplicated by fingerprint); a resolved one is recorded on it",
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/AlertmanagerWebhook' }, examples: ALERT_EXAMPLES } } },
          responses: { '202': { description: 'One outcome per alert, in order', content: { 'application/json': { schema: { $ref: '#/components/schemas/AlertsResponse' } } } }, '400': problem },
        },
      },
      '/alerts/generic': {
        post: {
          operationId: 'receiveGenericAlerts',
          tags: ['Alerts and watch'],
          summary: 'Any JSON webhook, read through CHAOS_ALERT_GENERIC_MAPPING (JSON pointers to name, instance, status, fingerprint…); 404 when no mapping is configured',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: { type: 'object' },
                examples: { generic: { summary: 'Read with CHAOS_ALERT_GENERIC_MAPPING={"alerts":"/incidents","name":"/title","instance":"/tags/host","status":"/state","fingerprint":"/id"}', value: { incidents: [{ id: 'p-1', title: 'Disk almost full', tags: { host: 'web-1.example.com' }, state: 'triggered' }] } } },
              },
            },
          },
          responses: { '202': { description: 'One outcome per alert, in order', content: { 'application/json': { schema: { $ref: '#/components/schemas/AlertsResponse' } } } }, '400': problem, '404': problem },
        },
      },
      '/targets/{name}/watch': {
        post: {
          operationId: 'startWatch',
          tags: ['Alerts and watch'],
          summary: 'Watch an enrolled target: light sampling over SSH; out of its known-good band for `consecutive` samples, an investigate incident opens by itself. Kept across a restart of the coordinator until DELETE or halt-all',
          parameters: [targetParam],
          requestBody: {
            required: false,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/WatchOptions' }, examples: { every_second: { summary: 'A sample a second, 3 in a row out of band, then 10 min of cooldown', value: { interval_s: 1, consecutive: 3, cooldown_s: 600 } } } } },
          },
          responses: { '201': watchView, '400': problem, '404': problem, '409': problem, '502': problem },
        },
        get: { operationId: 'getWatch', tags: ['Alerts and watch'], summary: 'The watch: samples, out-of-band streak, detections and their incidents', parameters: [targetParam], responses: { '200': watchView, '404': problem } },
        delete: { operationId: 'stopWatch', tags: ['Alerts and watch'], summary: 'Stop watching (a running investigation goes on); the watch no longer resumes after a restart', parameters: [targetParam], responses: { '200': watchView, '404': problem } },
      },
      '/watches': { get: { operationId: 'listWatches', tags: ['Alerts and watch'], summary: 'Every watch, running or stopped', responses: { '200': json('Watches') } } },
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
