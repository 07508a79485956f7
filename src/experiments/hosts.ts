/**
 * The experiment's own SSH sessions to its targets (probes on the host, rollbacks): one
 * connection per enrolled target, opened on first use, through the same policy as incidents
 * (enrolment, host key, keys directory); commands are fixed programs with quoted values.
 */
import { stat } from 'node:fs/promises';
import { ALLOWED_HOST_SCRIPTS, HOST_SCRIPTS } from '../chaos/host-scripts.js';
import { InputError } from '../errors.js';
import type { Logger } from '../logger.js';
import { buildCommand, connectTarget, loadTargets, type SshConnection } from '../ssh/index.js';
import type { HostExec } from './probes.js';

export type ExperimentHostsOptions = { targetsFile: string; keysDir: string; log: Logger };

export class ExperimentHosts {
  private readonly connections = new Map<string, Promise<SshConnection>>();

  constructor(private readonly options: ExperimentHostsOptions) {}

  /** Every target must be enrolled before the experiment starts: checked here, not mid-run. */
  async assertEnrolled(targets: readonly string[]): Promise<void> {
    const exists = await stat(this.options.targetsFile).then(() => true, () => false);
    if (!exists) throw new InputError(`No targets are enrolled: ${this.options.targetsFile} does not exist`, 'targets');
    const { targets: enrolled } = await loadTargets(this.options.targetsFile);
    targets.forEach((name, i) => {
      if (!enrolled.some((t) => t.name === name)) throw new InputError(`target "${name}" is not enrolled (chaos-handler enroll)`, `targets.${i}`);
    });
  }

  /** The enrolled address of a target (for the load's and HTTP probes' URL check). */
  async addressOf(name: string): Promise<string | null> {
    const { targets } = await loadTargets(this.options.targetsFile);
    return targets.find((t) => t.name === name)?.host ?? null;
  }

  readonly exec: HostExec = async (target, command, timeoutMs, signal) => {
    const connection = await this.connection(target);
    const result = await connection.exec(command, { timeoutMs, maxOutputBytes: 256 * 1024, ...(signal ? { signal } : {}) });
    return { exitCode: result.exitCode, outcome: result.outcome, stdout: result.stdout, stderr: result.stderr };
  };

  /** `cleanup_all.sh`: stops every chaos on the host and restores its services. */
  async cleanupAll(target: string): Promise<{ ok: boolean; detail: string }> {
    const command = buildCommand(HOST_SCRIPTS.cleanup_all, [], { allowedScripts: ALLOWED_HOST_SCRIPTS, sudo: true });
    const result = await this.exec(target, command, 120_000);
    const ok = result.outcome === 'exited' && result.exitCode === 0;
    return { ok, detail: ok ? `cleanup_all on ${target}: done` : `cleanup_all on ${target}: ${result.outcome} ${result.exitCode ?? ''} ${result.stderr.trim().slice(-200)}` };
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((c) => c.then((conn) => conn.close()).catch(() => undefined)));
  }

  private connection(name: string): Promise<SshConnection> {
    let pending = this.connections.get(name);
    if (!pending) {
      pending = (async () => {
        const { targets } = await loadTargets(this.options.targetsFile);
        const { connection } = await connectTarget({ name }, { targets, keysDir: this.options.keysDir, logger: this.options.log.child({ component: 'ssh', target: name }) });
        return connection;
      })();
      // A failed connect is not cached: the next probe tries again.
      pending.catch(() => this.connections.delete(name));
      this.connections.set(name, pending);
    }
    return pending;
  }
}
