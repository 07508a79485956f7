import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';
import { REPO_ROOT } from '../../fixtures/paths.js';

describe('GET /schemas/experiment.json', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CHAOS_API_TOKEN: 'a-token-of-sixteen-chars-or-more' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('when fetched without a token, then it is the published JSON Schema of experiment files', async () => {
    const res = await fetch(`${server.url}/schemas/experiment.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/schema\+json/);
    const published = JSON.parse(await readFile(path.join(REPO_ROOT, 'examples/experiments/experiment.schema.json'), 'utf8')) as unknown;
    expect(await res.json()).toEqual(published);
  });

  it('when the OpenAPI document is read, then the route is listed as public', async () => {
    const res = await fetch(`${server.url}/openapi.json`, { headers: { authorization: 'Bearer a-token-of-sixteen-chars-or-more' } });
    const doc = (await res.json()) as { paths: Record<string, { get?: { security?: unknown[] } }> };
    expect(doc.paths['/schemas/experiment.json']?.get?.security).toEqual([]);
  });
});
