/**
 * A Postman collection (v2.1) generated from our OpenAPI document: one request per operation,
 * folders by tag, `{{baseUrl}}`, `{{token}}` and `{{incidentId}}` variables, the first request
 * example as the body, and a test script that checks the documented status and captures
 * `incident_id` from a start response.
 *
 * The committed collection is examples/postman/chaos-handler.postman_collection.json; regenerate
 * it with `npm run build && node dist/src/http/postman-cli.js` (a test fails when it drifts).
 */
import { createHash } from 'node:crypto';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

type Parameter = { name: string; in: string; required?: boolean; example?: Json; schema?: { type?: string; enum?: Json[] } };
type Operation = {
  operationId: string;
  summary?: string;
  tags?: string[];
  parameters?: Parameter[];
  security?: unknown[];
  requestBody?: { content?: Record<string, { schema?: unknown; examples?: Record<string, { summary?: string; value: Json }> }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema?: { $ref?: string; type?: string } }> }>;
};
export type OpenApiDocument = {
  info: { title: string; description?: string };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
};

export type PostmanRequest = {
  method: string;
  header: { key: string; value: string }[];
  body?: { mode: 'raw'; raw: string; options: { raw: { language: 'json' } } };
  url: { raw: string; host: string[]; path: string[]; query?: { key: string; value: string; disabled?: boolean; description?: string }[] };
  description?: string;
  auth?: { type: 'noauth' };
};
export type PostmanItem = {
  name: string;
  request: PostmanRequest;
  response: { name: string; originalRequest: PostmanRequest; code: number; status: string; header: { key: string; value: string }[]; body: string }[];
  event: { listen: 'test'; script: { type: 'text/javascript'; exec: string[] } }[];
};
export type PostmanFolder = { name: string; description?: string; item: PostmanItem[] };
export type PostmanCollection = {
  info: { _postman_id: string; name: string; description: string; schema: string };
  auth: { type: 'bearer'; bearer: { key: string; value: string; type: string }[] };
  variable: { key: string; value: string; type: 'string'; description: string }[];
  item: PostmanFolder[];
};

/** Path parameters that name the incident become the `incidentId` variable. */
const VARIABLE_FOR_PARAM: Record<string, string> = { id: 'incidentId', experimentId: 'experimentId' };
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content' };

export const COLLECTION_PATH = 'examples/postman/chaos-handler.postman_collection.json';

export function buildPostmanCollection(doc: OpenApiDocument): PostmanCollection {
  const tagOrder = (doc.tags ?? []).map((t) => t.name);
  const folders = new Map<string, PostmanFolder>();
  for (const tag of doc.tags ?? []) folders.set(tag.name, { name: tag.name, ...(tag.description ? { description: tag.description } : {}), item: [] });

  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = operations[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? 'Other';
      if (!folders.has(tag)) folders.set(tag, { name: tag, item: [] });
      folders.get(tag)!.item.push(buildItem(path, method, op));
    }
  }
  const ordered = [...folders.values()].sort((a, b) => rank(tagOrder, a.name) - rank(tagOrder, b.name));

  return {
    info: {
      _postman_id: stableUuid(doc.info.title),
      name: doc.info.title,
      description: [
        doc.info.description ?? '',
        '',
        'Generated from GET /openapi.json by src/http/postman.ts; do not edit by hand. Regenerate with:',
        '  npm run build && node dist/src/http/postman-cli.js',
        '',
        'Variables: baseUrl (the coordinator, e.g. http://127.0.0.1:8080), token (CHAOS_API_TOKEN, empty when the API has none),',
        'incidentId (set by the start requests\' test scripts). Run the folders in order: Incidents, Reports, Control, Service.',
      ].join('\n'),
      schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    },
    auth: { type: 'bearer', bearer: [{ key: 'token', value: '{{token}}', type: 'string' }] },
    variable: [
      { key: 'baseUrl', value: 'http://127.0.0.1:8080', type: 'string', description: 'The coordinator\'s base URL' },
      { key: 'token', value: '', type: 'string', description: 'Bearer token (CHAOS_API_TOKEN); leave empty when the API has none' },
      { key: 'incidentId', value: '', type: 'string', description: 'Set from incident_id by the start requests' },
      { key: 'experimentId', value: '', type: 'string', description: 'Set from experiment_id by POST /experiments' },
    ],
    item: ordered.filter((f) => f.item.length),
  };
}

function rank(order: string[], name: string): number {
  const i = order.indexOf(name);
  return i < 0 ? order.length : i;
}

function buildItem(path: string, method: string, op: Operation): PostmanItem {
  const segments = path
    .split('/')
    .filter(Boolean)
    .map((segment) => segment.replace(/\{([^}]+)\}/g, (_m, name: string) => valueForPathParam(op, name)));
  const query = (op.parameters ?? [])
    .filter((p) => p.in === 'query')
    .map((p) => ({
      key: p.name,
      value: String(p.example ?? p.schema?.enum?.[0] ?? ''),
      // Optional query parameters are listed but off: the request is then the documented default.
      ...(p.required ? {} : { disabled: true }),
      ...(p.schema?.enum ? { description: `One of: ${p.schema.enum.join(', ')}` } : {}),
    }));
  const queryString = query.filter((q) => !q.disabled).map((q) => `${q.key}=${q.value}`).join('&');

  const examples = Object.entries(op.requestBody?.content?.['application/json']?.examples ?? {});
  const request = (body: Json | undefined): PostmanRequest => ({
    method: method.toUpperCase(),
    header: body === undefined ? [] : [{ key: 'Content-Type', value: 'application/json' }],
    ...(body === undefined ? {} : { body: { mode: 'raw' as const, raw: JSON.stringify(body, null, 2), options: { raw: { language: 'json' as const } } } }),
    url: {
      raw: `{{baseUrl}}/${segments.join('/')}${queryString ? `?${queryString}` : ''}`,
      host: ['{{baseUrl}}'],
      path: segments,
      ...(query.length ? { query } : {}),
    },
    ...(op.summary ? { description: op.summary } : {}),
    ...(op.security && op.security.length === 0 ? { auth: { type: 'noauth' as const } } : {}),
  });

  const code = documentedStatus(op);
  const first = examples[0]?.[1];
  const captures = Object.values(op.responses).some((r) => r.content?.['application/json']?.schema?.$ref === '#/components/schemas/StartIncidentResponse');
  const capturesExperiment = Object.values(op.responses).some((r) => r.content?.['application/json']?.schema?.$ref === '#/components/schemas/StartExperimentResponse');
  return {
    name: `${method.toUpperCase()} ${path}`,
    request: request(first?.value),
    // Saved examples: the documented answer, and each further request body the API documents.
    response: examples.length
      ? examples.map(([name, ex]) => ({ name: ex.summary ?? name, originalRequest: request(ex.value), code, status: STATUS_TEXT[code] ?? '', header: [], body: '' }))
      : [{ name: op.responses[String(code)]?.description ?? 'Documented response', originalRequest: request(undefined), code, status: STATUS_TEXT[code] ?? '', header: [], body: '' }],
    event: [
      {
        listen: 'test',
        script: {
          type: 'text/javascript',
          exec: [
            `pm.test('status is ${code}', function () { pm.response.to.have.status(${code}); });`,
            ...(captures ? ["if (pm.response.code === 202) { pm.collectionVariables.set('incidentId', pm.response.json().incident_id); }"] : []),
            ...(capturesExperiment ? ["if (pm.response.code === 202) { pm.collectionVariables.set('experimentId', pm.response.json().experiment_id); }"] : []),
          ],
        },
      },
    ],
  };
}

function valueForPathParam(op: Operation, name: string): string {
  const variable = VARIABLE_FOR_PARAM[name];
  if (variable) return `{{${variable}}}`;
  const param = (op.parameters ?? []).find((p) => p.in === 'path' && p.name === name);
  if (param?.example === undefined) throw new Error(`OpenAPI path parameter ${name} of ${op.operationId} needs an example for the Postman collection`);
  return String(param.example);
}

/** The first 2xx the operation documents: what a replay of the request must get. */
export function documentedStatus(op: Pick<Operation, 'responses' | 'operationId'>): number {
  const code = Object.keys(op.responses)
    .map(Number)
    .filter((c) => c >= 200 && c < 300)
    .sort((a, b) => a - b)[0];
  if (code === undefined) throw new Error(`${op.operationId} documents no 2xx response`);
  return code;
}

/** A UUID-shaped id derived from the name, so regenerating gives the same file. */
function stableUuid(name: string): string {
  const hex = createHash('sha256').update(`chaos-handler:${name}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The file's exact text: what the CLI writes and the drift test compares. */
export function serializeCollection(collection: PostmanCollection): string {
  return `${JSON.stringify(collection, null, 2)}\n`;
}
