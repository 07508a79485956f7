import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentInput, AgentResult, AgentServices, AnyAgent } from '../agents/agent.js';
import type { Findings } from '../agents/findings.js';
import { validateFindings } from '../agents/findings-schema.js';
import { ANALYSIS_AGENTS, REPORT_AGENT } from '../agents/registry.js';
import { errorMessage } from '../errors.js';
import { sanitizeEvidence } from '../evidence/sanitize.js';
import type { Evidence } from '../evidence/schema.js';
import type { EvidenceSource, PriorSamples, SeedResult } from '../evidence/source.js';
import { withRecovery } from '../evidence/with-recovery.js';
import type { Logger } from '../logger.js';
import type { IncidentObserver } from '../observability/observers.js';
import { buildFallbackReport } from '../report/partial.js';
import type { IncidentStore } from '../store/incident-store.js';
import type { ChaosController } from './chaos.js';
import type { AgentName, IncidentRecord, PipelinePhase, TraceActor, TraceEntry, TraceEntryType } from '../domain/index.js';
import type { StartIncidentRequest } from './schema.js';
import { runRemediation, type RemediationServices } from '../remediation/closed-loop.js';
import { healthChecks, probesPass } from '../remediation/health-checks.js';
import type { RemediationHost } from '../remediation/host.js';
import type { Remediation } from '../domain/index.js';
import type { RecoveryWindow } from '../evidence/source.js';
import type { IncidentTimings, TimingKey } from '../domain/timings.js';
import { detectionTimings, markTiming } from './timings.js';

export type PipelineDeps = {
  store: IncidentStore;
  source: EvidenceSource;
  /** Null when nothing is injected (offline replay, `investigate`). */
  chaos: ChaosController | null;
  services: AgentServices;
  log: Logger;
  agentTimeoutMs: number;
  /** Every trace entry, as it is written (the SSE feed listens here). */
  onTrace?: (entry: TraceEntry) => void;
  /** Called after the evidence is complete (the --record option saves it as a bundle). */
  onEvidence?: (evidence: Evidence) => Promise<void>;
  /**
   * Called once the analysis agents have concluded (live investigations refresh the host's
   * known-good reference from a run diagnosed healthy; not when a watch or an alert opened the
   * run and it says healthy); what it returns is traced.
   */
  onDiagnosis?: (evidence: Evidence, findings: Partial<Findings>) => Promise<string | null>;
  /** Phase changes and agent timings, for the metrics. */
  observer?: IncidentObserver;
  /** Present for a live target: the remediation phase runs when options.remediation asks for it. */
  remediation?: PipelineRemediation;
  /** Wraps each agent as this incident runs it (the self-test injects its faults here). */
  wrapAgent?: (agent: AnyAgent) => AnyAgent;
  /** A failed, timed-out or rejected agent run is tried again up to `retries` times, `backoffMs` doubling. */
  retry?: RetryPolicy;
  /**
   * What watch mode saw before it opened this incident: handed to the source as the baseline and
   * the start of the incident window (internal: no request can set it).
   */
  prior?: PriorSamples;
};

export type RetryPolicy = { retries: number; backoffMs: number };

/** Closed-loop runs (options.remediation): where the fix runs and the coordinator's approvals and policy. */
export type PipelineRemediation = { host: RemediationHost; services: RemediationServices; target: string };

/** Hands each incident its agent wrapper (see PipelineDeps.wrapAgent). */
export interface AgentHook {
  forIncident(): (agent: AnyAgent) => AnyAgent;
}

const NO_RETRY: RetryPolicy = { retries: 0, backoffMs: 0 };

/** How long an agent that ignores an abort gets to settle before the pipeline moves on without it. */
const AGENT_SETTLE_MS = 2_000;

/**
 * One incident, start to finish: baseline → chaos → observe → agents → revert → recovery → report.
 * The revert runs on every exit path; an abort (stop, halt, SIGTERM) skips straight to it.
 */
export async function runPipeline(record: IncidentRecord, options: StartIncidentRequest['options'], deps: PipelineDeps, signal: AbortSignal): Promise<IncidentRecord> {
  const run = new IncidentRun(record, deps);
  const wrap = deps.wrapAgent ?? ((agent: AnyAgent) => agent);
  const { source, chaos } = deps;
  const findings: Partial<Findings> = {};
  // Declared wide: TypeScript cannot see the assignments inside the phase callbacks.
  let evidence = null as Evidence | null;
  let remediation = null as Remediation | null;

  await run.trace('Coordinator', 'info', { summary: `incident started: evidence from ${source.description}`, options });
  try {
    // Before anything is collected: the source's windows start with them.
    if (deps.prior && !chaos) await seedPrior(run, source, deps.prior);
    await run.phase('baseline', async () => {
      const got = await source.collect('baseline', options.baseline_s, signal);
      return `${got.samples} samples, ${got.probes} probes over ${got.seconds} s${got.taken_by ? ` taken by ${got.taken_by} before the host left its band (not collected again)` : ''}`;
    });
    if (chaos) {
      await run.phase('chaos', async () => {
        run.setChaos({ state: 'pending', detail: chaos.description });
        const detail = await chaos.inject(signal);
        const injectedAt = new Date();
        source.markFault('started', injectedAt);
        await run.mark('fault_started_at', injectedAt);
        run.setChaos({ state: 'injected', detail });
        return detail;
      });
    }
    await run.phase('observe', async () => {
      const got = await source.collect('incident', options.observe_s, signal);
      return `${got.samples} samples, ${got.probes} probes over ${got.seconds} s`;
    });
    await run.phase('agents', async () => {
      // The evidence boundary: host strings become well-formed here, whatever source they came from.
      evidence = sanitizeEvidence(await source.finish(signal));
      for (const agent of ANALYSIS_AGENTS) await run.agent(wrap(agent), evidence, findings, signal);
      await run.detected(evidence, findings);
      return `${ANALYSIS_AGENTS.length} agents ran`;
    });
    const fix = findings.FixerAgent;
    if (options.remediation !== 'none' && deps.remediation && fix && evidence) {
      const analysed: Evidence = evidence;
      const closedLoop = deps.remediation;
      await run.phase('remediation', async () => {
        remediation = await runRemediation({
          incidentId: record.id,
          target: closedLoop.target,
          options: { ...options, remediation: options.remediation as 'approve' | 'auto' },
          actions: fix.actions,
          host: closedLoop.host,
          services: closedLoop.services,
          save: (plan) => run.setRemediation(plan),
          trace: (type, content) => run.trace('Coordinator', type, content),
          // The fix is the revert of a closed loop: the recovery is watched from it.
          verifyHealth: async (verifyS) => {
            const mitigated = new Date();
            source.markFault('reverted', mitigated);
            await run.mark('mitigated_at', mitigated);
            const watchers = ANALYSIS_AGENTS.filter((a) => a.afterRevert && findings[a.name] !== undefined);
            const watched = await watchRecovery(run, source, analysed, watchers, findings, verifyS, signal, probesPass);
            evidence = watched.evidence;
            const checks = healthChecks(watched.window, findings.MetricsAgent, verifyS);
            if (checks.every((c) => c.ok)) await run.mark('recovered_at', watched.window.window?.end ?? new Date());
            return checks;
          },
          signal,
        });
        return remediation ? `remediation ${remediation.status}` : 'nothing the coordinator can apply';
      });
    }
  } catch (error) {
    run.fail(error, signal);
  } finally {
    let reverted = false;
    if (chaos && remediation?.applied_at) {
      // Closed loop: the fix was meant to remove the fault. The chaos script's stop runs only
      // if something of the fault is still there, and the record says which it was.
      await run.phase('revert', async () => {
        const cleanup = await closedLoopCleanup(chaos);
        reverted = cleanup.ok;
        run.setChaos({ state: cleanup.ok ? 'reverted' : 'revert_failed', detail: cleanup.detail });
        await run.setRemediation({ ...remediation!, chaos_cleanup: { ran: cleanup.ran, at: new Date().toISOString(), detail: cleanup.detail } });
        return cleanup.detail;
      }).catch((error: unknown) => run.fail(error, signal));
    } else if (chaos) {
      await run.phase('revert', async () => {
        const result = await chaos.revert();
        reverted = result.ok;
        if (result.ok) source.markFault('reverted', new Date());
        run.setChaos({ state: result.ok ? 'reverted' : 'revert_failed', detail: result.detail });
        return result.detail;
      }).catch((error: unknown) => run.fail(error, signal));
    }
    // How fast the host came back: only after a clean run whose fault is gone (a live revert, or
    // a recording of one), and only when an agent has something to watch for.
    const analysed = evidence;
    const watchers = ANALYSIS_AGENTS.filter((a) => a.afterRevert && findings[a.name] !== undefined);
    const faultGone = chaos ? reverted : analysed?.fault_started_at != null;
    // A verified remediation already watched the recovery, from the fix.
    const watchedFromFix = remediation?.verification != null;
    if (analysed && faultGone && !watchedFromFix && watchers.length && options.recovery_s > 0 && !run.failed && !signal.aborted) {
      await run.phase('recovery', async () => {
        const watched = await watchRecovery(run, source, analysed, watchers, findings, options.recovery_s, signal);
        evidence = watched.evidence;
        return watched.detail;
      }).catch((error: unknown) => run.fail(error, signal));
    }
    if (evidence && deps.onEvidence) await deps.onEvidence(evidence).catch((error: unknown) => run.fail(error, signal));
    const transport = await source.close().catch((error: unknown) => {
      deps.log.warn({ err: error }, 'Closing the evidence source failed');
      return null;
    });
    if (transport) {
      await run.trace('Coordinator', 'info', {
        summary: `ssh: ${transport.connections} connection(s), ${transport.exec_channels} exec channels (at most ${transport.max_concurrent_channels} at once), ${transport.failures} failed commands`,
        transport,
      });
    }
  }

  if (evidence && !signal.aborted) {
    const collected: Evidence = evidence;
    await run.phase('report', async () => {
      await run.agent(wrap(REPORT_AGENT), collected, findings, signal);
      if (findings.ReporterAgent) return 'report written';
      // The ReporterAgent gave up: a short report still says what is known and what is missing.
      await run.fallbackReport(collected, findings);
      return 'partial report written by the coordinator: the ReporterAgent failed';
    }).catch((error: unknown) => run.fail(error, signal));
    if (deps.onDiagnosis && findings.FixerAgent && !run.failed) {
      // A run that a watch or an alert opened looked at a host something saw out of its band (and,
      // from a watch, its evidence holds those samples): a healthy verdict there is no proof of
      // normal, and learning it would widen the band that caught it.
      const openedBy = record.trigger === 'watch' ? 'watch mode' : record.trigger === 'alert' ? 'an alert' : null;
      const said =
        openedBy && findings.FixerAgent.root_cause.category === 'healthy'
          ? `known-good reference not refreshed: this run was opened by ${openedBy}, so a healthy verdict is not learned as the host's normal (chaos-handler baseline refreshes it on purpose)`
          : await deps.onDiagnosis(collected, findings).catch((error: unknown) => `not done: ${errorMessage(error)}`);
      if (said) await run.trace('Coordinator', 'info', { summary: said });
    }
  }
  return run.finish(findings);
}

/**
 * Hands the source what watch mode saw before it opened the incident, and traces what the
 * evidence now includes, or why it includes none of it (the investigation then runs as usual).
 */
async function seedPrior(run: IncidentRun, source: EvidenceSource, prior: PriorSamples): Promise<void> {
  const offered = prior.before.length + prior.during.length;
  const seeded: SeedResult = source.seed ? source.seed(prior) : { ok: false, reason: `${source.description} takes no earlier samples` };
  if (!seeded.ok) {
    await run.trace('Coordinator', 'warning', { summary: `the ${offered} samples ${prior.taken_by} took before it opened this incident are not used: ${seeded.reason}`, prior: { taken_by: prior.taken_by, first_out_at: prior.first_out_at, offered } });
    return;
  }
  const { baseline, incident } = seeded;
  await run.trace('Coordinator', 'info', {
    summary:
      `this investigation includes ${baseline.samples + incident.samples} samples from ${prior.taken_by}: ${baseline.samples} in band before the host left it ` +
      `(the baseline window, ${baseline.window.start} to ${baseline.window.end}) and ${incident.samples} from ${incident.since} on, the fault building up and out of band from ${prior.first_out_at} ` +
      `(the start of the incident window)${seeded.dropped ? `; ${seeded.dropped} samples or probes seen twice or out of their window left out` : ''}`,
    prior: { taken_by: prior.taken_by, first_out_at: prior.first_out_at, baseline, incident, dropped: seeded.dropped },
  });
}

/**
 * After the revert: follows the host until every watching agent says it has settled (or
 * `maxS` runs out), then gives each of them its second look at the evidence with that window.
 */
async function watchRecovery(
  run: IncidentRun,
  source: EvidenceSource,
  analysed: Evidence,
  watchers: AnyAgent[],
  findings: Partial<Findings>,
  maxS: number,
  signal: AbortSignal,
  alsoSettled: (window: RecoveryWindow) => boolean = () => true,
): Promise<{ evidence: Evidence; detail: string; window: RecoveryWindow }> {
  const settled = (e: Evidence) => watchers.every((a) => a.afterRevert!.settled(findings[a.name]!, e));
  const watched = sanitizeEvidence(await source.followRecovery(maxS, signal, (window) => settled(withRecovery(analysed, window)) && alsoSettled(window)));
  const evidence = withRecovery(analysed, watched);
  for (const agent of watchers) await run.afterRevert(agent, evidence, findings, signal);
  const seconds = watched.window ? Math.round((Date.parse(watched.window.end) - Date.parse(watched.window.start)) / 1000) : 0;
  return { evidence, window: watched, detail: `${watched.samples.length} samples, ${watched.probes.length} probes over ${seconds} s after the revert` };
}

/**
 * After a closed loop whose fix ran: whether the chaos script still holds anything. A fault the
 * fix ended leaves nothing (its process is gone and the host watchdog tidied up), and the
 * script's stop never runs; a host-change fault keeps its holder, which stop then removes.
 */
async function closedLoopCleanup(chaos: ChaosController): Promise<{ ok: boolean; ran: boolean; detail: string }> {
  const status = chaos.status ? await chaos.status().catch(() => null) : null;
  if (status && !status.running) {
    chaos.release?.();
    return { ok: true, ran: false, detail: `removed by the remediation; the chaos script's stop never ran (${status.detail})` };
  }
  const result = await chaos.revert();
  return { ok: result.ok, ran: true, detail: `the chaos script still held the run after the fix (${status?.detail ?? 'status unreadable'}); its stop cleaned up: ${result.detail}` };
}

/** The bookkeeping of one run: record updates, trace entries, timings. */
class IncidentRun {
  private failure: { status: 'failed' | 'aborted'; message: string } | null = null;

  constructor(
    private record: IncidentRecord,
    private readonly deps: PipelineDeps,
  ) {}

  async trace(agent: TraceActor, type: TraceEntryType, content: unknown): Promise<void> {
    const entry: TraceEntry = { timestamp: new Date().toISOString(), agent, type, content };
    await this.deps.store.appendTrace(this.record.id, entry);
    this.deps.onTrace?.(entry);
  }

  async phase(phase: PipelinePhase, body: () => Promise<string>): Promise<void> {
    const started = Date.now();
    await this.update({ phase });
    await this.trace('Coordinator', 'phase', { phase, state: 'started' });
    const detail = await body();
    const ms = Date.now() - started;
    await this.update({ phase_ms: { ...this.record.phase_ms, [phase]: ms } });
    await this.trace('Coordinator', 'phase', { phase, state: 'finished', duration_ms: ms, detail });
  }

  /** Sets one of the incident's timings (incidents/timings.ts) and saves the record. */
  async mark(key: TimingKey, at: Date | string | null, source: IncidentTimings['fault_start_source'] = 'injected'): Promise<void> {
    await this.update({ timings: markTiming(this.record, key, at, source).timings });
  }

  /** Once the agents have concluded: when the fault began, when it was first seen, when it was diagnosed. */
  async detected(evidence: Evidence, findings: Partial<Findings>): Promise<void> {
    const found = detectionTimings(evidence, findings, { detectedAt: this.record.detected_at, alertFiredAt: this.record.alert?.fired_at, outOfBandAt: this.deps.prior?.first_out_at });
    let record = markTiming(this.record, 'fault_started_at', found.fault_started_at, found.fault_start_source ?? 'estimated');
    record = markTiming(record, 'detected_at', found.detected_at);
    const fixer = this.record.agents.find((a) => a.name === 'FixerAgent');
    if (findings.FixerAgent && fixer?.finished_at) record = markTiming(record, 'diagnosed_at', fixer.finished_at);
    await this.update({ timings: record.timings });
  }

  setChaos(chaos: IncidentRecord['chaos']): void {
    this.record = { ...this.record, chaos };
  }

  async agent(agent: AnyAgent, evidence: Evidence, findings: Partial<Findings>, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const name = agent.name;
    const started = new Date();
    const { retries, backoffMs } = this.deps.retry ?? NO_RETRY;
    await this.setAgent(name, { state: 'running', started_at: started.toISOString() });
    await this.trace(name, 'info', { summary: `${name} started` });
    let outcome: Awaited<ReturnType<IncidentRun['invoke']>>;
    let attempt = 1;
    let firstFailureAt: number | null = null;
    try {
      for (;;) {
        const attemptStarted = performance.now();
        outcome = await this.invoke(name, (input) => agent.run(input), evidence, findings, signal);
        if (outcome.state === 'succeeded' || outcome.retryable === false || attempt > retries) break;
        // A crash, a hang or rejected output may be transient: try again after a growing pause.
        firstFailureAt ??= attemptStarted;
        const waitMs = backoffMs * 2 ** (attempt - 1);
        await this.trace(name, 'warning', {
          summary: `${name} attempt ${attempt} ${outcome.state.replace('_', ' ')}: ${outcome.error}; retrying in ${waitMs} ms (attempt ${attempt + 1} of ${retries + 1})`,
          retry: { attempt, state: outcome.state, error: outcome.error, wait_ms: waitMs },
        });
        this.deps.observer?.agentRetried?.({ incidentId: this.record.id, agent: name, reason: outcome.state });
        await sleep(waitMs, undefined, { signal });
        attempt += 1;
      }
    } catch (error) {
      // Stopped mid-run: the record says so rather than leaving the agent "running" forever.
      const at = new Date();
      await this.setAgent(name, { state: 'aborted', error: errorMessage(signal.reason ?? error), finished_at: at.toISOString(), duration_ms: at.getTime() - started.getTime(), attempts: attempt });
      throw error;
    }
    const finished = new Date();
    await this.setAgent(name, { state: outcome.state, ...(outcome.error === undefined ? {} : { error: outcome.error }), finished_at: finished.toISOString(), duration_ms: finished.getTime() - started.getTime(), attempts: attempt });
    this.deps.observer?.agentFinished?.({ incidentId: this.record.id, agent: name, state: outcome.state, durationMs: finished.getTime() - started.getTime() });
    if (outcome.state === 'succeeded') {
      await this.trace(name, 'info', { summary: `${name} finished in ${finished.getTime() - started.getTime()} ms` });
      if (firstFailureAt !== null) {
        const recoveredAfterMs = Math.round(performance.now() - firstFailureAt);
        await this.trace(name, 'info', {
          summary: `${name} recovered on attempt ${attempt}, ${recoveredAfterMs} ms after its first attempt began`,
          recovery: { attempts: attempt, recovered_after_ms: recoveredAfterMs },
        });
      }
    } else {
      const tries = attempt > 1 ? ` (after ${attempt} attempts)` : '';
      await this.trace(name, 'error', { summary: `${name} ${outcome.state.replace('_', ' ')}${tries}: ${outcome.error}`, error: outcome.error, attempts: attempt });
    }
  }

  /** report.md when the ReporterAgent could not write it: what is known, and what is missing. */
  async fallbackReport(evidence: Evidence, findings: Partial<Findings>): Promise<void> {
    const markdown = buildFallbackReport({ incident: this.record, host: evidence.host, findings, now: new Date() });
    await this.deps.store.writeArtifact(this.record.id, 'report.md', markdown);
    await this.trace('Coordinator', 'artifact', { summary: 'report.md written as a partial report: the ReporterAgent failed', artifacts: ['report.md'] });
  }

  /** An agent's second look after the revert; its state in the record stays that of its run. */
  async afterRevert(agent: AnyAgent, evidence: Evidence, findings: Partial<Findings>, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const step = agent.afterRevert;
    if (!step) return;
    const outcome = await this.invoke(agent.name, (input) => step.run(input), evidence, findings, signal);
    if (outcome.state !== 'succeeded') {
      await this.trace(agent.name, 'error', { summary: `${agent.name} after the revert ${outcome.state.replace('_', ' ')}: ${outcome.error}`, error: outcome.error });
    }
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  /**
   * Runs one agent step under the agent timeout; its findings land under its name on success.
   * Once aborted or timed out, the step can no longer write a trace entry or an artifact, and it
   * gets AGENT_SETTLE_MS to notice before the pipeline moves on.
   */
  private async invoke(
    name: AgentName,
    step: (input: AgentInput) => Promise<AgentResult<Findings[AgentName]>>,
    evidence: Evidence,
    findings: Partial<Findings>,
    signal: AbortSignal,
  ): Promise<{ state: 'succeeded' | 'failed' | 'timed_out'; error?: string; retryable?: boolean }> {
    const log = this.deps.log.child({ incidentId: this.record.id, agent: name });
    const timeout = AbortSignal.timeout(this.deps.agentTimeoutMs);
    const agentSignal = AbortSignal.any([signal, timeout]);
    const assertOpen = () => agentSignal.throwIfAborted();
    let outcome: { state: 'succeeded' | 'failed' | 'timed_out'; error?: string; retryable?: boolean };
    try {
      const result = await settleOrAbort(
        step({
          evidence,
          findings,
          incident: this.record,
          trace: async (type, content) => {
            assertOpen();
            await this.trace(name, type, content);
          },
          readTrace: () => this.deps.store.readTrace(this.record.id),
          artifacts: {
            write: async (file, data) => {
              assertOpen();
              return this.deps.store.writeArtifact(this.record.id, file, data);
            },
          },
          services: this.deps.services,
          log,
          signal: agentSignal,
        }),
        agentSignal,
        AGENT_SETTLE_MS,
      );
      const checked = result.ok ? validateFindings(name, result.findings) : null;
      if (!result.ok) {
        outcome = { state: 'failed', error: result.error, ...(result.retryable === false ? { retryable: false } : {}) };
      } else if (checked?.ok) {
        (findings as Record<AgentName, unknown>)[name] = result.findings;
        outcome = { state: 'succeeded' };
      } else {
        // Output that breaks its contract never reaches the agents after it, nor the report.
        outcome = { state: 'failed', error: checked?.error ?? 'output failed validation' };
      }
    } catch (error) {
      if (signal.aborted) throw error;
      outcome = timeout.aborted
        ? { state: 'timed_out', error: `did not finish within ${this.deps.agentTimeoutMs} ms` }
        : { state: 'failed', error: errorMessage(error) };
    }
    if (outcome.state !== 'succeeded') log.warn({ error: outcome.error, state: outcome.state }, 'Agent did not succeed');
    return outcome;
  }

  /** Remembers the first failure; an abort is a stop, not a failure. */
  fail(error: unknown, signal: AbortSignal): void {
    const aborted = signal.aborted;
    const message = aborted ? `aborted: ${errorMessage(signal.reason ?? error)}` : errorMessage(error);
    if (!aborted) this.deps.log.error({ err: error, incidentId: this.record.id }, 'Incident pipeline failed');
    this.failure ??= { status: aborted ? 'aborted' : 'failed', message };
  }

  async finish(findings: Partial<Findings>): Promise<IncidentRecord> {
    if (this.failure) {
      await this.trace('Coordinator', this.failure.status === 'aborted' ? 'warning' : 'error', { summary: `incident ${this.failure.status}: ${this.failure.message}` });
    }
    const diagnosis = findings.FixerAgent?.root_cause;
    const agents = this.record.agents.map((a) => (a.state === 'pending' ? { ...a, state: 'skipped' as const } : a));
    const status = this.failure?.status ?? 'completed';
    const outcome = diagnosis ? { category: diagnosis.category, culprit: diagnosis.culprit?.name ?? null, confidence: diagnosis.confidence } : null;
    await this.trace('Coordinator', 'result', { summary: `incident ${status}${diagnosis ? `: ${diagnosis.category}` : ''}`, status, outcome });
    await this.deps.store.writeTraceJson(this.record.id);
    // The final status last: whoever sees the incident ended finds its trace complete, and its
    // target free for the next incident (the slot is released in the same turn).
    await this.update({ phase: 'done', status, error: this.failure?.message ?? null, finished_at: new Date().toISOString(), agents, outcome });
    const timings = this.record.timings;
    if (timings && (timings.mttd_s !== null || timings.mttr_s !== null)) {
      this.deps.observer?.timingsMeasured?.({ incidentId: this.record.id, category: this.record.outcome?.category ?? null, mttd_s: timings.mttd_s, mttr_s: timings.mttr_s });
    }
    return this.record;
  }

  private async setAgent(name: AgentName, patch: Partial<IncidentRecord['agents'][number]>): Promise<void> {
    await this.update({ agents: this.record.agents.map((a) => (a.name === name ? { ...a, ...patch } : a)) });
  }

  /** The remediation as it changes; the first approval is also the `approved_at` timing. */
  async setRemediation(plan: Remediation): Promise<void> {
    await this.update({ remediation: plan });
    if (plan.approved_at && !this.record.timings?.approved_at) await this.mark('approved_at', plan.approved_at);
  }

  private async update(patch: Partial<IncidentRecord>): Promise<void> {
    const previousPhase = this.record.phase;
    this.record = { ...this.record, ...patch, updated_at: new Date().toISOString() };
    if (this.record.phase !== previousPhase) this.deps.observer?.phaseChanged?.({ incidentId: this.record.id, phase: this.record.phase });
    await this.deps.store.saveRecord(this.record);
  }
}

/**
 * Settles with the promise; once the signal aborts, waits at most `graceMs` more for it (an agent
 * that honours its signal ends cleanly, so nothing of it outlives the incident) and then rejects
 * with the abort reason either way.
 */
function settleOrAbort<T>(promise: Promise<T>, signal: AbortSignal, graceMs: number): Promise<T> {
  const ended = promise.then(
    () => undefined,
    () => undefined,
  );
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      const timer = setTimeout(() => reject(signal.reason), graceMs);
      void ended.then(() => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        if (signal.aborted) return; // onAbort rejects
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        if (signal.aborted) return;
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
