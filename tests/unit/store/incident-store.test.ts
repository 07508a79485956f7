import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { newIncidentId } from '../../../src/domain/index.js';
import type { IncidentRecord } from '../../../src/domain/index.js';
import { hasInvisibleControl } from '../../../src/evidence/sanitize.js';
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
  afterEach(async () => {
    await cleanup();
    if (outside) await rm(outside, { recursive: true, force: true });
    outside = null;
  });
  /** A folder outside the incidents directory, where planted symlinks point. */
  let outside: string | null = null;
  const cleanupDir = (): string => outside!;
  beforeEach(async () => {
    outside = await mkdtemp(path.join(os.tmpdir(), 'chaos-outside-'));
  });

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
    // What the next coordinator finds: the run is over for this process, the disk is all there is.
    store.settle(id);
    await appendFile(path.join(store.dir(id), 'trace.jsonl'), '{"timestamp":"2026-11-22T10:00:00Z","agent":"Log');
    const entries = await store.writeTraceJson(id);
    expect(entries).toHaveLength(2);
    const parsed = JSON.parse(await readFile(path.join(store.dir(id), 'trace.json'), 'utf8')) as unknown[];
    expect(parsed).toHaveLength(2);
  });

  it('when a trace line in the middle is corrupt, then the entries around it are read and the line is reported', async () => {
    const id = newIncidentId();
    await store.create(record(id));
    store.settle(id);
    await writeFile(path.join(store.dir(id), 'trace.jsonl'), '{"bad"\n{"timestamp":"t","agent":"Coordinator","type":"info","content":1}\n');
    await expect(store.readTrace(id)).resolves.toEqual([{ timestamp: 't', agent: 'Coordinator', type: 'info', content: 1 }]);
    await expect(store.inspectTrace(id)).resolves.toMatchObject({ bad: [{ line: 1, kind: 'corrupt', text: '{"bad"' }] });
  });

  it('when a torn trace is repaired, then the bad lines go to the quarantine file and the next entry is a line of its own', async () => {
    const id = newIncidentId();
    await store.create(record(id));
    store.settle(id);
    const good = JSON.stringify({ timestamp: 't1', agent: 'Coordinator', type: 'info', content: 1 });
    await writeFile(path.join(store.dir(id), 'trace.jsonl'), `${good}\nnot json\n${good}\n{"timestamp":"t2","agen`);
    const bad = await store.repairTrace(id);
    expect(bad).toEqual([
      { line: 2, kind: 'corrupt', text: 'not json' },
      { line: 4, kind: 'torn', text: '{"timestamp":"t2","agen' },
    ]);
    await store.appendTrace(id, { timestamp: 't3', agent: 'Coordinator', type: 'warning', content: 'after' });
    expect((await store.inspectTrace(id)).bad).toEqual([]);
    expect((await store.readTrace(id)).map((e) => e.timestamp)).toEqual(['t1', 't1', 't3']);
    const quarantine = (await readFile(path.join(store.dir(id), 'trace.quarantine.jsonl'), 'utf8')).trim().split('\n');
    expect(quarantine.map((l) => JSON.parse(l) as unknown)).toEqual(bad);
  });

  it('when an entry is appended to a trace another process left torn, then it starts on a new line', async () => {
    const id = newIncidentId();
    await store.create(record(id));
    store.settle(id);
    await appendFile(path.join(store.dir(id), 'trace.jsonl'), '{"timestamp":"t0","ag');
    await store.appendTrace(id, { timestamp: 't1', agent: 'Coordinator', type: 'info', content: 'kept' });
    expect(await store.readTrace(id)).toEqual([{ timestamp: 't1', agent: 'Coordinator', type: 'info', content: 'kept' }]);
  });

  it('when incident.json is truncated, then reading it reports it damaged instead of throwing', async () => {
    const id = newIncidentId();
    await store.create(record(id));
    store.settle(id);
    await writeFile(path.join(store.dir(id), 'incident.json'), '{"id": "inc-');
    await expect(store.readRecord(id)).resolves.toMatchObject({ ok: false, problem: expect.stringMatching(/not valid JSON/) });
    await writeFile(path.join(store.dir(id), 'incident.json'), '{"id": 3}');
    await expect(store.readRecord(id)).resolves.toEqual({ ok: false, problem: 'incident.json is not an incident record' });
  });

  it('when an incident is running in this process, then its record, trace and artifacts read as they are on disk', async () => {
    const id = newIncidentId();
    await store.create(record(id));
    await store.saveRecord({ ...record(id), phase: 'agents' });
    await store.appendTrace(id, { timestamp: 't1', agent: 'Coordinator', type: 'info', content: { summary: 'one' } });
    await store.writeArtifact(id, 'artifacts/cpu.svg', '<svg/>');
    await store.writeArtifact(id, 'report.pdf', new Uint8Array([37, 80, 68, 70]));
    await store.writeTraceJson(id);
    const live = { record: await store.loadRecord(id), trace: await store.readTrace(id), artifacts: await store.listArtifacts(id) };
    store.settle(id);
    const disk = { record: await store.loadRecord(id), trace: await store.readTrace(id), artifacts: await store.listArtifacts(id) };
    expect(live).toEqual(disk);
    expect(live.record.phase).toBe('agents');
  });

  it('when a coordinator was killed mid-write, then its temp files are removed and nothing else', async () => {
    const id = newIncidentId();
    await store.create(record(id));
    const dir = store.dir(id);
    await writeFile(path.join(dir, '.incident.json.0123456789ab.tmp'), '{"id":');
    await writeFile(path.join(dir, 'artifacts', '.cpu.svg.abcdef012345.tmp'), '<sv');
    await writeFile(path.join(dir, 'notes.tmp'), 'a person\'s file');
    expect(await store.removeStaleTempFiles()).toBe(2);
    expect((await readdir(dir)).sort()).toEqual(['artifacts', 'incident.json', 'notes.tmp', 'trace.jsonl']);
    expect(await readdir(path.join(dir, 'artifacts'))).toEqual([]);
  });

  it('when a symlink is planted in an incident folder, then the artifact route does not follow it, nor writes through it', async () => {
    const id = newIncidentId();
    await store.create(record(id));
    const dir = store.dir(id);
    await writeFile(path.join(cleanupDir(), 'secret.txt'), 'secret');
    await symlink(path.join(cleanupDir(), 'secret.txt'), path.join(dir, 'report.md'));
    await symlink(cleanupDir(), path.join(dir, 'bundle'));
    await expect(store.readArtifact(id, 'report.md')).rejects.toThrow(/No artifact/);
    await expect(store.readArtifact(id, 'bundle/secret.txt')).rejects.toThrow(/No artifact/);
    await expect(store.writeArtifact(id, 'bundle/planted.txt', 'x')).rejects.toThrow(/No such path/);
    await expect(readdir(cleanupDir())).resolves.not.toContain('planted.txt');
    store.settle(id);
    expect((await store.listArtifacts(id)).map((a) => a.name)).toEqual(['incident.json', 'trace.jsonl']);
  });

  it('when an incident folder itself is a symlink, then none of its artifacts is served', async () => {
    const id = newIncidentId();
    const elsewhere = path.join(cleanupDir(), 'elsewhere');
    await mkdir(elsewhere);
    await writeFile(path.join(elsewhere, 'report.md'), 'not ours');
    await symlink(elsewhere, path.join(dir, id));
    await expect(store.readArtifact(id, 'report.md')).rejects.toThrow(/No artifact/);
  });

  it('when text artifacts hold control or bidi characters, then the files show them escaped and JSON keeps its value', async () => {
    const id = newIncidentId();
    await store.create(record(id));
    const hostile = 'name\u001b[1A\u001b[2K\u202eexe.sh\u009b';
    await store.writeArtifact(id, 'fix.sh', `# culprit ${hostile}\n`);
    await store.writeArtifact(id, 'fix_suggestion.json', JSON.stringify({ culprit: hostile }));
    const sh = (await store.readArtifact(id, 'fix.sh')).toString('utf8');
    expect(sh).toBe('# culprit name\\x1b[1A\\x1b[2K\\u202eexe.sh\\x9b\n');
    const json = (await store.readArtifact(id, 'fix_suggestion.json')).toString('utf8');
    expect(hasInvisibleControl(json)).toBe(false);
    expect(JSON.parse(json)).toEqual({ culprit: hostile });
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
