import type { Evidence, Phase } from '../../../src/evidence/schema.js';
import type { CollectSummary, EvidenceSource, RecoveryWindow } from '../../../src/evidence/source.js';
import { IncidentService, type TargetConnector } from '../../../src/incidents/incident-service.js';
import { StartIncidentRequest } from '../../../src/incidents/schema.js';
import { createLogger } from '../../../src/logger.js';
import { IncidentStore } from '../../../src/store/incident-store.js';
import { tempDir } from '../../fixtures/paths.js';

/** A source that holds its incident in the baseline until the incident is stopped. */
class HoldingSource implements EvidenceSource {
  readonly kind = 'ssh' as const;
  readonly description = 'a host that never finishes its baseline';
  closed = 0;
  async collect(phase: Phase, _durationS: number, signal: AbortSignal): Promise<CollectSummary> {
    await new Promise<void>((_resolve, reject) => {
      if (signal.aborted) reject(signal.reason as Error);
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
    return { phase, samples: 0, probes: 0, seconds: 0 };
  }
  markFault(): void {}
  async finish(): Promise<Evidence> {
    throw new Error('not reached: the incident is stopped in its baseline');
  }
  async followRecovery(): Promise<RecoveryWindow> {
    return { window: null, fault_reverted_at: null, samples: [], probes: [] };
  }
  async close(): Promise<null> {
    this.closed += 1;
    return null;
  }
}

/** Targets resolved after a few turns of the event loop, like a real connect; offline ones too. */
function slowConnector(opened: { count: number }): TargetConnector {
  return {
    open: async (request) => {
      opened.count += 1;
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      const source = new HoldingSource();
      if (request.options.offline) return { target: { kind: 'offline', bundle: 'examples/held' }, source, chaos: null };
      return { target: { kind: 'ssh', name: 'web-1', host: '192.0.2.10', port: 22, user: 'sre-demo' }, source, chaos: null };
    },
  };
}

/** A store whose next `create` waits until the test lets it go. */
class GatedStore extends IncidentStore {
  gate: Promise<void> | null = null;
  entered: () => void = () => undefined;
  override async create(record: Parameters<IncidentStore['create']>[0]): Promise<void> {
    if (this.gate) {
      this.entered();
      await this.gate;
    }
    return super.create(record);
  }
}

async function withService(maxConcurrent: number, body: (service: IncidentService, opened: { count: number }, store: GatedStore) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir('admission');
  const store = new GatedStore(dir);
  await store.init();
  const opened = { count: 0 };
  const service = new IncidentService({
    store,
    connector: slowConnector(opened),
    services: { pdfUnavailableReason: 'not in this test' },
    log: createLogger('silent'),
    agentTimeoutMs: 30_000,
    maxConcurrent,
  });
  try {
    await body(service, opened, store);
  } finally {
    await service.drain();
    await cleanup();
  }
}

const offline = StartIncidentRequest.parse({ scenario: 'investigate', options: { offline: true } });
const byName = StartIncidentRequest.parse({ scenario: 'cpu_spike', target_vm: { name: 'web-1' } });
const byHost = StartIncidentRequest.parse({ scenario: 'disk_fill', target_vm: { host: '192.0.2.10', port: 22 } });

function outcomes(results: PromiseSettledResult<unknown>[]): { admitted: number; refused: string[] } {
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).name);
  return { admitted: results.length - refused.length, refused: [...new Set(refused)] };
}

describe('admission of new incidents', () => {
  it('when 50 starts arrive at once with a cap of 4, then exactly 4 are admitted and the rest are refused as conflicts', async () => {
    await withService(4, async (service) => {
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => service.start(offline)));
      expect(outcomes(results)).toEqual({ admitted: 4, refused: ['ConflictError'] });
      expect((await service.list()).filter((r) => r.status === 'running')).toHaveLength(4);
    });
  });

  it('when 5 starts for one target arrive at once, then one incident runs on it and the host is connected to once', async () => {
    await withService(10, async (service, opened) => {
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => service.start(byName)));
      expect(outcomes(results)).toEqual({ admitted: 1, refused: ['ConflictError'] });
      expect(opened.count).toBe(1);
    });
  });

  it('when the faults of one experiment run share a target, then both are admitted (a compound fault), and another run is still refused', async () => {
    await withService(10, async (service) => {
      const run = { experiment: { id: 'exp-20261201-000000-aaaaaaaaaa', run: 1 } };
      const other = { experiment: { id: 'exp-20261201-000000-bbbbbbbbbb', run: 1 } };
      const results = await Promise.allSettled([service.start(byName, run), service.start(byHost, run)]);
      expect(outcomes(results)).toEqual({ admitted: 2, refused: [] });
      await expect(service.start(byName, other)).rejects.toMatchObject({ name: 'ConflictError' });
      await expect(service.start(byName)).rejects.toMatchObject({ name: 'ConflictError' });
    });
  });

  it('when one target is asked for by name and by address at once, then only one incident runs on it', async () => {
    await withService(10, async (service) => {
      const results = await Promise.allSettled([service.start(byName), service.start(byHost), service.start(byName), service.start(byHost)]);
      expect(outcomes(results)).toEqual({ admitted: 1, refused: ['ConflictError'] });
      expect((await service.list()).filter((r) => r.status === 'running')).toHaveLength(1);
    });
  });

  it('when a start is refused or its incident ends, then its slot is free again', async () => {
    await withService(1, async (service) => {
      const first = await service.start(offline);
      await expect(service.start(offline)).rejects.toMatchObject({ name: 'ConflictError' });
      await service.stop(first.record.id);
      const second = await service.start(offline);
      expect(second.record.status).toBe('running');
    });
  });

  it('when a drain begins while a target is still connecting, then that incident is refused and its source closed', async () => {
    await withService(4, async (service) => {
      const starting = service.start(byName);
      const draining = service.drain();
      await expect(starting).rejects.toMatchObject({ name: 'ConflictError' });
      await draining;
      expect((await service.list()).filter((r) => r.status === 'running')).toHaveLength(0);
    });
  });

  it('when a drain begins while an admitted incident is still being created, then the drain waits for it and stops it', async () => {
    await withService(4, async (service, _opened, store) => {
      let letGo: () => void = () => undefined;
      store.gate = new Promise((resolve) => (letGo = resolve));
      const entered = new Promise<void>((resolve) => (store.entered = resolve));
      const starting = service.start(offline);
      await entered;
      const draining = service.drain();
      letGo();
      await draining;
      const { done } = await starting;
      expect((await done).status).toBe('aborted');
      expect((await service.list()).filter((r) => r.status === 'running')).toHaveLength(0);
    });
  });
});
