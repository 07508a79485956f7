import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AgentServices } from './agents/agent.js';
import type { Config } from './config/index.js';
import { IncidentService, type TargetConnector } from './incidents/incident-service.js';
import { OfflineConnector, RoutingConnector } from './incidents/connector.js';
import { SshConnector } from './incidents/ssh-connector.js';
import type { Logger } from './logger.js';
import type { CoordinatorObserver } from './observability/observers.js';
import { removeStaleBrowserProfiles } from './report/render/profiles.js';
import { createReportServices } from './report/report-services.js';
import { createNarrator } from './narrative/narrator.js';
import { createSelfTest } from './selftest/fault-injector.js';
import { ExperimentService } from './experiments/experiment-service.js';
import { ExperimentStore } from './store/experiment-store.js';
import { GameDayService } from './gamedays/gameday-service.js';
import { GameDayStore } from './store/gameday-store.js';
import { IncidentStore } from './store/incident-store.js';
import { ApprovalDesk } from './remediation/approval-desk.js';
import { AuditStore } from './store/audit-store.js';
import { RateLimiter, decide, loadPolicy, remediationHistory } from './remediation/policy.js';
import { ReferenceStore } from './store/reference-store.js';
import { AlertService } from './alerts/alert-service.js';
import { AlertMemoryStore } from './store/alert-memory-store.js';
import { WatchService } from './watch/watch-service.js';
import { WatchStore } from './store/watch-store.js';
import { loadTargets } from './ssh/targets.js';

export type Coordinator = {
  store: IncidentStore;
  incidents: IncidentService;
  /** Experiments (SPEC §11): runs of a steady-state hypothesis under load, with their outputs. */
  experiments: ExperimentService;
  gamedays: GameDayService;
  /** POST /alerts: alerts in, investigations out. */
  alerts: AlertService;
  /** Watch mode: targets sampled continuously, investigated when they leave their band. */
  watches: WatchService;
  version: string;
  close: () => Promise<void>;
};

/**
 * Wires the coordinator from its configuration: store, report services, connectors, the
 * incident service. Shared by the API server (main.ts) and the CLI.
 */
export async function createCoordinator(
  config: Config,
  log: Logger,
  overrides: { connector?: TargetConnector; observer?: CoordinatorObserver } = {},
): Promise<Coordinator> {
  const store = new IncidentStore(config.CHAOS_INCIDENTS_DIR);
  await store.init();
  // What a coordinator killed with SIGKILL leaves behind: half-written temp files, browser profiles.
  const browserProfileRoot = path.join(config.CHAOS_STATE_DIR, 'chromium');
  const [temps, profiles] = await Promise.all([store.removeStaleTempFiles(), removeStaleBrowserProfiles(browserProfileRoot)]);
  if (temps || profiles.length) log.info({ tempFiles: temps, browserProfiles: profiles.length }, 'Removed what a previous coordinator left behind');
  const report = createReportServices({
    pdf: config.CHAOS_PDF,
    browserProfileRoot,
    ...(config.CHAOS_CHROMIUM_PATH ? { chromiumPath: config.CHAOS_CHROMIUM_PATH } : {}),
    ...(config.CHAOS_SLACK_WEBHOOK_URL ? { slackWebhookUrl: config.CHAOS_SLACK_WEBHOOK_URL } : {}),
    log,
  });
  const connector =
    overrides.connector ??
    new RoutingConnector(
      new OfflineConnector({ examplesDir: config.CHAOS_EXAMPLES_DIR }),
      new SshConnector({
        targetsFile: config.CHAOS_TARGETS_FILE,
        keysDir: config.CHAOS_KEYS_DIR,
        store,
        references: new ReferenceStore(config.CHAOS_STATE_DIR, log),
        leaseS: config.CHAOS_LEASE_S,
        ...(overrides.observer ? { observer: overrides.observer } : {}),
      }),
      'no SSH connector',
    );
  const reportServices = overrides.observer ? timedServices(report.services, overrides.observer) : report.services;
  const faults = config.CHAOS_SELFTEST_FAULTS ?? [];
  // Loud on purpose: a coordinator that breaks its own agents must never pass unnoticed.
  if (faults.length) log.warn({ faults, seed: config.CHAOS_SELFTEST_SEED }, 'Self-test: faults are injected into the agents');
  // A policy file that does not parse stops the coordinator here, naming the problem.
  const policy = await loadPolicy(config.CHAOS_POLICY_FILE);
  // A restart must not reset the hourly limit (no restart loops): remediations applied in the last hour count.
  const readings = await Promise.all((await store.listIds()).map((id) => store.readRecord(id).catch(() => null)));
  const limiter = new RateLimiter(policy, remediationHistory(readings.flatMap((r) => (r?.ok ? [r.record] : []))));
  const auditLog = new AuditStore(store);
  const incidents = new IncidentService({
    store,
    connector,
    services: {
      ...reportServices,
      ...(config.CHAOS_LLM_URL && config.CHAOS_LLM_MODEL
        ? { narrator: createNarrator({ url: config.CHAOS_LLM_URL, model: config.CHAOS_LLM_MODEL, apiKey: config.CHAOS_LLM_API_KEY ?? null, timeoutMs: config.CHAOS_LLM_TIMEOUT_MS }) }
        : {}),
    },
    log,
    agentTimeoutMs: config.CHAOS_AGENT_TIMEOUT_MS,
    retry: { retries: config.CHAOS_AGENT_RETRIES, backoffMs: config.CHAOS_AGENT_RETRY_BACKOFF_MS },
    ...(faults.length ? { agentHook: createSelfTest({ faults, seed: config.CHAOS_SELFTEST_SEED, agentTimeoutMs: config.CHAOS_AGENT_TIMEOUT_MS }) } : {}),
    maxConcurrent: config.CHAOS_MAX_CONCURRENT_INCIDENTS,
    remediation: {
      desk: new ApprovalDesk(),
      decide: (target, step) => decide(policy, { target, ...step }),
      take: (target, now) => limiter.take(target, now),
      audit: (incidentId, entry) => auditLog.append(incidentId, entry),
    },
    ...(overrides.observer ? { observer: overrides.observer } : {}),
  });
  const recovered = await incidents.recoverInterrupted();
  if (recovered.length) log.warn({ incidents: recovered }, 'Marked incidents interrupted by a previous crash');
  const experimentStore = new ExperimentStore(config.CHAOS_EXPERIMENTS_DIR);
  const experiments = new ExperimentService({
    store: experimentStore,
    incidents,
    incidentStore: store,
    targetsFile: config.CHAOS_TARGETS_FILE,
    keysDir: config.CHAOS_KEYS_DIR,
    output: report.services,
    log,
  });
  const interrupted = await experiments.recoverInterrupted();
  if (interrupted.length) log.warn({ experiments: interrupted }, 'Marked experiments interrupted by a previous crash');
  const gameDayStore = new GameDayStore(config.CHAOS_GAMEDAYS_DIR);
  const gamedays = new GameDayService({ store: gameDayStore, experiments, incidents, log: log.child({ component: 'gamedays' }) });
  const cutOff = await gamedays.recoverInterrupted();
  if (cutOff.length) log.warn({ gamedays: cutOff }, 'Marked game days interrupted by a previous crash');
  const alerts = new AlertService({
    incidents,
    store,
    memory: new AlertMemoryStore(config.CHAOS_STATE_DIR, log),
    // No targets file yet: every alert is unmapped, and the answer says so.
    targets: async () => (await loadTargets(config.CHAOS_TARGETS_FILE).catch(() => ({ targets: [] }))).targets,
    instanceLabel: config.CHAOS_ALERT_INSTANCE_LABEL,
    cooldownS: config.CHAOS_ALERT_COOLDOWN_S,
    log: log.child({ component: 'alerts' }),
  });
  const watches = new WatchService({
    incidents,
    appendTrace: (id, entry) => store.appendTrace(id, entry),
    targetsFile: config.CHAOS_TARGETS_FILE,
    keysDir: config.CHAOS_KEYS_DIR,
    references: new ReferenceStore(config.CHAOS_STATE_DIR, log),
    saved: new WatchStore(config.CHAOS_STATE_DIR, log),
    log,
  });
  // Watches running when the coordinator last stopped resume in the background (hosts down now are retried).
  const resumed = await watches.restore();
  if (resumed.length) log.info({ targets: resumed }, 'Resumed the watches saved before the restart');
  // Halt-all stops the watches too: nothing opens a new incident behind the halt.
  incidents.onHalt(async () => void (await watches.stopAll()));
  return {
    store,
    incidents,
    experiments,
    gamedays,
    alerts,
    watches,
    version: packageVersion(),
    close: async () => {
      await watches.close();
      // Game days, then experiments: nothing may open a new incident while incidents drain.
      await gamedays.drain();
      await experiments.drain();
      await incidents.drain();
      await alerts.flush();
      await report.close();
    },
  };
}

/** The report services with each PDF render timed for the metrics. */
function timedServices(services: AgentServices, observer: CoordinatorObserver): AgentServices {
  const render = services.renderPdf;
  if (!render) return services;
  return {
    ...services,
    renderPdf: async (doc) => {
      const started = performance.now();
      try {
        const bytes = await render(doc);
        observer.recordReportRender({ format: 'pdf', outcome: 'ok', durationMs: performance.now() - started });
        return bytes;
      } catch (error) {
        observer.recordReportRender({ format: 'pdf', outcome: 'failed', durationMs: performance.now() - started });
        throw error;
      }
    },
  };
}

/** Our package.json is one level up from src/ and two from dist/src/. */
function packageVersion(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'chaos-handler' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}
