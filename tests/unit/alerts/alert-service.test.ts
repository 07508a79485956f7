import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AlertService, type AlertIncidents, type AlertIncidentStore } from '../../../src/alerts/alert-service.js';
import { fromAlertmanager } from '../../../src/alerts/normalize.js';
import { AlertmanagerWebhook } from '../../../src/alerts/schema.js';
import type { IncidentRecord, TraceEntry } from '../../../src/domain/index.js';
import { ConflictError } from '../../../src/errors.js';
import type { IncidentOrigin } from '../../../src/incidents/incident-service.js';
import type { StartIncidentRequest } from '../../../src/incidents/schema.js';
import { createLogger } from '../../../src/logger.js';
import { AlertMemoryStore } from '../../../src/store/alert-memory-store.js';
import { alertmanagerPayload } from '../../fixtures/alert-payloads.js';

/** An incident service and store in memory: incidents run until `finish(id)`. */
function fakes() {
  const records = new Map<string, IncidentRecord>();
  const traces = new Map<string, TraceEntry[]>();
  const running = new Map<string, () => void>();
  const settled = new Map<string, Promise<void>>();
  const started: { request: StartIncidentRequest; origin: IncidentOrigin }[] = [];
  let busy = false;
  const incidents: AlertIncidents = {
    async start(request, origin) {
      await new Promise((r) => setImmediate(r)); // admission and connect take time
      if (busy) throw new ConflictError('An incident is already running on sandbox; one at a time per target');
      const id = `inc-20261201-000000-${String(started.length).padStart(10, '0')}`;
      started.push({ request, origin });
      const record = { id, status: 'running', ...origin } as unknown as IncidentRecord;
      records.set(id, record);
      settled.set(id, new Promise<void>((resolve) => running.set(id, resolve)));
      return { record };
    },
    isActive: (id) => running.has(id),
    whenSettled: async (id) => {
      if (running.has(id)) await settled.get(id);
    },
  };
  const store: AlertIncidentStore = {
    exists: async (id) => records.has(id),
    appendTrace: async (id, entry) => void traces.set(id, [...(traces.get(id) ?? []), entry]),
    loadRecord: async (id) => records.get(id)!,
    saveRecord: async (record) => void records.set(record.id, record),
    writeTraceJson: async () => undefined,
  };
  const finish = (id: string) => {
    records.set(id, { ...records.get(id)!, status: 'completed' });
    running.get(id)?.();
    running.delete(id);
  };
  return { incidents, store, records, traces, started, finish, setBusy: (b: boolean) => void (busy = b) };
}

const TARGETS = [{ name: 'sandbox', host: '10.213.7.2' }];

describe('the alert service', () => {
  let dir: string;
  let clock: number;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'chaos-alerts-'));
    clock = Date.parse('2026-12-01T00:10:05Z');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  function service(f: ReturnType<typeof fakes>, cooldownS = 900) {
    return new AlertService({
      incidents: f.incidents,
      store: f.store,
      memory: new AlertMemoryStore(dir),
      targets: async () => TARGETS,
      instanceLabel: 'instance',
      cooldownS,
      log: createLogger('silent'),
      now: () => new Date(clock),
    });
  }
  const alerts = (o: Parameters<typeof alertmanagerPayload>[0] = {}) => fromAlertmanager(AlertmanagerWebhook.parse(alertmanagerPayload(o)), 'instance');

  it('when a burst of the same firing alert arrives at once, then exactly one investigate incident opens with the alert recorded on it', async () => {
    const f = fakes();
    const svc = service(f);
    const answers = await Promise.all(Array.from({ length: 8 }, () => svc.receive(alerts())));
    const outcomes = answers.flat();
    expect(outcomes.filter((o) => o.outcome === 'opened')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'duplicate')).toHaveLength(7);
    expect(f.started).toHaveLength(1);
    expect(f.started[0]!.request).toMatchObject({ scenario: 'investigate', target_vm: { name: 'sandbox' } });
    expect(f.started[0]!.origin).toEqual({
      trigger: 'alert',
      detected_at: '2026-12-01T00:10:00.123Z',
      alert: {
        source: 'alertmanager',
        fingerprint: 'a1b2c3d4e5f60718',
        name: 'HostCpuBusy',
        labels: { alertname: 'HostCpuBusy', instance: '10.213.7.2:9100', job: 'node', severity: 'page' },
        runbook_url: 'https://runbooks.example.com/cpu',
        fired_at: '2026-12-01T00:10:00.123Z',
        resolved_at: null,
      },
    });
  });

  it('when the alert repeats while its incident runs, then within the cooldown, then after a restart, then nothing new opens and the answer says why', async () => {
    const f = fakes();
    const svc = service(f, 600);
    const [opened] = await svc.receive(alerts());
    expect((await svc.receive(alerts()))[0]).toMatchObject({ outcome: 'duplicate', incident_id: opened!.incident_id, reason: `its incident ${opened!.incident_id} is still running` });
    f.finish(opened!.incident_id!);
    expect((await svc.receive(alerts()))[0]?.reason).toMatch(/^the same firing \(since 2026-12-01T00:10:00.123Z\) was already investigated/);
    // A restarted coordinator remembers (state dir): Alertmanager's repeat_interval opens nothing.
    clock += 3_600_000;
    const restarted = service(f, 600);
    expect((await restarted.receive(alerts()))[0]).toMatchObject({ outcome: 'duplicate', incident_id: opened!.incident_id });
    expect(f.started).toHaveLength(1);
  });

  it('when the resolution arrives while the incident still runs, then the trace gets it at once and incident.json once the incident has settled', async () => {
    const f = fakes();
    const svc = service(f);
    const [opened] = await svc.receive(alerts());
    const id = opened!.incident_id!;
    clock = Date.parse('2026-12-01T00:12:01Z');
    const [resolved] = await svc.receive(alerts({ status: 'resolved' }));
    expect(resolved).toMatchObject({ outcome: 'resolved_recorded', incident_id: id });
    await new Promise((r) => setTimeout(r, 20));
    expect(f.traces.get(id)?.map((e) => (e.content as { summary: string }).summary)).toEqual(['alert HostCpuBusy resolved at 2026-12-01T00:12:00.000Z']);
    expect(f.records.get(id)?.alert?.resolved_at).toBeNull();
    f.finish(id);
    await svc.flush();
    expect(f.records.get(id)).toMatchObject({ status: 'completed', alert: { resolved_at: '2026-12-01T00:12:00.000Z' } });
    expect((await svc.receive(alerts({ status: 'resolved' })))[0]).toMatchObject({ outcome: 'ignored', reason: `its resolution was already recorded on ${id}` });
  });

  it('when the same alert fires again after it resolved and the cooldown passed, then a new incident opens', async () => {
    const f = fakes();
    const svc = service(f, 600);
    const [first] = await svc.receive(alerts());
    f.finish(first!.incident_id!);
    await svc.receive(alerts({ status: 'resolved' }));
    await svc.flush();
    clock += 300_000;
    expect((await svc.receive(alerts()))[0]).toMatchObject({ outcome: 'duplicate', reason: expect.stringContaining('within the 600 s cooldown') });
    clock += 301_000;
    expect((await svc.receive(alerts()))[0]).toMatchObject({ outcome: 'opened' });
  });

  it('when the instance is not enrolled, the target is busy, or a resolution has no incident, then nothing opens and each outcome says why', async () => {
    const f = fakes();
    const svc = service(f);
    expect((await svc.receive(alerts({ instance: 'db-9:9100' })))[0]).toMatchObject({ outcome: 'unmapped', incident_id: null, reason: 'instance "db-9:9100" is not an enrolled target (enrolled: sandbox)' });
    f.setBusy(true);
    expect((await svc.receive(alerts()))[0]).toMatchObject({ outcome: 'not_opened', target: 'sandbox', reason: 'An incident is already running on sandbox; one at a time per target' });
    expect((await svc.receive(alerts({ status: 'resolved', fingerprint: 'ffff' })))[0]).toMatchObject({ outcome: 'ignored', reason: 'no incident was opened for this alert' });
    // Busy is not remembered: the next notification may open one.
    f.setBusy(false);
    expect((await svc.receive(alerts()))[0]).toMatchObject({ outcome: 'opened' });
  });
});
