import { EventEmitter } from 'node:events';
import type { AgentServices } from '../agents/agent.js';
import { ConflictError, NotFoundError, errorMessage } from '../errors.js';
import type { Findings } from '../agents/findings.js';
import type { Evidence } from '../evidence/schema.js';
import type { EvidenceSource, PriorSamples } from '../evidence/source.js';
import type { Logger } from '../logger.js';
import type { IncidentObserver } from '../observability/observers.js';
import { TRACE_QUARANTINE, type BadTraceLine, type IncidentStore } from '../store/incident-store.js';
import type { ChaosController } from './chaos.js';
import { newIncidentId } from '../domain/index.js';
import { runPipeline, type AgentHook, type RetryPolicy } from './pipeline.js';
import { AgentName, type IncidentAlert, type IncidentExperiment, type IncidentRecord, type IncidentTarget, type IncidentTrigger, type TraceEntry } from '../domain/index.js';
import { type StartIncidentRequest } from './schema.js';
import type { Decision } from '../remediation/approval-desk.js';
import type { RemediationServices } from '../remediation/closed-loop.js';
import type { RemediationHost } from '../remediation/host.js';
import type { Remediation } from '../domain/index.js';

/** What a connector opens for one incident: where evidence comes from and what injects chaos. */
export type OpenedTarget = {
  target: IncidentTarget;
  source: EvidenceSource;
  chaos: ChaosController | null;
  /** Saves the collected evidence as an offline bundle (live incidents with options.record). */
  record?: (incidentId: string, evidence: Evidence) => Promise<void>;
  /** Where an approved fix runs (live targets). */
  remediation?: RemediationHost;
  /** After the diagnosis (see PipelineDeps.onDiagnosis). */
  onDiagnosis?: (incidentId: string, evidence: Evidence, findings: Partial<Findings>) => Promise<string | null>;
};

/** Opens targets: offline bundles always; live hosts when the SSH layer is wired in. */
export interface TargetConnector {
  open(request: StartIncidentRequest, log: Logger): Promise<OpenedTarget>;
  /** After a crash: revert whatever the incident may have left on its host, and verify. */
  reconcile?(record: IncidentRecord, log: Logger): Promise<{ ok: boolean; detail: string }>;
  /**
   * After a crash, before the chaos is reconciled: settles a remediation cut off while applying
   * or verifying (verified again, finished or rolled back, no step run twice).
   */
  recoverRemediation?(record: IncidentRecord, plan: Remediation, log: Logger): Promise<Remediation>;
}

export type IncidentServiceDeps = {
  store: IncidentStore;
  connector: TargetConnector;
  services: AgentServices;
  log: Logger;
  agentTimeoutMs: number;
  maxConcurrent: number;
  /** Told when incidents start, change phase and finish (the Prometheus metrics listen here). */
  observer?: IncidentObserver;
  /** Wraps the agents of each incident (the self-test's fault injection). */
  agentHook?: AgentHook;
  /** How often a failed agent is tried again (CHAOS_AGENT_RETRIES). */
  retry?: RetryPolicy;
  /** Approvals, policy and rate limit of closed-loop runs (absent: remediation is refused). */
  remediation?: RemediationServices;
};

type Active = { record: IncidentRecord; controller: AbortController; done: Promise<IncidentRecord> };

/**
 * Who opened an incident, recorded in incident.json: an alert (POST /alerts) or watch mode; default
 * manual. `prior`: what watch mode saw before it opened the incident, for its evidence (never
 * from a request).
 */
export type IncidentOrigin = { trigger?: IncidentTrigger; detected_at?: string | null; alert?: IncidentAlert; experiment?: IncidentExperiment; prior?: PriorSamples };

/** What `GET /status` shows of one incident; `traceProblems`: trace lines that were skipped. */
export type IncidentView =
  | { state: 'ok'; record: IncidentRecord; trace: TraceEntry[]; traceProblems: { line: number; kind: BadTraceLine['kind'] }[] }
  | { state: 'damaged'; id: string; problem: string; trace: TraceEntry[]; traceProblems: { line: number; kind: BadTraceLine['kind'] }[] };

/**
 * A slot under the concurrency cap, from admission until the incident ends, and the names of the
 * host it holds (none for offline replays: they touch no host, so any number may share one).
 */
type Admission = { keys: Set<string>; confirmed: boolean; group: string | null };

/**
 * The use cases behind the API and the CLI: start, stop, halt, read. It owns the running
 * incidents (their abort controllers) and the live trace feed.
 */
export class IncidentService {
  private readonly active = new Map<string, Active>();
  private readonly admissions = new Set<Admission>();
  private readonly starting = new Set<Promise<unknown>>();
  private readonly feed = new EventEmitter();
  private readonly haltListeners: (() => Promise<void>)[] = [];
  private accepting = true;

  constructor(private readonly deps: IncidentServiceDeps) {
    this.feed.setMaxListeners(0);
  }

  /** Validated request in, incident id out; the pipeline runs in the background. */
  async start(request: StartIncidentRequest, origin: IncidentOrigin = {}): Promise<{ record: IncidentRecord; done: Promise<IncidentRecord> }> {
    // Admission is decided before the first await: a burst of requests cannot all pass the caps.
    const admission = this.admit(request, origin);
    const starting = this.open(request, admission, origin);
    // A drain waits for starts under way: each ends refused or running, and running ones are stopped.
    this.starting.add(starting);
    return starting.finally(() => this.starting.delete(starting));
  }

  private async open(request: StartIncidentRequest, admission: Admission, origin: IncidentOrigin): Promise<{ record: IncidentRecord; done: Promise<IncidentRecord> }> {
    let opened: OpenedTarget;
    try {
      const log = this.deps.log.child({ scenario: request.scenario });
      opened = await this.deps.connector.open(request, log);
    } catch (error) {
      this.release(admission);
      throw error;
    }
    try {
      // Synchronous again: the resolved host is claimed in the same turn it is checked.
      this.confirm(admission, opened.target);
    } catch (error) {
      this.release(admission);
      await opened.source.close().catch(() => null);
      throw error;
    }
    try {
      return await this.launch(request, opened, admission, origin);
    } catch (error) {
      this.release(admission);
      await opened.source.close().catch(() => null);
      throw error;
    }
  }

  /**
   * Reserves a slot, and the target as the request names it, or refuses. Synchronous on purpose:
   * between the check and the reservation no other request can run.
   */
  private admit(request: StartIncidentRequest, origin: IncidentOrigin): Admission {
    if (!this.accepting) throw new ConflictError('The coordinator is shutting down and accepts no new incidents');
    if (this.admissions.size >= this.deps.maxConcurrent) {
      throw new ConflictError(`Too many incidents running (${this.admissions.size} of ${this.deps.maxConcurrent}); stop one or wait`);
    }
    const key = requestTargetKey(request);
    // The faults of one experiment run may share a host (a compound fault); anything else may not.
    const group = origin.experiment ? `${origin.experiment.id}#${origin.experiment.run}` : null;
    const rival = (a: Admission) => group === null || a.group !== group;
    if (key !== null && [...this.admissions].some((a) => rival(a) && a.keys.has(key))) throw busyTarget(key);
    const admission: Admission = { keys: new Set(key === null ? [] : [key]), confirmed: false, group };
    this.admissions.add(admission);
    return admission;
  }

  /**
   * The target as it resolved: a host asked for by name and by address is still one host. Only
   * confirmed admissions count here, so of two requests racing under different names the first
   * to resolve wins and the other is refused.
   */
  private confirm(admission: Admission, target: IncidentTarget): void {
    if (!this.accepting) throw new ConflictError('The coordinator is shutting down and accepts no new incidents');
    const keys = resolvedTargetKeys(target);
    const taken = keys.find((key) => [...this.admissions].some((a) => a !== admission && a.confirmed && (admission.group === null || a.group !== admission.group) && a.keys.has(key)));
    if (taken !== undefined) throw busyTarget(target.kind === 'ssh' ? `${target.host}:${target.port}` : taken);
    for (const key of keys) admission.keys.add(key);
    admission.confirmed = true;
  }

  private release(admission: Admission): void {
    this.admissions.delete(admission);
  }

  private async launch(request: StartIncidentRequest, opened: OpenedTarget, admission: Admission, origin: IncidentOrigin): Promise<{ record: IncidentRecord; done: Promise<IncidentRecord> }> {
    const now = new Date();
    const record: IncidentRecord = {
      id: newIncidentId(now),
      scenario: request.scenario,
      target: opened.target,
      options: request.options,
      status: 'running',
      phase: 'created',
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      finished_at: null,
      agents: AgentName.options.map((name) => ({ name, state: 'pending', started_at: null, finished_at: null, duration_ms: null })),
      chaos: opened.chaos ? { state: 'pending', detail: opened.chaos.description } : { state: 'not_applicable', detail: opened.target.kind === 'offline' ? 'offline replay: nothing injected' : 'investigate: nothing injected' },
      phase_ms: {},
      outcome: null,
      error: null,
      trigger: origin.trigger ?? 'manual',
      ...(origin.detected_at !== undefined ? { detected_at: origin.detected_at } : {}),
      ...(origin.alert ? { alert: origin.alert } : {}),
      ...(origin.experiment ? { experiment: origin.experiment } : {}),
    };
    await this.deps.store.create(record);
    this.deps.observer?.incidentStarted?.({ incidentId: record.id, scenario: record.scenario, targetKind: record.target.kind });

    const controller = new AbortController();
    const done = runPipeline(
      record,
      request.options,
      {
        store: this.deps.store,
        source: opened.source,
        chaos: opened.chaos,
        services: this.deps.services,
        log: this.deps.log.child({ incidentId: record.id }),
        agentTimeoutMs: this.deps.agentTimeoutMs,
        onTrace: (entry) => this.feed.emit(record.id, entry),
        ...(this.deps.observer ? { observer: this.deps.observer } : {}),
        ...(this.deps.agentHook ? { wrapAgent: this.deps.agentHook.forIncident() } : {}),
        ...(this.deps.retry ? { retry: this.deps.retry } : {}),
        ...(origin.prior ? { prior: origin.prior } : {}),
        ...(opened.remediation && this.deps.remediation && opened.target.kind === 'ssh'
          ? { remediation: { host: opened.remediation, services: this.deps.remediation, target: opened.target.name } }
          : {}),
        ...(opened.record ? { onEvidence: (evidence: Evidence) => opened.record!(record.id, evidence) } : {}),
        ...(opened.onDiagnosis ? { onDiagnosis: (evidence: Evidence, findings: Partial<Findings>) => opened.onDiagnosis!(record.id, evidence, findings) } : {}),
      },
      controller.signal,
    )
      .catch(async (error: unknown) => {
        // runPipeline records its own failures; this only catches the store itself failing.
        this.deps.log.error({ err: error, incidentId: record.id }, 'Incident bookkeeping failed');
        return this.deps.store.loadRecord(record.id).catch(() => record);
      })
      .then((final) => {
        this.deps.observer?.incidentFinished?.({ incidentId: final.id, scenario: final.scenario, status: final.status, category: final.outcome?.category ?? null });
        return final;
      })
      .finally(() => {
        this.active.delete(record.id);
        this.deps.store.settle(record.id);
        this.release(admission);
        this.feed.emit(`${record.id}:end`);
      });
    this.active.set(record.id, { record, controller, done });
    return { record, done };
  }

  /** The remediation of an incident: null when none was asked for. NotFoundError for no incident. */
  async remediation(id: string): Promise<{ remediation: Remediation | null; awaiting_decision: boolean }> {
    const record = await this.deps.store.loadRecord(id);
    return { remediation: record.remediation ?? null, awaiting_decision: this.deps.remediation?.desk.isWaiting(id) ?? false };
  }

  /** A person's approval or rejection of a running incident's plan (ConflictError when none waits). */
  async decideRemediation(id: string, decision: Decision): Promise<Remediation> {
    await this.requireExists(id);
    if (!this.deps.remediation) throw new ConflictError('Remediation is not available on this coordinator');
    return this.deps.remediation.desk.submit(id, decision);
  }

  /** Aborts one incident: its chaos is reverted now. Idempotent: a finished one is returned as is. */
  async stop(id: string, reason = 'stopped by request'): Promise<IncidentRecord> {
    const active = this.active.get(id);
    if (!active) return this.deps.store.loadRecord(id);
    active.controller.abort(new Error(reason));
    return active.done;
  }

  /** Told on every halt (and so on drain): watch mode stops its watches there. */
  onHalt(listener: () => Promise<void>): void {
    this.haltListeners.push(listener);
  }

  /** Stops every running incident; idempotent. Returns the ids that were running. */
  async halt(reason = 'halted by request'): Promise<string[]> {
    // Whatever would open new incidents by itself stops first, so nothing starts behind the halt.
    await Promise.allSettled(this.haltListeners.map((listener) => listener()));
    const ids = [...this.active.keys()];
    await Promise.all(ids.map((id) => this.stop(id, reason)));
    return ids;
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /** Settles when the incident is no longer running (at once when it is not). */
  async whenSettled(id: string): Promise<void> {
    await this.active.get(id)?.done.catch(() => undefined);
  }

  async get(id: string): Promise<{ record: IncidentRecord; trace: TraceEntry[] }> {
    const record = await this.deps.store.loadRecord(id);
    return { record, trace: await this.deps.store.readTrace(id) };
  }

  /**
   * One incident as `GET /status` shows it: its record, or why the record cannot be read (a
   * damaged incident is shown as such, not as a server error), its trace, and the trace lines
   * that had to be skipped. NotFoundError when there is no such incident.
   */
  async view(id: string): Promise<IncidentView> {
    const reading = await this.deps.store.readRecord(id);
    const trace = this.active.has(id)
      ? { entries: await this.deps.store.readTrace(id), bad: [] }
      : await this.deps.store.inspectTrace(id).catch((error: unknown) => {
          if (error instanceof NotFoundError) return { entries: [], bad: [] };
          throw error;
        });
    if (trace.bad.length) this.deps.log.warn({ incidentId: id, lines: trace.bad.map((b) => `${b.line} (${b.kind})`) }, 'Trace lines cannot be read; they are skipped');
    const traceProblems = trace.bad.map(({ line, kind }) => ({ line, kind }));
    return reading.ok
      ? { state: 'ok', record: reading.record, trace: trace.entries, traceProblems }
      : { state: 'damaged', id, problem: reading.problem, trace: trace.entries, traceProblems };
  }

  async list(): Promise<IncidentRecord[]> {
    return (await this.overview()).records;
  }

  /** Every incident on disk: the readable records, and the folders whose record is damaged. */
  async overview(): Promise<{ records: IncidentRecord[]; damaged: { id: string; problem: string }[] }> {
    const ids = await this.deps.store.listIds();
    const readings = await Promise.all(ids.map(async (id) => ({ id, reading: await this.deps.store.readRecord(id).catch(() => null) })));
    const records: IncidentRecord[] = [];
    const damaged: { id: string; problem: string }[] = [];
    for (const { id, reading } of readings) {
      if (reading?.ok) records.push(reading.record);
      else if (reading) damaged.push({ id, problem: reading.problem });
    }
    return { records, damaged };
  }

  /** Live trace entries of one incident; returns the unsubscribe function. */
  subscribe(id: string, onEntry: (entry: TraceEntry) => void, onEnd: () => void): () => void {
    this.feed.on(id, onEntry);
    this.feed.once(`${id}:end`, onEnd);
    return () => {
      this.feed.off(id, onEntry);
      this.feed.off(`${id}:end`, onEnd);
    };
  }

  /**
   * At start-up: an incident still marked running was cut off by a crash. Revert what it may have
   * left on its host, mark it interrupted, keep its trace (a torn last line dropped, corrupt lines
   * quarantined, both said in the trace), and rebuild trace.json. One folder that cannot be
   * recovered is logged and left; it never keeps the coordinator from starting.
   */
  async recoverInterrupted(): Promise<string[]> {
    const recovered: string[] = [];
    for (const id of await this.deps.store.listIds()) {
      if (this.active.has(id)) continue;
      try {
        if (await this.recoverOne(id)) recovered.push(id);
      } catch (error) {
        this.deps.log.error({ err: error, incidentId: id }, 'Could not recover an interrupted incident; the others are served');
      }
    }
    return recovered;
  }

  private async recoverOne(id: string): Promise<boolean> {
    const log = this.deps.log.child({ incidentId: id });
    const reading = await this.deps.store.readRecord(id).catch(() => null);
    if (!reading) return false;
    if (!reading.ok) {
      log.warn({ problem: reading.problem }, 'Incident record is damaged; it is listed as damaged');
      return false;
    }
    const record = reading.record;
    if (record.status !== 'running') return false;

    // The trace first: a torn last line would otherwise swallow the first entry appended below.
    const repaired = await this.deps.store.repairTrace(id).then(
      (bad) => ({ bad, error: null }),
      (error: unknown) => ({ bad: [] as BadTraceLine[], error }),
    );
    if (repaired.error) log.error({ err: repaired.error }, 'trace.jsonl could not be repaired');
    else if (repaired.bad.length) log.warn({ lines: repaired.bad.map((b) => `${b.line} (${b.kind})`) }, 'Unreadable trace lines moved to the quarantine file');

    // Then the host, whatever state the folder is in: reverting chaos matters more than bookkeeping.
    // The remediation first: its verification must see the host before the chaos is stopped.
    let remediation = record.remediation ?? null;
    if (remediation && ['proposed', 'approved', 'applying', 'verifying'].includes(remediation.status)) {
      const settled: Remediation | null = this.deps.connector.recoverRemediation
        ? await this.deps.connector.recoverRemediation(record, remediation, log).catch((error: unknown) => {
            log.error({ err: error }, 'Could not settle the interrupted remediation');
            return null;
          })
        : null;
      remediation = settled ?? { ...remediation, status: 'failed', reason: 'interrupted by a coordinator restart and the host could not be reached to verify it', finished_at: new Date().toISOString() };
      await this.deps.store.appendTrace(id, {
        timestamp: new Date().toISOString(),
        agent: 'Coordinator',
        type: remediation.status === 'resolved' ? 'info' : 'warning',
        content: { summary: `remediation settled after restart: ${remediation.status}${remediation.reason ? ` (${remediation.reason})` : ''}`, remediation },
      });
    }
    let chaos = record.chaos;
    let reconciled: { ok: boolean; detail: string } | null = null;
    if (record.chaos.state === 'pending' || record.chaos.state === 'injected') {
      reconciled = this.deps.connector.reconcile
        ? await this.deps.connector.reconcile(record, log).catch((error: unknown) => ({ ok: false, detail: `could not reconcile: ${errorMessage(error)}` }))
        : { ok: false, detail: 'no connector can reach this target' };
      chaos = { state: reconciled.ok ? 'reverted' : 'revert_failed', detail: reconciled.detail };
    }

    const now = () => new Date().toISOString();
    const entries: TraceEntry[] = [];
    if (repaired.error) {
      entries.push({ timestamp: now(), agent: 'Coordinator', type: 'error', content: { summary: `trace.jsonl could not be repaired after the crash: ${errorMessage(repaired.error)}` } });
    } else if (repaired.bad.length) {
      entries.push({
        timestamp: now(),
        agent: 'Coordinator',
        type: 'warning',
        content: { summary: traceRepairSummary(repaired.bad), lines: repaired.bad.map(({ line, kind }) => ({ line, kind })), quarantine: TRACE_QUARANTINE },
      });
    }
    entries.push({
      timestamp: now(),
      agent: 'Coordinator',
      type: 'warning',
      content: { summary: `incident interrupted: the coordinator stopped during phase ${record.phase}`, phase: record.phase },
    });
    if (reconciled) {
      entries.push({ timestamp: now(), agent: 'Coordinator', type: reconciled.ok ? 'info' : 'error', content: { summary: `reconciled after restart: ${chaos.state}: ${reconciled.detail}`, chaos } });
    }
    for (const entry of entries) await this.deps.store.appendTrace(id, entry);
    await this.deps.store.saveRecord({
      ...record,
      chaos,
      ...(remediation ? { remediation } : {}),
      status: 'interrupted',
      error: `coordinator stopped during phase ${record.phase}`,
      updated_at: now(),
      finished_at: now(),
      agents: record.agents.map((a) => (a.state === 'running' || a.state === 'pending' ? { ...a, state: 'skipped' } : a)),
    });
    await this.deps.store.writeTraceJson(id);
    return true;
  }

  /** Graceful shutdown: refuse new incidents, stop the running ones (their chaos is reverted). */
  async drain(): Promise<void> {
    this.accepting = false;
    await Promise.allSettled([...this.starting]);
    await this.halt('coordinator shutting down');
  }

  /** For `GET /status`: 404 for ids that are not incidents. */
  async requireExists(id: string): Promise<void> {
    if (!(await this.deps.store.exists(id))) throw new NotFoundError(`No incident ${id}`);
  }
}

/** The host as the request names it: an enrolled name, or an address and port. Null offline. */
export function requestTargetKey(request: StartIncidentRequest): string | null {
  const vm = request.target_vm;
  if (request.options.offline || !vm) return null;
  if ('name' in vm) return `name:${vm.name}`;
  return `address:${vm.host.trim().toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '')}:${vm.port ?? 22}`;
}

/** Every name of a resolved host: its enrolled name and the address and port connected to. */
function resolvedTargetKeys(target: IncidentTarget): string[] {
  if (target.kind !== 'ssh') return [];
  return [`name:${target.name}`, `address:${target.host.toLowerCase()}:${target.port}`];
}

function busyTarget(key: string): ConflictError {
  const shown = key.replace(/^(?:name|address):/, '');
  return new ConflictError(`An incident is already running on ${shown}; one at a time per target`);
}

/** "trace.jsonl: the last line, torn by the crash, was dropped; 1 corrupt line (6) moved to …". */
function traceRepairSummary(bad: BadTraceLine[]): string {
  const torn = bad.filter((b) => b.kind === 'torn');
  const corrupt = bad.filter((b) => b.kind === 'corrupt');
  const parts = [
    ...(torn.length ? [`its last line (${torn[0]!.line}), torn by the crash, was dropped`] : []),
    ...(corrupt.length ? [`${corrupt.length} corrupt line${corrupt.length > 1 ? 's' : ''} (${corrupt.map((b) => b.line).join(', ')}) skipped`] : []),
  ];
  return `trace.jsonl after the crash: ${parts.join('; ')}; the unreadable text is kept in ${TRACE_QUARANTINE}`;
}
