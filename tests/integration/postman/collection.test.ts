import { ApproveRequest, RejectRequest } from '../../../src/remediation/schema.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildOpenApi } from '../../../src/http/openapi.js';
import { generateCollectionText } from '../../../src/http/postman-cli.js';
import { COLLECTION_PATH, type PostmanCollection, type PostmanItem } from '../../../src/http/postman.js';
import { Experiment } from '../../../src/experiments/schema.js';
import { AlertmanagerWebhook } from '../../../src/alerts/schema.js';
import { WatchOptions } from '../../../src/watch/schema.js';
import { StartIncidentRequest } from '../../../src/incidents/schema.js';
import { REPO_ROOT } from '../../fixtures/paths.js';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';
import { GameDay } from '../../../src/gamedays/schema.js';

const TOKEN = 'postman-token-0123456789';

async function committed(): Promise<string> {
  return readFile(path.join(REPO_ROOT, COLLECTION_PATH), 'utf8');
}

function requests(collection: PostmanCollection): PostmanItem[] {
  return collection.item.flatMap((folder) => folder.item);
}

describe('Postman collection (examples/postman)', () => {
  it('when the generator runs, then it produces exactly the committed collection (regenerate: node dist/src/http/postman-cli.js)', async () => {
    expect(await committed()).toBe(generateCollectionText());
  });

  it('when the collection is read, then it is v2.1 with the variables, every operation once, and bodies the API accepts', async () => {
    const collection = JSON.parse(await committed()) as PostmanCollection;
    expect(collection.info.schema).toBe('https://schema.getpostman.com/json/collection/v2.1.0/collection.json');
    expect(collection.variable.map((v) => v.key)).toEqual(['baseUrl', 'token', 'incidentId', 'experimentId']);
    expect(collection.auth).toEqual({ type: 'bearer', bearer: [{ key: 'token', value: '{{token}}', type: 'string' }] });

    const doc = buildOpenApi('0.0.0');
    const operations = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(requests(collection).map((i) => i.name).sort()).toEqual([...operations].sort());

    for (const item of requests(collection)) {
      for (const saved of [item.request, ...item.response.map((r) => r.originalRequest)]) {
        if (!saved.body) continue;
        // The generic alert webhook takes any JSON: its mapping, not a schema, decides.
        if (item.name === 'POST /alerts/generic') continue;
        const body = item.name.startsWith('POST /experiments')
          ? Experiment
          : item.name === 'POST /gamedays'
            ? GameDay
          : item.name === 'POST /alerts'
            ? AlertmanagerWebhook
            : item.name.startsWith('POST /targets/')
              ? WatchOptions
              : item.name.endsWith('/remediation/approve')
                ? ApproveRequest
                : item.name.endsWith('/remediation/reject')
                  ? RejectRequest
                  : StartIncidentRequest;
        const parsed = body.safeParse(JSON.parse(saved.body.raw));
        expect([item.name, parsed.success]).toEqual([item.name, true]);
      }
    }
  });
});

describe('Postman collection replayed against a running coordinator', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CHAOS_API_TOKEN: TOKEN });
  });
  afterAll(() => server?.stop());

  it('when every request is sent in order with the variables substituted, then each gets its documented status', async () => {
    const collection = JSON.parse(await committed()) as PostmanCollection;
    const vars: Record<string, string> = { baseUrl: server.url, token: TOKEN, incidentId: '' };
    const substitute = (text: string) =>
      text.replace(/\{\{(\w+)\}\}/g, (_m, name: string) => {
        if (!(name in vars)) throw new Error(`unknown variable {{${name}}}`);
        return vars[name]!;
      });

    const results: [string, number][] = [];
    // Experiments need an enrolled live host and break it: they are replayed in tests/integration/experiments.
    // Watches need an enrolled live host (tests/integration/watch); the generic alert webhook a mapping (tests/integration/alerts).
    // Remediation decisions need a live closed-loop incident awaiting one (tests/integration/remediation).
    // Game days run experiments on a live host (tests/integration/gamedays).
    const replayed = requests(collection).filter((i) => !i.name.includes(' /experiments') && !i.name.includes(' /gamedays') && !i.name.includes(' /targets/') && i.name !== 'POST /alerts/generic' && !i.name.includes('/remediation/'));
    for (const item of replayed) {
      const { request } = item;
      const headers: Record<string, string> = Object.fromEntries(request.header.map((h) => [h.key, substitute(h.value)]));
      if (request.auth?.type !== 'noauth') headers.Authorization = `Bearer ${substitute(collection.auth.bearer[0]!.value)}`;
      const res = await fetch(substitute(request.url.raw), {
        method: request.method,
        headers,
        ...(request.body ? { body: substitute(request.body.raw) } : {}),
      });
      const body = Buffer.from(await res.arrayBuffer());
      results.push([item.name, res.status]);
      expect([item.name, res.status]).toEqual([item.name, item.response[0]!.code]);
      // What the start requests' test script does in Postman.
      if ((res.headers.get('content-type') ?? '').includes('json')) {
        const json = JSON.parse(body.toString()) as { incident_id?: unknown };
        if (res.status === 202 && typeof json.incident_id === 'string') vars.incidentId = json.incident_id;
      }
      if (item.name === 'GET /incidents/{id}/events') expect(body.toString()).toContain('event: end');
      if (item.name === 'GET /metrics') expect(body.toString()).toContain('chaos_incidents_finished_total');
    }
    expect(vars.incidentId).toMatch(/^inc-/);
    expect(results.length).toBe(replayed.length);
  });
});
