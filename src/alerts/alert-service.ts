import { ConflictError, errorMessage } from '../errors.js';
import type { IncidentRecord, TraceEntry } from '../domain/index.js';
import type { IncidentOrigin } from '../incidents/incident-service.js';
import { StartIncidentRequest } from '../incidents/schema.js';
import type { Logger } from '../logger.js';
import type { EnrolledTarget } from '../ssh/schema.js';
import type { AlertMemoryStore } from '../store/alert-memory-store.js';
import { matchTarget } from './match-target.js';
import type { AlertMemory, AlertOutcome, ReceivedAlert } from './schema.js';

/** What the alert service needs of the incident service. */
export type AlertIncidents = {
  start(request: StartIncidentRequest, origin: IncidentOrigin): Promise<{ record: IncidentRecord }>;
  isActive(id: string): boolean;
  whenSettled(id: string): Promise<void>;
};

/** What it needs of the incident store: the trace and the record of an incident it opened. */
export type AlertIncidentStore = {
  exists(id: string): Promise<boolean>;
  appendTrace(id: string, entry: TraceEntry): Promise<void>;
  loadRecord(id: string): Promise<IncidentRecord>;
  saveRecord(record: IncidentRecord): Promise<void>;
  writeTraceJson(id: string): Promise<unknown>;
};

export type AlertServiceDeps = {
  incidents: AlertIncidents;
  store: AlertIncidentStore;
  memory: AlertMemoryStore;
  /** The enrolled targets, read anew for each notification (enrolment changes while we run). */
  targets: () => Promise<readonly Pick<EnrolledTarget, 'name' | 'host'>[]>;
  /** The label naming the host (`instance` unless configured). */
  instanceLabel: string;
  /** A repeat of an alert within this long of its incident opening opens nothing. */
  cooldownS: number;
  log: Logger;
  now?: () => Date;
};

/**
 * Alerts in, investigations out (SPEC §12). A firing alert about an enrolled host opens one
 * `investigate` incident; the same alert again (a burst, Alertmanager's repeat, a restart of
 * either side) is deduplicated by fingerprint; its resolution is recorded on that incident.
 */
export class AlertService {
  private readonly remembered = new Map<string, AlertMemory>();
  /** Fingerprints whose incident is being opened right now: claimed before the first await. */
  private readonly opening = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private loaded: Promise<void> | null = null;

  constructor(private readonly deps: AlertServiceDeps) {}

  /** One outcome per alert, in the order received. */
  async receive(alerts: readonly ReceivedAlert[]): Promise<AlertOutcome[]> {
    await this.load();
    const outcomes: AlertOutcome[] = [];
    for (const alert of alerts) {
      outcomes.push(alert.status === 'firing' ? await this.fire(alert) : await this.resolve(alert));
    }
    return outcomes;
  }

  /** Waits for resolutions still being written to their incidents (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private load(): Promise<void> {
    this.loaded ??= this.deps.memory.load().then((alerts) => {
      for (const a of alerts) this.remembered.set(a.fingerprint, a);
    });
    return this.loaded;
  }

  private async fire(alert: ReceivedAlert): Promise<AlertOutcome> {
    const base = { fingerprint: alert.fingerprint, alertname: alert.name, status: alert.status };
    // Synchronous from here to the claim: two notifications of one alert cannot both pass.
    const duplicate = this.duplicateOf(alert);
    if (duplicate) return { ...base, outcome: 'duplicate', incident_id: duplicate.incident_id, target: duplicate.memory?.target ?? null, reason: duplicate.reason };
    this.opening.add(alert.fingerprint);
    try {
      const match = matchTarget(alert.instance, await this.deps.targets(), this.deps.instanceLabel);
      if (!match.ok) return { ...base, outcome: 'unmapped', incident_id: null, target: null, reason: match.reason };
      const request = StartIncidentRequest.parse({ scenario: 'investigate', target_vm: { name: match.target }, options: {} });
      const origin: IncidentOrigin = {
        trigger: 'alert',
        detected_at: alert.fired_at,
        alert: {
          source: alert.source,
          fingerprint: alert.fingerprint,
          name: alert.name,
          labels: alert.labels,
          runbook_url: alert.runbook_url,
          fired_at: alert.fired_at,
          resolved_at: null,
        },
      };
      let record: IncidentRecord;
      try {
        ({ record } = await this.deps.incidents.start(request, origin));
      } catch (error) {
        // Busy target, the cap, an unreachable host: said per alert; the next notification may open one.
        const why = error instanceof ConflictError ? errorMessage(error) : `the investigation could not start: ${errorMessage(error)}`;
        this.deps.log.warn({ fingerprint: alert.fingerprint, target: match.target, err: error }, 'Alert opened no incident');
        return { ...base, outcome: 'not_opened', incident_id: null, target: match.target, reason: why };
      }
      const memory: AlertMemory = {
        fingerprint: alert.fingerprint,
        name: alert.name,
        target: match.target,
        incident_id: record.id,
        fired_at: alert.fired_at,
        opened_at: this.now().toISOString(),
        resolved_at: null,
      };
      this.remembered.set(alert.fingerprint, memory);
      await this.persist();
      this.deps.log.info({ fingerprint: alert.fingerprint, alertname: alert.name, target: match.target, incidentId: record.id }, 'Alert opened an investigation');
      return { ...base, outcome: 'opened', incident_id: record.id, target: match.target, reason: `investigate incident opened on ${match.target}` };
    } finally {
      this.opening.delete(alert.fingerprint);
    }
  }

  /**
   * Why this firing opens nothing, if it does not: its incident is being opened or still runs,
   * it is the same firing (same start) already investigated, or it repeats within the cooldown.
   */
  private duplicateOf(alert: ReceivedAlert): { incident_id: string | null; memory: AlertMemory | null; reason: string } | null {
    if (this.opening.has(alert.fingerprint)) return { incident_id: null, memory: null, reason: 'an incident for this alert is being opened by an earlier notification' };
    const m = this.remembered.get(alert.fingerprint);
    if (!m) return null;
    if (this.deps.incidents.isActive(m.incident_id)) return { incident_id: m.incident_id, memory: m, reason: `its incident ${m.incident_id} is still running` };
    if (m.resolved_at === null && m.fired_at !== null && m.fired_at === alert.fired_at) {
      return { incident_id: m.incident_id, memory: m, reason: `the same firing (since ${m.fired_at}) was already investigated in ${m.incident_id}` };
    }
    const sinceS = (this.now().getTime() - Date.parse(m.opened_at)) / 1000;
    if (sinceS < this.deps.cooldownS) {
      return { incident_id: m.incident_id, memory: m, reason: `within the ${this.deps.cooldownS} s cooldown of ${m.incident_id} (opened ${Math.round(sinceS)} s ago)` };
    }
    return null;
  }

  private async resolve(alert: ReceivedAlert): Promise<AlertOutcome> {
    const base = { fingerprint: alert.fingerprint, alertname: alert.name, status: alert.status };
    const m = this.remembered.get(alert.fingerprint);
    if (!m) return { ...base, outcome: 'ignored', incident_id: null, target: null, reason: 'no incident was opened for this alert' };
    if (m.resolved_at !== null) return { ...base, outcome: 'ignored', incident_id: m.incident_id, target: m.target, reason: `its resolution was already recorded on ${m.incident_id}` };
    const resolvedAt = alert.resolved_at ?? this.now().toISOString();
    m.resolved_at = resolvedAt;
    await this.persist();
    const task = this.recordResolution(m, resolvedAt).catch((error: unknown) =>
      this.deps.log.error({ err: error, incidentId: m.incident_id, fingerprint: m.fingerprint }, 'Could not record the alert resolution on its incident'),
    );
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
    return { ...base, outcome: 'resolved_recorded', incident_id: m.incident_id, target: m.target, reason: `resolution recorded on ${m.incident_id}` };
  }

  /**
   * The trace entry at once (the live feed shows it); incident.json once the incident has
   * settled, since a running pipeline rewrites its own record.
   */
  private async recordResolution(m: AlertMemory, resolvedAt: string): Promise<void> {
    if (!(await this.deps.store.exists(m.incident_id))) {
      this.deps.log.warn({ incidentId: m.incident_id, fingerprint: m.fingerprint }, 'The incident of a resolved alert is gone; nothing recorded');
      return;
    }
    await this.deps.store.appendTrace(m.incident_id, {
      timestamp: this.now().toISOString(),
      agent: 'Coordinator',
      type: 'info',
      content: { summary: `alert ${m.name} resolved at ${resolvedAt}`, alert: { fingerprint: m.fingerprint, name: m.name, resolved_at: resolvedAt } },
    });
    await this.deps.incidents.whenSettled(m.incident_id);
    // trace.json first: whoever sees resolved_at in incident.json finds the entry in the trace too.
    await this.deps.store.writeTraceJson(m.incident_id);
    const record = await this.deps.store.loadRecord(m.incident_id);
    if (record.alert) await this.deps.store.saveRecord({ ...record, alert: { ...record.alert, resolved_at: resolvedAt }, updated_at: this.now().toISOString() });
  }

  private persist(): Promise<void> {
    return this.deps.memory.save([...this.remembered.values()]);
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}
