import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AgentName, type IncidentRecord } from '../../../src/domain/index.js';
import { InputError, NotFoundError } from '../../../src/errors.js';
import { AuditStore, OUTPUT_TAIL_CHARS, parseAuditLog } from '../../../src/store/audit-store.js';
import { IncidentStore } from '../../../src/store/incident-store.js';

const ID = 'inc-20261201-000000-aaaaaaaaaa';
const OTHER = 'inc-20261201-000001-bbbbbbbbbb';

function record(id: string): IncidentRecord {
  const now = new Date().toISOString();
  return {
    id,
    scenario: 'cpu_spike',
    target: { kind: 'offline', bundle: 'cpu_spike' },
    options: {},
    status: 'completed',
    phase: 'done',
    created_at: now,
    updated_at: now,
    finished_at: now,
    agents: AgentName.options.map((name) => ({ name, state: 'succeeded' as const, started_at: now, finished_at: now, duration_ms: 1 })),
    chaos: { state: 'not_applicable' },
    phase_ms: {},
    outcome: null,
    error: null,
  };
}

describe('AuditStore', () => {
  let dir: string;
  let store: IncidentStore;
  let audit: AuditStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'audit-'));
    store = new IncidentStore(dir);
    await store.init();
    await store.create(record(ID));
    await store.create(record(OTHER));
    store.settle(ID);
    store.settle(OTHER);
    audit = new AuditStore(store);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('when entries are appended, then the incident log and the global log both hold them, one JSON line each', async () => {
    await audit.append(ID, { actor: 'alice', action: 'approved', detail: 'steps s1, s2' });
    await audit.append(ID, { actor: 'coordinator', action: 'step_applied', step_id: 's1', detail: 'kill -TERM 42', output_tail: 'ok\n' });
    await audit.append(OTHER, { actor: 'bob', action: 'rejected', detail: 'not now' });
    await audit.append(null, { actor: 'coordinator', action: 'policy_loaded', detail: 'examples/policy.yaml' });

    const mine = await audit.read(ID);
    expect(mine.map((e) => [e.actor, e.action, e.step_id ?? null, e.incident_id])).toEqual([
      ['alice', 'approved', null, ID],
      ['coordinator', 'step_applied', 's1', ID],
    ]);
    expect(mine[1]!.output_tail).toBe('ok\n');
    expect(Date.parse(mine[0]!.ts)).not.toBeNaN();
    const global = await audit.readGlobal();
    expect(global.map((e) => `${e.incident_id ?? '-'} ${e.action}`)).toEqual([`${ID} approved`, `${ID} step_applied`, `${OTHER} rejected`, '- policy_loaded']);
    const text = await readFile(path.join(dir, ID, 'audit.jsonl'), 'utf8');
    expect(text.split('\n')).toHaveLength(3);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('when many appends race, then no line is lost or interleaved', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, i) => audit.append(ID, { actor: 'coordinator', action: 'step_output', step_id: `s${i}`, detail: 'x'.repeat(1000) })));
    const { entries, bad } = await audit.inspect(ID);
    expect(bad).toEqual([]);
    expect(new Set(entries.map((e) => e.step_id)).size).toBe(40);
  });

  it('when a crash tore the last line, then reads skip it and the next append starts on a line of its own', async () => {
    await audit.append(ID, { actor: 'alice', action: 'approved', detail: 'all' });
    await appendFile(path.join(dir, ID, 'audit.jsonl'), '{"ts":"2026-12-01T00:00:01.000Z","incident_id":"inc-');
    const torn = await audit.inspect(ID);
    expect(torn.entries).toHaveLength(1);
    expect(torn.bad).toEqual([{ line: 2, kind: 'torn' }]);

    await audit.append(ID, { actor: 'coordinator', action: 'verified', detail: 'probes green' });
    const after = await audit.inspect(ID);
    expect(after.entries.map((e) => e.action)).toEqual(['approved', 'verified']);
    expect(after.bad).toEqual([{ line: 2, kind: 'corrupt' }]);
  });

  it('when an output tail is long, then only its end is kept', async () => {
    const entry = await audit.append(ID, { actor: 'coordinator', action: 'step_failed', detail: 'exit 1', output_tail: `${'a'.repeat(10_000)}THE END` });
    expect(entry.output_tail).toHaveLength(OUTPUT_TAIL_CHARS);
    expect(entry.output_tail!.endsWith('THE END')).toBe(true);
  });

  it('when host text carries control characters, then the line stays one line and the value is kept', async () => {
    await audit.append(ID, { actor: 'coordinator', action: 'step_applied', detail: 'line1\nline2\u001b[2J', output_tail: '\u009b31m' });
    const [entry] = await audit.read(ID);
    expect(entry!.detail).toBe('line1\nline2\u001b[2J');
    const text = await readFile(path.join(dir, ID, 'audit.jsonl'), 'utf8');
    expect(text.trimEnd().split('\n')).toHaveLength(1);
    expect(text).not.toMatch(/[\u0080-\u009f]/);
  });

  it('when the entry is bad, then an InputError names the field', async () => {
    await expect(audit.append(ID, { actor: '', action: 'approved', detail: 'x' })).rejects.toThrow(InputError);
    await expect(audit.append(ID, { actor: 'a', action: 'Approved!', detail: 'x' })).rejects.toThrow(/action: a snake_case verb/);
    await expect(audit.append(ID, { actor: 'a', action: 'approved', detail: 'x', incident_id: OTHER })).rejects.toThrow(/names incident/);
  });

  it('when the incident does not exist, then append and read say so and write nothing', async () => {
    await expect(audit.append('inc-20261201-000002-cccccccccc', { actor: 'a', action: 'approved', detail: 'x' })).rejects.toThrow(NotFoundError);
    await expect(audit.append('../../etc', { actor: 'a', action: 'approved', detail: 'x' })).rejects.toThrow(NotFoundError);
    await expect(audit.read('inc-20261201-000002-cccccccccc')).rejects.toThrow(NotFoundError);
    expect(await audit.readGlobal()).toEqual([]);
  });

  it('when nothing was audited yet, then the log reads empty', async () => {
    expect(await audit.read(ID)).toEqual([]);
  });
});

describe('parseAuditLog', () => {
  it('when a line in the middle is damaged, then it is reported corrupt and the rest is read', () => {
    const good = (action: string) => JSON.stringify({ ts: '2026-12-01T00:00:00.000Z', incident_id: null, actor: 'a', action, detail: '' });
    const { entries, bad } = parseAuditLog(`${good('one')}\nnot json\n${good('two')}\n`);
    expect(entries.map((e) => e.action)).toEqual(['one', 'two']);
    expect(bad).toEqual([{ line: 2, kind: 'corrupt' }]);
  });
});
