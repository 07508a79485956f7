import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AlertMemoryStore } from '../../../src/store/alert-memory-store.js';

const memory = (fingerprint: string, openedAt: string) => ({ fingerprint, name: 'HostCpuBusy', target: 'sandbox', incident_id: `inc-${fingerprint}`, fired_at: null, opened_at: openedAt, resolved_at: null });

describe('the alert memory in the state dir', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'chaos-alert-memory-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('when saved twice at once, then the later save wins and a new store reads it back', async () => {
    const store = new AlertMemoryStore(dir);
    await Promise.all([store.save([memory('a', '2026-12-01T00:00:00Z')]), store.save([memory('a', '2026-12-01T00:00:00Z'), memory('b', '2026-12-01T00:01:00Z')])]);
    expect((await new AlertMemoryStore(dir).load()).map((m) => m.fingerprint)).toEqual(['a', 'b']);
  });

  it('when the file is missing, not JSON, or not a memory, then the coordinator starts with none (and replaces it on the next save)', async () => {
    const store = new AlertMemoryStore(dir);
    expect(await store.load()).toEqual([]);
    await writeFile(store.file, '{"format_version":1,"alerts":[');
    expect(await store.load()).toEqual([]);
    await writeFile(store.file, JSON.stringify({ format_version: 1, alerts: [{ fingerprint: '' }] }));
    expect(await store.load()).toEqual([]);
    await store.save([memory('c', '2026-12-01T00:00:00Z')]);
    expect(JSON.parse(await readFile(store.file, 'utf8'))).toMatchObject({ format_version: 1, alerts: [{ fingerprint: 'c' }] });
  });
});
