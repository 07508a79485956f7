import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readBundle, serializeBundle } from '../../../src/evidence/bundle.js';
import { EXAMPLES_DIR, tempDir } from '../../fixtures/paths.js';
import { startTestServer, waitForIncident, type TestServer } from '../../fixtures/coordinator.js';
import { startFakeModelServer, type FakeModelServer } from '../../fixtures/openai-compatible-server.js';

/**
 * The optional narrative through the real pipeline: a real coordinator over HTTP replays a
 * recording, and its ReporterAgent asks a real OpenAI-compatible HTTP server (started here, on a
 * free port) for prose, through the openai client.
 */
const MODEL = 'test-model-7b';
const API_KEY = 'sk-test-narrative-key-0123456789';

/** What the cpu_spike recording knows of its host: none of it may leave for the model. */
const HOST_DATA = ['10.213.7.2', 'chaos-sandbox', 'sre-demo', '/home/'];

async function runIncident(server: TestServer, bundle = 'cpu_spike') {
  const res = await fetch(`${server.url}/start_incident`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ scenario: 'investigate', options: { offline: true, bundle } }) });
  expect(res.status).toBe(202);
  const { incident_id: id } = (await res.json()) as { incident_id: string };
  const status = (await waitForIncident(server.url, id)) as {
    status: string;
    outcome: { category: string } | null;
    agents: { name: string; state: string }[];
    trace: { agent: string; type: string; content: { summary?: string } }[];
  };
  const report = await (await fetch(`${server.url}/report/${id}`)).text();
  const narrativeTrace = status.trace.filter((e) => e.agent === 'ReporterAgent' && /^narrative /.test(e.content.summary ?? ''));
  return { id, status, report, narrativeTrace };
}

describe('LLM narrative (real pipeline, local OpenAI-compatible server)', () => {
  let model: FakeModelServer;
  beforeAll(async () => {
    model = await startFakeModelServer({ slowMs: 5_000 });
  });
  afterAll(() => model.close());

  it('when a model is configured, then report.md gets a Narrative section marked as the model’s, and the request carries no host data', async () => {
    model.setReply('```json\n{"narrative": "A runaway process pinned every core.\\n\\nStopping it brings the host back.", "hypotheses": []}\n```');
    // An OpenAI account configured on this machine must not reach another endpoint.
    process.env.OPENAI_ORG_ID = 'org-of-this-machine';
    process.env.OPENAI_PROJECT_ID = 'proj-of-this-machine';
    const server = await startTestServer({ CHAOS_PDF: 'false', CHAOS_LLM_URL: model.urls.ok, CHAOS_LLM_MODEL: MODEL, CHAOS_LLM_API_KEY: API_KEY });
    delete process.env.OPENAI_ORG_ID;
    delete process.env.OPENAI_PROJECT_ID;
    try {
      const before = model.received.length;
      const { id, status, report, narrativeTrace } = await runIncident(server);
      expect(status.status).toBe('completed');
      expect(status.agents.every((a) => a.state === 'succeeded')).toBe(true);
      expect(report).toContain('## Narrative (written by a language model)');
      expect(report).toContain(`_Written by the model \`${MODEL}\``);
      expect(report).toContain('A runaway process pinned every core.');
      expect(report.indexOf('## Narrative')).toBeLessThan(report.indexOf('## Root cause and evidence'));
      expect(narrativeTrace.map((e) => e.content.summary)).toEqual([expect.stringMatching(new RegExp(`^narrative written by the model ${MODEL} in \\d+ ms \\(0 hypotheses of its own\\)$`))]);

      const sent = model.received.slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.authorization).toBe(`Bearer ${API_KEY}`);
      expect(sent[0]!.headers).not.toHaveProperty('openai-organization');
      expect(sent[0]!.headers).not.toHaveProperty('openai-project');
      const body = JSON.parse(sent[0]!.body) as { model: string; messages: { role: string; content: string }[] };
      expect(body.model).toBe(MODEL);
      expect(body.messages.map((m) => m.role)).toEqual(['system', 'user']);
      expect(body.messages[1]!.content).toContain('Diagnosis: cpu_saturation');
      for (const literal of HOST_DATA) expect(sent[0]!.body).not.toContain(literal);
      expect(sent[0]!.body).not.toMatch(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/);

      // narrative.json keeps exactly what left, for anyone to check.
      const kept = JSON.parse(await readFile(path.join(server.incidentsDir, id, 'narrative.json'), 'utf8')) as { model: string; request: unknown };
      expect(kept.model).toBe(MODEL);
      expect(kept.request).toEqual(body.messages);
    } finally {
      await server.stop();
    }
  });

  it('when the diagnosis is unknown, then the model’s extra hypotheses are shown as its suggestions, and the host data in the logs stays home', async () => {
    // The healthy recording plus errors no rule knows, carrying a user, an address, a home path and a secret.
    const { dir, cleanup } = await tempDir('unknown-bundle');
    const { manifest, evidence } = await readBundle(path.join(EXAMPLES_DIR, 'healthy'));
    const noise = (i: number) => `2026-11-20T14:00:${30 + i}Z ERROR payment gateway rejected user alice from 10.9.8.7 reading /home/alice/keys.pem token=tok_${i}8f3a9c2e7b1d: invalid signature`;
    evidence.logs.incident.push({ name: 'payments', lines: Array.from({ length: 12 }, (_, i) => noise(i)) });
    for (const file of serializeBundle(manifest, evidence)) {
      await mkdir(path.dirname(path.join(dir, 'unknown_noise', file.name)), { recursive: true });
      await writeFile(path.join(dir, 'unknown_noise', file.name), file.content);
    }
    model.setReply(JSON.stringify({ narrative: 'No known fault fits: payments failed while the host stayed healthy.', hypotheses: [{ category: 'service_down', rationale: 'the payment gateway may be rejecting every call' }] }));
    const server = await startTestServer({ CHAOS_PDF: 'false', CHAOS_EXAMPLES_DIR: dir, CHAOS_LLM_URL: model.urls.ok, CHAOS_LLM_MODEL: MODEL });
    try {
      const before = model.received.length;
      const { status, report } = await runIncident(server, 'unknown_noise');
      expect(status.outcome?.category).toBe('unknown');
      expect(report).toContain("| Service down (model's suggestion) | the payment gateway may be rejecting every call |");
      expect(report).toContain('Further hypotheses suggested by the model (not checked against the evidence)');
      const sent = model.received.slice(before)[0]!.body;
      expect(sent).toContain('payment gateway rejected');
      for (const literal of ['alice', '10.9.8.7', '/home/', 'tok_', ...HOST_DATA]) expect(sent).not.toContain(literal);
    } finally {
      await server.stop();
      await cleanup();
    }
  });

  it('when the model does not answer within the timeout, then the report is written without it and the trace says why', async () => {
    const server = await startTestServer({ CHAOS_PDF: 'false', CHAOS_LLM_URL: model.urls.slow, CHAOS_LLM_MODEL: MODEL, CHAOS_LLM_TIMEOUT_MS: '500' });
    try {
      const started = Date.now();
      const { status, report, narrativeTrace } = await runIncident(server);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(status.status).toBe('completed');
      expect(status.agents.find((a) => a.name === 'ReporterAgent')?.state).toBe('succeeded');
      expect(report).toMatch(/^# Incident inc-\S+: CPU saturation/);
      expect(report).not.toContain('## Narrative');
      expect(narrativeTrace.map((e) => [e.type, e.content.summary])).toEqual([['warning', 'narrative skipped: the model did not answer within 500 ms']]);
    } finally {
      await server.stop();
    }
  });

  it('when the endpoint answers HTTP 500, then the report is written without it and the trace says why', async () => {
    const server = await startTestServer({ CHAOS_PDF: 'false', CHAOS_LLM_URL: model.urls.failing, CHAOS_LLM_MODEL: MODEL });
    try {
      const { status, report, narrativeTrace } = await runIncident(server);
      expect(status.status).toBe('completed');
      expect(report).not.toContain('## Narrative');
      expect(narrativeTrace.map((e) => [e.type, e.content.summary])).toEqual([['warning', 'narrative skipped: the endpoint answered HTTP 500']]);
    } finally {
      await server.stop();
    }
  });

  it('when no model is configured, then nothing is asked and the report has no narrative', async () => {
    const server = await startTestServer({ CHAOS_PDF: 'false' });
    try {
      const before = model.received.length;
      const { status, report, narrativeTrace } = await runIncident(server);
      expect(status.status).toBe('completed');
      expect(report).not.toContain('## Narrative');
      expect(narrativeTrace).toEqual([]);
      expect(model.received.length).toBe(before);
    } finally {
      await server.stop();
    }
  });
});
