/**
 * Start-up after a crash, with incident folders as a SIGKILL (or worse) leaves them: traces
 * ending in a torn line, a corrupt line in the middle, a truncated incident.json, temp files. The
 * coordinator must come up, serve the API, reconcile the live incident on its host (a real
 * OpenSSH server, see scripted-host.ts), and say in each trace what it found.
 */
import { jest } from '@jest/globals';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { newIncidentId, type IncidentRecord, type TraceEntry } from '../../../src/domain/index.js';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';
import { tempDir } from '../../fixtures/paths.js';
import { startScriptedHost, type ScriptedHost } from '../../fixtures/scripted-host.js';

jest.setTimeout(90_000);

const T0 = Date.parse('2026-11-30T09:00:00.000Z');

function record(id: string, overrides: Partial<IncidentRecord>): IncidentRecord {
  const at = new Date(T0).toISOString();
  return {
    id,
    scenario: 'investigate',
    target: { kind: 'offline', bundle: 'examples/cpu_spike' },
    options: {},
    status: 'running',
    phase: 'observe',
    created_at: at,
    updated_at: at,
    finished_at: null,
    agents: [
      { name: 'LogAgent', state: 'pending', started_at: null, finished_at: null, duration_ms: null },
      { name: 'MetricsAgent', state: 'pending', started_at: null, finished_at: null, duration_ms: null },
    ],
    chaos: { state: 'not_applicable' },
    phase_ms: {},
    outcome: null,
    error: null,
    ...overrides,
  };
}

function traceLines(n: number): string[] {
  return Array.from({ length: n }, (_, i): TraceEntry => ({ timestamp: new Date(T0 + i * 1000).toISOString(), agent: 'Coordinator', type: 'phase', content: { phase: 'baseline', step: i } })).map((e) => JSON.stringify(e));
}

/** A torn line: the first part of an entry, as a write cut off by SIGKILL leaves it. */
const TORN = '{"timestamp":"2026-11-30T09:00:09.000Z","agent":"Coordi';

async function writeIncident(root: string, id: string, files: { record: string; trace: string; extra?: Record<string, string> }): Promise<void> {
  const dir = path.join(root, id);
  await mkdir(path.join(dir, 'artifacts'), { recursive: true });
  await writeFile(path.join(dir, 'incident.json'), files.record);
  await writeFile(path.join(dir, 'trace.jsonl'), files.trace);
  for (const [name, text] of Object.entries(files.extra ?? {})) await writeFile(path.join(dir, name), text);
}

type Status = { status: string; chaos?: { state: string; detail?: string }; error?: string; trace: TraceEntry[]; artifacts: { name: string }[]; trace_problems?: unknown[] };

const summaries = (trace: TraceEntry[]) => trace.map((e) => (e.content as { summary?: string } | null)?.summary ?? '');

describe('start-up after a crash with damaged incident folders', () => {
  let host: ScriptedHost;
  let server: TestServer;
  let workDir: { dir: string; cleanup: () => Promise<void> };
  let incidents: string;
  const ids = {
    offlineTorn: newIncidentId(new Date(T0)),
    offlineCorrupt: newIncidentId(new Date(T0 + 1000)),
    liveTorn: newIncidentId(new Date(T0 + 2000)),
    damaged: newIncidentId(new Date(T0 + 3000)),
    finished: newIncidentId(new Date(T0 + 4000)),
  };

  beforeAll(async () => {
    workDir = await tempDir('startup');
    host = await startScriptedHost({ netnsName: 'chboot', netnsIndex: 13, dir: workDir.dir });
    incidents = path.join(workDir.dir, 'incidents');
    await mkdir(incidents);

    await writeIncident(incidents, ids.offlineTorn, { record: JSON.stringify(record(ids.offlineTorn, {})), trace: `${traceLines(5).join('\n')}\n${TORN}` });
    await writeIncident(incidents, ids.offlineCorrupt, {
      record: JSON.stringify(record(ids.offlineCorrupt, {})),
      trace: `${traceLines(5).join('\n')}\n{"timestamp": oops}\n${traceLines(2).join('\n')}\n${TORN}`,
    });
    await writeIncident(incidents, ids.liveTorn, {
      record: JSON.stringify(
        record(ids.liveTorn, {
          scenario: 'cpu_spike',
          target: { kind: 'ssh', name: host.name, host: host.address, port: host.port, user: 'chaos-ssh-test' },
          chaos: { state: 'injected', detail: 'cpu_spike started' },
        }),
      ),
      trace: `${traceLines(5).join('\n')}\n${TORN}`,
      // A record rewrite that SIGKILL cut short: the rename never happened.
      extra: { '.incident.json.0123456789ab.tmp': '{"id":"inc-' },
    });
    const truncated = JSON.stringify(record(ids.damaged, {}), null, 2);
    await writeIncident(incidents, ids.damaged, { record: truncated.slice(0, truncated.length / 2), trace: `${traceLines(3).join('\n')}\n` });
    await writeIncident(incidents, ids.finished, {
      record: JSON.stringify(record(ids.finished, { status: 'completed', phase: 'done', finished_at: new Date(T0 + 60_000).toISOString() })),
      trace: `${traceLines(2).join('\n')}\nnot json at all\n${traceLines(2).join('\n')}\n`,
    });

    server = await startTestServer({
      CHAOS_INCIDENTS_DIR: incidents,
      CHAOS_STATE_DIR: path.join(workDir.dir, 'state'),
      CHAOS_TARGETS_FILE: host.targetsFile,
      CHAOS_KEYS_DIR: host.keysDir,
      CHAOS_PDF: 'false',
    });
  });

  afterAll(async () => {
    await server?.stop();
    await host?.stop();
    await workDir?.cleanup();
  });

  const status = async (id: string): Promise<Status> => {
    const res = await fetch(`${server.url}/status/${id}`);
    expect([id, res.status]).toEqual([id, 200]);
    return (await res.json()) as Status;
  };

  it('when the coordinator starts, then the API answers and every incident is listed, the damaged one as damaged', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const list = (await (await fetch(`${server.url}/incidents`)).json()) as { incidents: { incident_id: string; status: string }[] };
    expect(Object.fromEntries(list.incidents.map((i) => [i.incident_id, i.status]))).toEqual({
      [ids.offlineTorn]: 'interrupted',
      [ids.offlineCorrupt]: 'interrupted',
      [ids.liveTorn]: 'interrupted',
      [ids.damaged]: 'damaged',
      [ids.finished]: 'completed',
    });
  });

  it('when a live incident\'s trace ends in a torn line, then its host is reconciled and the trace keeps every whole entry and says what happened', async () => {
    expect(host.commands()).toEqual([expect.stringMatching(/cpu_spike\.sh' 'stop'$/), expect.stringMatching(/cpu_spike\.sh' 'status'$/)]);
    const s = await status(ids.liveTorn);
    expect(s.status).toBe('interrupted');
    expect(s.chaos).toMatchObject({ state: 'reverted' });
    expect(s.trace).toHaveLength(5 + 3);
    expect(summaries(s.trace).slice(5)).toEqual([
      expect.stringMatching(/last line \(6\), torn by the crash, was dropped/),
      expect.stringMatching(/incident interrupted/),
      expect.stringMatching(/reconciled after restart: reverted/),
    ]);
    expect(s.trace_problems).toBeUndefined();
  });

  it('when an offline incident\'s trace ends in a torn line, then it is marked interrupted and its trace says the line was dropped', async () => {
    const s = await status(ids.offlineTorn);
    expect(s.status).toBe('interrupted');
    expect(summaries(s.trace).slice(5)).toEqual([expect.stringMatching(/torn by the crash/), expect.stringMatching(/incident interrupted/)]);
    const json = JSON.parse(await readFile(path.join(incidents, ids.offlineTorn, 'trace.json'), 'utf8')) as unknown[];
    expect(json).toHaveLength(7);
  });

  it('when a line in the middle of a trace is corrupt, then it is quarantined with a warning and the entries around it are kept', async () => {
    const s = await status(ids.offlineCorrupt);
    expect(s.trace).toHaveLength(5 + 2 + 2);
    expect(summaries(s.trace)[7]).toMatch(/1 corrupt line \(6\) skipped.*trace\.quarantine\.jsonl/);
    expect(s.artifacts.map((a) => a.name)).toContain('trace.quarantine.jsonl');
    const quarantined = (await (await fetch(`${server.url}/incidents/${ids.offlineCorrupt}/artifacts/trace.quarantine.jsonl`)).text()).trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(quarantined).toEqual([
      { line: 6, kind: 'corrupt', text: '{"timestamp": oops}' },
      { line: 9, kind: 'torn', text: TORN },
    ]);
  });

  it('when an incident.json is truncated, then its status says damaged instead of failing', async () => {
    const s = await status(ids.damaged);
    expect(s.status).toBe('damaged');
    expect(s.error).toMatch(/incident\.json is not valid JSON/);
    expect(s.trace).toHaveLength(3);
  });

  it('when a finished incident has a corrupt trace line, then its status shows the rest and names the line', async () => {
    const s = await status(ids.finished);
    expect(s.trace).toHaveLength(4);
    expect(s.trace_problems).toEqual([{ line: 3, kind: 'corrupt' }]);
  });

  it('when a killed coordinator left temp files, then they are gone after start-up', async () => {
    expect((await readdir(path.join(incidents, ids.liveTorn))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
