import { stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError, NotFoundError } from '../errors.js';
import { OfflineEvidenceSource } from '../evidence/offline/offline-source.js';
import type { Logger } from '../logger.js';
import type { OpenedTarget, TargetConnector } from './incident-service.js';
import type { IncidentRecord, Remediation } from '../domain/index.js';
import type { StartIncidentRequest } from './schema.js';

/** The bundle an offline incident replays when none is named: the scenario's own recording. */
export function defaultBundleName(request: StartIncidentRequest): string {
  return request.options.bundle ?? (request.scenario === 'investigate' ? 'healthy' : request.scenario);
}

/**
 * Offline requests replay a bundle from the examples directory (by name only: a request can
 * never point the coordinator at an arbitrary path). `bundleDir` lets the CLI, whose user owns
 * the machine, replay any folder.
 */
export class OfflineConnector implements TargetConnector {
  constructor(private readonly options: { examplesDir: string; bundleDir?: string }) {}

  async open(request: StartIncidentRequest): Promise<OpenedTarget> {
    const dir = this.options.bundleDir ? path.resolve(this.options.bundleDir) : bundleInside(this.options.examplesDir, defaultBundleName(request));
    const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
    if (!isDir) throw new NotFoundError(`No evidence bundle ${this.options.bundleDir ? dir : JSON.stringify(defaultBundleName(request))}`);
    const source = new OfflineEvidenceSource(dir, request.options.replay_speed ? { replaySpeed: request.options.replay_speed } : {});
    return { target: { kind: 'offline', bundle: path.relative(process.cwd(), dir) || dir }, source, chaos: null };
  }
}

/** Routes offline requests to bundles and live ones to the SSH connector. */
export class RoutingConnector implements TargetConnector {
  constructor(
    private readonly offline: TargetConnector,
    private readonly live: TargetConnector | null,
    private readonly liveUnavailableReason: string,
  ) {}

  open(request: StartIncidentRequest, log: Logger): Promise<OpenedTarget> {
    if (request.options.offline) return this.offline.open(request, log);
    if (!this.live) throw new InputError(`Live targets are unavailable: ${this.liveUnavailableReason}`, 'target_vm');
    return this.live.open(request, log);
  }

  async recoverRemediation(record: IncidentRecord, plan: Remediation, log: Logger): Promise<Remediation> {
    if (record.target.kind === 'offline' || !this.live?.recoverRemediation) return plan;
    return this.live.recoverRemediation(record, plan, log);
  }

  async reconcile(record: IncidentRecord, log: Logger): Promise<{ ok: boolean; detail: string }> {
    if (record.target.kind === 'offline') return { ok: true, detail: 'offline: nothing was injected' };
    if (!this.live?.reconcile) return { ok: false, detail: `live targets are unavailable: ${this.liveUnavailableReason}` };
    return this.live.reconcile(record, log);
  }
}

function bundleInside(examplesDir: string, name: string): string {
  const base = path.resolve(examplesDir);
  const dir = path.resolve(base, name);
  const rel = path.relative(base, dir);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new NotFoundError(`No evidence bundle ${JSON.stringify(name)}`);
  return dir;
}
