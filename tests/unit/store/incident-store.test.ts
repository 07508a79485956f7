import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { newIncidentId } from '../../../src/domain/index.js';
import type { IncidentRecord } from '../../../src/domain/index.js';
import { IncidentStore } from '../../../src/store/incident-store.js';
import { tempDir } from '../../fixtures/paths.js';

function record(id: string): IncidentRecord {
  const now = new Date().toISOString();
  return {
    id,
    scenario: 'cpu_spike',
    target: { kind: 'offline', bundle: 'examples/cpu_spike' },
    options: {},
    status: 'running',
    phase: 'created',
    created_at: now,
    updated_at: now,
    finished_at: null,
    agents: [],
    chaos: { state: 'not_applicable' },
    phase_ms: {},
    outcome: null,
    error: null,
  };
}

describe('IncidentStore', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: IncidentStore;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('store'));
    store = new IncidentStore(dir);
    await store.init();
  });
  afterEach(() => cleanup());

  it('when ids are generated in a burst, then they are unique, safe and sort by time', () => {
    const ids = Array.from({ length: 2000 }, () => newIncidentId(new Date('2026-11-22T10:00:00Z')));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^inc-20261122-100000-[0-9a-z]{10}$/);
    expect(newIncidentId(new Date('2026-11-22T10:00:01Z')) > ids[0]!).toBe(true);
  });

  it('when an artifact is written, then no temp file is left beside it', async () => {
    const id = newIncidentId();
    await store.create(record(id));
    await store.writeArtifact(id, 'report.md', '# hi\n');
    await store.writeArtifact(id, 'artifacts/chart.svg', '<svg/>');
    const names = await readdir(store.dir(id));
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect((await store.readArtifact(id, 'report.md')).toString()).toBe('# hi\n');
  });

  it('when the last trace line is torn by a crash, then the rest is read and trace.json is valid', async () => {
    const id = newIncidentId();
    await store.create(record(id));
    await store.appendTrace(id, { timestamp: new Date().toISOString(), agent: 'Coordinator', type: 'info', content: 'one' });
    await store.appendTrace(id, { timestamp: new Date().toISOString(), agent: 'LogAgent', type: 'finding', content: { summary: 'two' } });
    await appendFile(path.join(store.dir(id), 'trace.jsonl'), '{"timestamp":"2026-11-22T10:00:00Z","agent":"Log');
    const entries = await store.writeTraceJson(id);
    expect(entries).toHaveLength(2);
    const parsed = JSON.parse(await readFile(path.join(store.dir(id), 'trace.json'), 'utf8')) as unknown[];
    expect(parsed).toHaveLength(2);
  });

  it('when a trace line in the middle is corrupt, then reading reports it instead of hiding it', async () => {
    const id = newIncidentId();
    await store.create(record(id));
    await writeFile(path.join(store.dir(id), 'trace.jsonl'), '{"bad"\n{"timestamp":"t","agent":"Coordinator","type":"info","content":1}\n');
    await expect(store.readTrace(id)).rejects.toThrow(/corrupt line 1/);
  });

  it.each(['../etc', '..', '.', 'inc-20261122-100000-abc', '/etc/passwd', 'inc-20261122-100000-aaaaaaaaaa/../x', ''])(
    'when the id is %j, then it is not an incident and no path is built',
    (id) => {
      expect(() => store.dir(id)).toThrow(/No incident/);
    },
  );

  it.each(['../incident.json', '../../x', '/etc/passwd', '.trace.tmp', 'artifacts/../../x', 'a/b/c/d/e', 'report.md\u0000.pdf', 'artifacts/.hidden'])(
    'when the artifact name is %j, then it is refused',
    async (name) => {
      const id = newIncidentId();
      await store.create(record(id));
      await expect(store.readArtifact(id, name)).rejects.toThrow(/No artifact/);
    },
  );

  it('when a sibling folder shares the incident id as a prefix, then it is not reachable', async () => {
    const id = newIncidentId();
    await store.create(record(id));
    await mkdir(`${store.dir(id)}-evil`);
    await writeFile(`${store.dir(id)}-evil/secret`, 'x');
    await expect(store.readArtifact(id, '../' + path.basename(store.dir(id)) + '-evil/secret')).rejects.toThrow(/No artifact/);
  });

  it('when incidents exist, then they are listed newest first', async () => {
    const a = newIncidentId(new Date('2026-01-01T00:00:00Z'));
    const b = newIncidentId(new Date('2026-06-01T00:00:00Z'));
    await store.create(record(a));
    await store.create(record(b));
    expect(await store.listIds()).toEqual([b, a]);
  });
});
