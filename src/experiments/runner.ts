/**
 * One experiment, told as a story (after Chaos Toolkit): load for the whole experiment; then, per
 * run, steady state before → method (inject through the incident pipeline: one incident per
 * inject step, linked both ways; wait; probe) with safeguards watching → rollbacks → steady state
 * after. `compare_to: baseline` first runs the same method with nothing injected. Everything the
 * run learns is kept in summary.json as it goes; the outputs are written at the end.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../errors.js';
import type { IncidentService } from '../incidents/incident-service.js';
import { StartIncidentRequest } from '../incidents/schema.js';
import type { Logger } from '../logger.js';
import type { LoadRecord } from '../load/schema.js';
import type { ExperimentStore } from '../store/experiment-store.js';
import type { IncidentStore } from '../store/incident-store.js';
import { incidentFacts, runFigures, type RunObservation } from './figures.js';
import type { ExperimentHosts } from './hosts.js';
import { checkProbe, type ProbeDeps } from './probes.js';
import type { ExperimentEvent, ExperimentSummary, ProbeCheck, RunFigures, RunKind, SteadyPhase } from './result-schema.js';
import type { Experiment, InjectStep, LoadSpec, SteadyStateProbe } from './schema.js';
import { aggregate } from './statistics.js';
import { writeOutputs, type OutputServices } from './outputs.js';

/** The load generator as the runner uses it: started once, records read at any time. */
export type LoadDriver = (spec: LoadSpec, signal: AbortSignal) => { records(): readonly LoadRecord[]; stop(): Promise<readonly LoadRecord[]> };

export type RunnerDeps = {
  incidents: IncidentService;
  incidentStore: IncidentStore;
  store: ExperimentStore;
  hosts: ExperimentHosts;
  load: LoadDriver | null;
  output: OutputServices;
  log: Logger;
  /** Each progress event, as it is recorded (the SSE feed and the CLI listen here). */
  onEvent?: (event: ExperimentEvent) => void;
  /** Refuses URLs the coordinator may not send requests to. */
  checkUrl?: (url: string) => void;
};

/** The incident's own windows inside an experiment run: short, the method's waits set the fault's length. */
const INCIDENT_BASELINE_S = 5;
const INCIDENT_RECOVERY_S = 20;
const MIN_OBSERVE_S = 4;
/** What a later inject step adds to an earlier fault's window beyond its incident's baseline: connecting and injecting. */
const INJECT_ALLOWANCE_S = 5;
/** How often a safeguard looks at its probe, and the longest the steady state after may take to come back. */
const SAFEGUARD_INTERVAL_MS = 1000;
const RESTORE_WINDOW_S = 30;

export async function runExperiment(summary: ExperimentSummary, experiment: Experiment, deps: RunnerDeps, signal: AbortSignal): Promise<ExperimentSummary> {
  const run = new ExperimentRunState(summary, deps);
  const loadSignal = new AbortController();
  let load: ReturnType<LoadDriver> | null = null;
  const observations: RunObservation[] = [];
  try {
    if (experiment.load && deps.load) load = deps.load(experiment.load, AbortSignal.any([signal, loadSignal.signal]));
    if (experiment.load) await run.event(0, null, 'load', `load: ${experiment.load.rps} requests/s ${experiment.load.method} ${experiment.load.url}`);
    if (experiment.compare_to === 'baseline') {
      observations.push(await oneRun(run, experiment, 1, 'baseline', deps, signal));
      await run.recordRun(figuresOf(observations.at(-1)!, load?.records() ?? [], experiment));
      signal.throwIfAborted();
      await settle(run, experiment, 1, signal);
    }
    for (let i = 1; i <= experiment.runs; i++) {
      observations.push(await oneRun(run, experiment, i, 'experiment', deps, signal));
      await run.recordRun(figuresOf(observations.at(-1)!, load?.records() ?? [], experiment));
      signal.throwIfAborted();
      if (i < experiment.runs) await settle(run, experiment, i, signal);
    }
  } catch (error) {
    run.fail(error, signal);
  }
  loadSignal.abort();
  const started = load;
  const records = started ? await started.stop().catch(() => started.records()) : [];
  // Final figures with every request answered (the last ones may have completed after their run).
  const runs = observations.map((o) => figuresOf(o, records, experiment));
  return run.finish(runs, records, experiment);
}

function figuresOf(observation: RunObservation, records: readonly LoadRecord[], experiment: Experiment): RunFigures {
  return runFigures(observation, records, experiment);
}

async function settle(run: ExperimentRunState, experiment: Experiment, after: number, signal: AbortSignal): Promise<void> {
  if (experiment.settle_s <= 0) return;
  await run.event(after, null, 'settle', `settling ${experiment.settle_s} s before the next run`);
  await sleep(experiment.settle_s * 1000, undefined, { signal });
}

/** One run: every step, its checks and its incidents; never throws for what went wrong on the host. */
async function oneRun(state: ExperimentRunState, experiment: Experiment, index: number, kind: RunKind, deps: RunnerDeps, signal: AbortSignal): Promise<RunObservation> {
  const obs: RunObservation = {
    run: index,
    kind,
    started_at: new Date().toISOString(),
    finished_at: '',
    method_started_at: null,
    method_finished_at: null,
    checks: { before: [], during: [], after: [] },
    incidents: [],
    safeguard: null,
    error: null,
  };
  const probeDeps: ProbeDeps = { exec: deps.hosts.exec, defaultTarget: experiment.targets[0]!, ...(deps.checkUrl ? { checkUrl: deps.checkUrl } : {}) };
  const say = (step: string, message: string, incidentId?: string) => state.event(index, kind, step, message, incidentId);
  try {
    await say('steady_state_before', `${kind === 'baseline' ? 'baseline run (no fault)' : `run ${index} of ${experiment.runs}`}: steady state before`);
    obs.checks.before = await checkAll(experiment.steady_state, 'before', probeDeps, signal);
    await say('steady_state_before', describeChecks(obs.checks.before));

    obs.method_started_at = new Date().toISOString();
    const guard = new Safeguards(experiment, probeDeps, obs, state, index, kind, deps.incidents);
    let probedDuring = false;
    // A tripped safeguard ends the method at once: its waits and probes stop with the faults.
    const methodSignal = AbortSignal.any([signal, guard.signal]);
    try {
      const method = { experiment, index, kind, deps, state, obs, guard, probeDeps, say, signal: methodSignal };
      try {
        probedDuring = await runMethod(method);
      } catch (error) {
        // A tripped safeguard ends the method: that is the run's outcome, not a failure of it.
        if (!guard.tripped || signal.aborted) throw error;
        probedDuring = obs.checks.during.length > 0;
      }
      // Without probe steps, the steady state is still looked at once while the fault is in place.
      if (!probedDuring && !guard.tripped) {
        obs.checks.during = await checkAll(experiment.steady_state, 'during', probeDeps, signal);
        await say('probe', `during the fault: ${describeChecks(obs.checks.during)}`);
      }
      obs.method_finished_at = new Date().toISOString();
      for (const incident of obs.incidents) {
        await say('incident', `waiting for incident ${incident.id} to revert and report`, incident.id);
        const final = await incident.done;
        incident.facts = await incidentFacts(deps.incidentStore, incident.id);
        const found = final.outcome ? `: ${final.outcome.category}${final.outcome.culprit ? ` (${final.outcome.culprit})` : ''}` : final.error ? `: ${final.error}` : '';
        await say('incident', `incident ${final.id} ${final.status}${found}; chaos ${final.chaos.state}`, final.id);
      }
    } finally {
      guard.stop();
      // An abort (stop, halt) reverts the faults now; their incidents are waited for either way.
      if (signal.aborted) for (const incident of obs.incidents) await deps.incidents.stop(incident.id, 'experiment stopped').catch(() => null);
      await Promise.all(obs.incidents.map((i) => i.done.catch(() => null)));
      for (const incident of obs.incidents) {
        if (incident.facts) continue;
        const facts = await incidentFacts(deps.incidentStore, incident.id).catch(() => null);
        if (facts) incident.facts = facts;
      }
      await rollbacks(experiment, state, index, kind, deps);
    }
    signal.throwIfAborted();
    await say('steady_state_after', 'steady state after');
    obs.checks.after = await restoreWindow(experiment.steady_state, probeDeps, signal);
    await say('steady_state_after', describeChecks(obs.checks.after));
  } catch (error) {
    // Stopped (stop, halt, shutdown): the run keeps what it saw, its incidents and their reverts.
    obs.error = signal.aborted ? `stopped: ${errorMessage(signal.reason ?? error)}` : errorMessage(error);
    if (!signal.aborted) deps.log.warn({ err: error, experimentId: state.id, run: index }, 'Experiment run failed');
    await say('error', `run ${index} ${signal.aborted ? 'stopped' : 'failed'}: ${obs.error}`);
  } finally {
    obs.finished_at = new Date().toISOString();
    obs.method_finished_at ??= obs.finished_at;
  }
  return obs;
}

type MethodContext = {
  experiment: Experiment;
  index: number;
  kind: RunKind;
  deps: RunnerDeps;
  state: ExperimentRunState;
  obs: RunObservation;
  guard: Safeguards;
  probeDeps: ProbeDeps;
  say: (step: string, message: string, incidentId?: string) => Promise<void>;
  /** The run's signal, also aborted when a safeguard trips. */
  signal: AbortSignal;
};

/** The method's steps in order; returns whether a probe step looked at the steady state. */
async function runMethod(m: MethodContext): Promise<boolean> {
  const { experiment, obs, say, signal } = m;
  let probed = false;
  for (const [i, step] of experiment.method.entries()) {
    signal.throwIfAborted();
    if (step.type === 'inject') {
      if (m.kind === 'baseline') {
        await say('method', `step ${i + 1}: inject ${step.scenario} skipped (baseline run)`);
        continue;
      }
      const started = await startIncident(step, experiment, i, m.state.id, m.index, m.deps);
      obs.incidents.push(started);
      await say('inject', `step ${i + 1}: ${step.scenario} on ${step.target ?? experiment.targets[0]} through incident ${started.id}`, started.id);
      const injected = await waitForInjection(m.deps.incidents, started.id, signal);
      if (injected) {
        await say('inject', `fault in place (incident ${started.id})`, started.id);
        m.guard.watch(started.id);
      } else {
        // The incident has ended (or is ending): its final record says why the fault did not go in.
        const why = await started.done.then((record) => record.error, errorMessage);
        await say('inject', `fault NOT injected: incident ${started.id} ended before its fault was in place${why ? `: ${why}` : ''}`, started.id);
      }
    } else if (step.type === 'wait') {
      await say('method', `step ${i + 1}: wait ${step.seconds} s`);
      await sleep(step.seconds * 1000, undefined, { signal });
    } else {
      const probe = experiment.steady_state.find((p) => p.name === step.name)!;
      const check = await checkProbe(probe, 'during', m.probeDeps, signal);
      obs.checks.during.push(check);
      probed = true;
      await say('probe', `step ${i + 1}: probe ${check.probe}: ${check.ok ? 'ok' : 'out of tolerance'}: ${check.detail}`);
    }
  }
  return probed;
}

type StartedIncident = RunObservation['incidents'][number];


async function startIncident(step: InjectStep, experiment: Experiment, stepIndex: number, experimentId: string, run: number, deps: RunnerDeps): Promise<StartedIncident> {
  const { record, done } = await deps.incidents.start(incidentRequest(experiment, stepIndex), { experiment: { id: experimentId, run } });
  return { id: record.id, scenario: step.scenario, args: step.args as Record<string, unknown>, done };
}

/**
 * The incident an inject step opens: the scenario with its args on its target, short windows,
 * and the experiment's remediation (`approve`: the fix waits for a person's approval; `policy`:
 * it applies as far as the policy file allows; `none`: the coordinator reverts the fault).
 */
export function incidentRequest(experiment: Experiment, stepIndex: number): StartIncidentRequest {
  const step = experiment.method[stepIndex];
  if (step?.type !== 'inject') throw new Error(`method[${stepIndex}] is not an inject step`);
  // The fault stays in place (and is watched) for the rest of the method: the waits after it, and
  // the time each later fault takes to go in, so faults injected one after another overlap (a
  // compound fault on one host, a cascade across targets) instead of each being reverted first.
  let observe = 0;
  for (const later of experiment.method.slice(stepIndex + 1)) {
    if (later.type === 'wait') observe += later.seconds;
    if (later.type === 'inject') observe += INCIDENT_BASELINE_S + INJECT_ALLOWANCE_S;
  }
  return StartIncidentRequest.parse({
    scenario: step.scenario,
    target_vm: { name: step.target ?? experiment.targets[0] },
    options: {
      ...step.args,
      baseline_s: INCIDENT_BASELINE_S,
      observe_s: Math.max(MIN_OBSERVE_S, Math.ceil(observe)),
      recovery_s: INCIDENT_RECOVERY_S,
      remediation: REMEDIATION_MODE[experiment.remediation],
    },
  });
}

/** The experiment's remediation as the incident pipeline names it. */
const REMEDIATION_MODE = { none: 'none', approve: 'approve', policy: 'auto' } as const satisfies Record<Experiment['remediation'], StartIncidentRequest['options']['remediation']>;

/** Resolves true once the incident's fault is in place, false when the incident ended first. */
function waitForInjection(incidents: IncidentService, id: string, signal: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    let settled = false;
    const finish = (value: boolean) => {
      if (settled) return;
      settled = true;
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onAbort = () => {
      if (settled) return;
      settled = true;
      unsubscribe();
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const unsubscribe = incidents.subscribe(
      id,
      (entry) => {
        const c = entry.content as { phase?: string; state?: string } | null;
        if (entry.type === 'phase' && c?.phase === 'chaos' && c.state === 'finished') finish(true);
      },
      () => finish(false),
    );
    signal.addEventListener('abort', onAbort, { once: true });
    // The feed only carries what comes after subscribing: what the incident already did is read.
    void incidents.get(id).then(
      ({ record, trace }) => {
        if (record.chaos.state === 'injected' || trace.some((e) => e.type === 'phase' && (e.content as { phase?: string; state?: string }).phase === 'chaos' && (e.content as { state?: string }).state === 'finished')) finish(true);
        else if (!incidents.isActive(id)) finish(false);
      },
      () => undefined,
    );
  });
}

async function rollbacks(experiment: Experiment, state: ExperimentRunState, run: number, kind: RunKind, deps: RunnerDeps): Promise<void> {
  for (const rollback of experiment.rollbacks) {
    if (rollback.type === 'wait') {
      await sleep(rollback.seconds * 1000);
      continue;
    }
    for (const target of rollback.target ? [rollback.target] : experiment.targets) {
      const result = await deps.hosts.cleanupAll(target).catch((error: unknown) => ({ ok: false, detail: `cleanup_all on ${target}: ${errorMessage(error)}` }));
      await state.event(run, kind, 'rollback', result.detail);
    }
  }
}

function checkAll(probes: readonly SteadyStateProbe[], phase: SteadyPhase, deps: ProbeDeps, signal: AbortSignal): Promise<ProbeCheck[]> {
  return Promise.all(probes.map((p) => checkProbe(p, phase, deps, signal)));
}

/** The steady state after: checked until every probe is back inside its tolerance, or the window ends. */
async function restoreWindow(probes: readonly SteadyStateProbe[], deps: ProbeDeps, signal: AbortSignal): Promise<ProbeCheck[]> {
  const deadline = Date.now() + RESTORE_WINDOW_S * 1000;
  for (;;) {
    const checks = await checkAll(probes, 'after', deps, signal);
    if (checks.every((c) => c.ok) || Date.now() >= deadline) return checks;
    await sleep(1000, undefined, { signal });
  }
}

function describeChecks(checks: readonly ProbeCheck[]): string {
  const bad = checks.filter((c) => !c.ok);
  if (!bad.length) return `met (${checks.length} probe${checks.length === 1 ? '' : 's'} within tolerance)`;
  return `deviated: ${bad.map((c) => `${c.probe}: ${c.detail}`).join('; ')}`;
}

/**
 * Safeguards: while a fault is in place, each guarded probe is checked every second; once one
 * has been out of tolerance for its `leave_for_s`, every incident of the run is stopped (its
 * revert runs at once) and the run records why.
 */
class Safeguards {
  private timer: NodeJS.Timeout | null = null;
  private readonly watched: string[] = [];
  private readonly outSince = new Map<string, number>();
  private busy = false;
  private readonly trip = new AbortController();
  tripped = false;

  /** Aborted when a safeguard trips. */
  get signal(): AbortSignal {
    return this.trip.signal;
  }

  constructor(
    private readonly experiment: Experiment,
    private readonly probeDeps: ProbeDeps,
    private readonly obs: RunObservation,
    private readonly state: ExperimentRunState,
    private readonly run: number,
    private readonly kind: RunKind,
    private readonly incidents: IncidentService,
  ) {}

  watch(incidentId: string): void {
    this.watched.push(incidentId);
    if (this.timer || !this.experiment.safeguards.length) return;
    this.timer = setInterval(() => void this.tick(), SAFEGUARD_INTERVAL_MS);
    void this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.busy || this.tripped || !this.timer) return;
    this.busy = true;
    try {
      const checks = await Promise.all(
        this.experiment.safeguards.map(async (g) => ({ guard: g, check: await checkProbe(this.experiment.steady_state.find((p) => p.name === g.probe)!, 'during', this.probeDeps) })),
      );
      const now = Date.now();
      for (const { guard, check } of checks) {
        if (check.ok) {
          this.outSince.delete(guard.probe);
          continue;
        }
        const since = this.outSince.get(guard.probe) ?? Date.parse(check.at);
        this.outSince.set(guard.probe, since);
        const outFor = (now - since) / 1000;
        if (outFor >= guard.leave_for_s && !this.tripped && this.timer) {
          this.tripped = true;
          this.stop();
          this.trip.abort(new Error(`safeguard ${guard.probe} tripped`));
          this.obs.safeguard = { probe: guard.probe, at: new Date(now).toISOString(), out_for_s: Math.round(outFor * 10) / 10, detail: check.detail };
          this.obs.checks.during.push(check);
          await this.state.event(this.run, this.kind, 'safeguard', `safeguard ${guard.probe}: out of tolerance for ${outFor.toFixed(1)} s (limit ${guard.leave_for_s} s): ${check.detail}; aborting the run's incidents`);
          await Promise.all(this.watched.map((id) => this.incidents.stop(id, `safeguard: ${guard.probe} out of tolerance for ${outFor.toFixed(1)} s`).catch(() => null)));
          return;
        }
      }
    } finally {
      this.busy = false;
    }
  }
}

/** The experiment's bookkeeping: its summary (saved as it changes) and its progress events. */
class ExperimentRunState {
  private failure: { status: 'failed' | 'aborted'; message: string } | null = null;

  constructor(
    private summary: ExperimentSummary,
    private readonly deps: RunnerDeps,
  ) {}

  get id(): string {
    return this.summary.experiment_id;
  }

  async event(run: number, kind: RunKind | null, step: string, message: string, incidentId?: string): Promise<void> {
    const event: ExperimentEvent = { timestamp: new Date().toISOString(), run, kind, step, message, ...(incidentId ? { incident_id: incidentId } : {}) };
    const incidents = incidentId && !this.summary.incidents.includes(incidentId) ? [...this.summary.incidents, incidentId] : this.summary.incidents;
    this.summary = { ...this.summary, incidents, progress: { run, of: this.summary.progress.of, kind, step } };
    await this.deps.store.appendEvent(this.id, event);
    await this.deps.store.saveSummary(this.summary);
    this.deps.onEvent?.(event);
  }

  async recordRun(figures: RunFigures): Promise<void> {
    const others = this.summary.runs.filter((r) => !(r.run === figures.run && r.kind === figures.kind));
    const baseline = figures.kind === 'baseline' ? figures : this.summary.baseline;
    const runs = figures.kind === 'baseline' ? others : [...others, figures];
    this.summary = { ...this.summary, runs, baseline, aggregate: runs.length ? aggregate(runs) : null };
    await this.deps.store.saveSummary(this.summary);
    const parts = [
      `steady state ${figures.held ? 'held' : 'not held'}`,
      ...(figures.mttd_s !== null ? [`MTTD ${figures.mttd_s} s`] : []),
      ...(figures.mttr_s !== null ? [`MTTR ${figures.mttr_s} s`] : []),
      ...(figures.diagnosis ? [`diagnosis ${figures.diagnosis.matched ? 'matched' : 'did not match'}`] : []),
      ...(figures.error ? [figures.error] : []),
    ];
    await this.event(figures.run, figures.kind, 'run_done', `${figures.kind === 'baseline' ? 'baseline run' : `run ${figures.run}`}: ${parts.join(', ')}`);
  }

  fail(error: unknown, signal: AbortSignal): void {
    const aborted = signal.aborted;
    if (!aborted) this.deps.log.error({ err: error, experimentId: this.id }, 'Experiment failed');
    this.failure ??= { status: aborted ? 'aborted' : 'failed', message: aborted ? `aborted: ${errorMessage(signal.reason ?? error)}` : errorMessage(error) };
  }

  async finish(runs: RunFigures[], records: readonly LoadRecord[], experiment: Experiment): Promise<ExperimentSummary> {
    const baseline = runs.find((r) => r.kind === 'baseline') ?? null;
    const faulted = runs.filter((r) => r.kind === 'experiment');
    this.summary = {
      ...this.summary,
      runs: faulted,
      baseline,
      aggregate: faulted.length ? aggregate(baseline ? [baseline, ...faulted] : faulted) : null,
    };
    await this.event(this.summary.progress.run, null, 'outputs', 'writing load.csv, junit.xml, the report and the exports');
    try {
      // The report states the verdict it is part of (summary.json says running until the files are there).
      const ending = { ...this.summary, status: this.failure?.status ?? 'completed', error: this.failure?.message ?? null, finished_at: new Date().toISOString() } satisfies ExperimentSummary;
      await writeOutputs(ending, experiment, records, this.deps.store, this.deps.output);
    } catch (error) {
      this.fail(error, new AbortController().signal);
    }
    const status = this.failure?.status ?? 'completed';
    this.summary = { ...this.summary, status, error: this.failure?.message ?? null, finished_at: new Date().toISOString() };
    await this.deps.store.saveSummary(this.summary);
    await this.event(this.summary.progress.run, null, 'done', `experiment ${status}${this.summary.aggregate ? `: steady state ${this.summary.aggregate.all_held ? 'held in every run' : 'not held in every run'}` : ''}${this.failure ? ` (${this.failure.message})` : ''}`);
    return this.summary;
  }
}
