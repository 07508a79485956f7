import { stat } from 'node:fs/promises';
import { SshChaosController } from '../chaos/ssh-chaos-controller.js';
import { HOST_SCRIPTS, isFaultScenario, scenarioArgs, ALLOWED_HOST_SCRIPTS } from '../chaos/host-scripts.js';
import { InputError, errorMessage } from '../errors.js';
import { serializeBundle } from '../evidence/bundle.js';
import { firstDb, probePlan } from '../evidence/probes.js';
import { SshEvidenceSource } from '../evidence/ssh/ssh-evidence-source.js';
import type { Findings } from '../agents/findings.js';
import type { Evidence } from '../evidence/schema.js';
import { buildReference } from '../reference/build-reference.js';
import type { Logger } from '../logger.js';
import type { SshConnection } from '../ssh/connection.js';
import { buildCommand } from '../ssh/quote.js';
import { sshCommandOutcome, type SshCommandObserver } from '../observability/observers.js';
import { connectTarget, type ConnectedTarget } from '../ssh/connect-target.js';
import { loadTargets } from '../ssh/targets.js';
import type { IncidentStore } from '../store/incident-store.js';
import type { ReferenceStore } from '../store/reference-store.js';
import type { OpenedTarget, TargetConnector } from './incident-service.js';
import type { IncidentRecord } from '../domain/index.js';
import type { StartIncidentRequest } from './schema.js';
import type { Remediation } from '../domain/index.js';
import { recoverPlan } from '../remediation/engine.js';
import { SshRemediationHost } from '../remediation/host.js';

export type SshConnectorOptions = {
  targetsFile: string;
  keysDir: string;
  store: IncidentStore;
  /** The lease the coordinator renews; the host reverts by itself when it runs out. */
  leaseS?: number;
  /** Known-good references: loaded for each run, refreshed after a run diagnosed healthy. */
  references: ReferenceStore;
  /** Told of every remote command (Prometheus /metrics). */
  observer?: SshCommandObserver;
};

/**
 * Opens live targets: checks enrolment and host keys, then one SSH connection per incident that
 * the evidence source and the chaos controller share (and that the source closes at the end).
 */
export class SshConnector implements TargetConnector {
  constructor(private readonly options: SshConnectorOptions) {}

  async open(request: StartIncidentRequest, log: Logger): Promise<OpenedTarget> {
    if (!request.target_vm) throw new InputError('target_vm is required for a live incident', 'target_vm');
    const { connection, target } = await this.connect(request.target_vm, log);
    const hostLabel = `${target.user}@${target.name} (${target.address}:${target.port})`;
    const connectionLog = log.child({ target: target.name });

    const o = request.options;
    const reference = await this.options.references.load(target.name);
    const leaseS = this.options.leaseS ?? 30;
    const source = new SshEvidenceSource(connection, {
      host: hostLabel,
      probes: probePlan(target.services, reference),
      reference,
      // Enough for every window plus the agents; the sampler also dies with its channel.
      maxSeconds: o.baseline_s + o.observe_s + o.recovery_s + 600,
      log: connectionLog,
    });
    const chaos = isFaultScenario(request.scenario)
      ? new SshChaosController(connection, {
          scenario: request.scenario,
          args: scenarioArgs(request.scenario, o, { db: firstDb(target.services) }),
          maxRuntimeS: o.max_runtime_s,
          leaseS,
          host: hostLabel,
          log: connectionLog,
        })
      : null;
    return {
      target: { kind: 'ssh', name: target.name, host: target.address, port: target.port, user: target.user },
      source,
      chaos,
      // The fix runs over the incident's own connection, through the same guarded exec.
      ...(o.remediation !== 'none' ? { remediation: new SshRemediationHost(connection, hostLabel) } : {}),
      ...(o.record ? { record: (incidentId: string, evidence: Evidence) => this.record(incidentId, request, hostLabel, evidence) } : {}),
      // Only a run that injected nothing may become the host's normal: a fault that went
      // undetected must never be learned as "known good".
      ...(request.scenario === 'investigate' ? { onDiagnosis: (incidentId: string, evidence: Evidence, findings: Partial<Findings>) => this.learnHealthy(target.name, incidentId, evidence, findings) } : {}),
    };
  }

  /**
   * After a crash: reconnect to the host of an unfinished incident and revert whatever chaos it
   * may have left (every scenario's stop is idempotent), then verify.
   */
  async reconcile(record: IncidentRecord, log: Logger): Promise<{ ok: boolean; detail: string }> {
    if (record.target.kind !== 'ssh' || !isFaultScenario(record.scenario)) return { ok: true, detail: 'nothing to revert' };
    let connection: SshConnection | null = null;
    try {
      ({ connection } = await this.connect({ name: record.target.name }, log));
      const script = HOST_SCRIPTS[record.scenario];
      const command = (verb: string) => buildCommand(script, [verb], { allowedScripts: ALLOWED_HOST_SCRIPTS, sudo: true });
      const stop = await connection.exec(command('stop'), { timeoutMs: 60_000 });
      const status = await connection.exec(command('status'), { timeoutMs: 30_000 });
      const stopped = /"state"\s*:\s*"stopped"/.test(status.stdout);
      return stop.exitCode === 0 && stopped
        ? { ok: true, detail: `${record.scenario} stopped and verified after restart` }
        : { ok: false, detail: `${record.scenario} stop exited ${stop.exitCode ?? stop.outcome}; status: ${status.stdout.trim().slice(0, 200)}` };
    } catch (error) {
      return { ok: false, detail: `could not reconcile: ${errorMessage(error)}` };
    } finally {
      await connection?.close();
    }
  }

  /** After a crash: reconnects and settles a remediation that was applying or verifying. */
  async recoverRemediation(record: IncidentRecord, plan: Remediation, log: Logger): Promise<Remediation> {
    if (record.target.kind !== 'ssh') return plan;
    const { connection, target } = await this.connect({ name: record.target.name }, log);
    try {
      let settled = plan;
      await recoverPlan(plan, {
        host: new SshRemediationHost(connection, `${target.user}@${target.name}`),
        persist: async (next) => {
          settled = next;
          await this.options.store.saveRecord({ ...record, remediation: next, updated_at: new Date().toISOString() });
        },
      });
      return settled;
    } finally {
      await connection.close();
    }
  }

  /** Enrolment and host key checked before any session; the connection is closed if connect fails. */
  private async connect(targetVm: NonNullable<StartIncidentRequest['target_vm']>, log: Logger): Promise<ConnectedTarget> {
    const exists = await stat(this.options.targetsFile).then(() => true, () => false);
    if (!exists) {
      throw new InputError(`No targets are enrolled: ${this.options.targetsFile} does not exist (npm run sandbox:up enrols the sandbox; chaos-handler enroll enrols any other host, see vm_provisioning/DROPLET.md)`, 'target_vm');
    }
    const { targets } = await loadTargets(this.options.targetsFile);
    const observer = this.options.observer;
    const name = 'name' in targetVm ? targetVm.name : targetVm.host;
    return connectTarget(targetVm, {
      targets,
      keysDir: this.options.keysDir,
      logger: log.child({ component: 'ssh' }),
      ...(observer
        ? {
            connection: {
              onCommand: (e) =>
                observer.recordSshCommand({ host: name, outcome: e.outcome === 'transport' ? 'failed' : sshCommandOutcome({ outcome: e.outcome, exitCode: e.exitCode }), durationMs: e.durationMs }),
            },
          }
        : {}),
    });
  }

  /** A live investigation diagnosed healthy becomes the target's known-good reference. */
  private async learnHealthy(target: string, incidentId: string, evidence: Evidence, findings: Partial<Findings>): Promise<string | null> {
    if (findings.FixerAgent?.root_cause.category !== 'healthy' || !evidence.inventory) return null;
    const windows = [evidence.windows.baseline, evidence.windows.incident];
    const reference = buildReference({
      target,
      source: 'healthy_run',
      incidentId,
      takenAt: new Date(evidence.windows.incident.end),
      inventory: evidence.inventory,
      samples: evidence.samples,
      probes: evidence.probes,
      logs: [...evidence.logs.baseline, ...evidence.logs.incident],
      windowS: windows.reduce((n, w) => n + Math.max(0, (Date.parse(w.end) - Date.parse(w.start)) / 1000), 0),
    });
    const file = await this.options.references.save(reference);
    return `known-good reference of ${target} refreshed from this healthy run (${file})`;
  }

  /** --record: the evidence this run collected, saved as an offline bundle in the incident folder. */
  private async record(incidentId: string, request: StartIncidentRequest, host: string, evidence: Evidence): Promise<void> {
    const manifest = {
      format_version: 1 as const,
      label: request.scenario,
      host,
      recorded_from: host.includes('@sandbox ') ? ('sandbox' as const) : ('vm' as const),
      recorded_at: new Date().toISOString(),
      windows: evidence.windows,
      fault_started_at: evidence.fault_started_at,
      fault_reverted_at: evidence.fault_reverted_at,
    };
    for (const file of serializeBundle(manifest, evidence)) await this.options.store.writeArtifact(incidentId, `bundle/${file.name}`, file.content);
  }
}
