import { z } from 'zod';
import { ConflictError, InputError, RemoteCommandError, errorMessage } from '../errors.js';
import type { ChaosController } from '../incidents/chaos.js';
import type { Logger } from '../logger.js';
import type { SshConnection } from '../ssh/connection.js';
import { buildCommand } from '../ssh/quote.js';
import { ALLOWED_HOST_SCRIPTS, HOST_SCRIPTS, type FaultScenario } from './host-scripts.js';

/** The one JSON line every scenario script prints for `status` (chaos-scripts/README.md). */
export const ScriptStatus = z.object({
  scenario: z.string(),
  state: z.enum(['running', 'stopped']),
  pid: z.number().int().nullable(),
  started_at: z.string().nullable(),
  deadline: z.string().nullable(),
  lease_expires_at: z.string().nullable(),
  detail: z.string().optional().default(''),
});
export type ScriptStatus = z.infer<typeof ScriptStatus>;

export type SshChaosOptions = {
  scenario: FaultScenario;
  args: string[];
  maxRuntimeS: number;
  /** The host reverts by itself when the lease is not renewed for this long. */
  leaseS: number;
  /** For errors and the trace: "sre-demo@sandbox (10.213.7.2:22)". */
  host: string;
  log: Logger;
};

const COMMAND_TIMEOUT_MS = 60_000;

/**
 * Runs a scenario script on the host. The script arms its own watchdog (max runtime + lease)
 * before injecting; this controller renews the lease while the incident lives, so a dead
 * coordinator or a dropped link ends the fault on the host within one lease.
 */
export class SshChaosController implements ChaosController {
  readonly description: string;
  private renewTimer: NodeJS.Timeout | null = null;
  private injected = false;

  constructor(
    private readonly connection: SshConnection,
    private readonly options: SshChaosOptions,
  ) {
    this.description = `${options.scenario} (${options.args.map((a) => (a.includes('://') ? '<conn>' : a)).join(' ')}), failsafe ${options.maxRuntimeS} s, lease ${options.leaseS} s`;
  }

  async inject(signal: AbortSignal): Promise<string> {
    const script = HOST_SCRIPTS[this.options.scenario];
    const command = this.command(script, ['start', '--max-runtime', String(this.options.maxRuntimeS), '--lease', String(this.options.leaseS), ...this.options.args]);
    // Counted as injected before the call returns: a timeout may still have started the fault.
    this.injected = true;
    const result = await this.connection.exec(command, { timeoutMs: COMMAND_TIMEOUT_MS, signal });
    if (result.outcome !== 'exited' || result.exitCode !== 0) {
      const message = result.stderr.trim().split('\n').slice(-3).join(' ') || `exit ${result.exitCode ?? result.outcome}`;
      if (result.exitCode === 2) throw new InputError(`${this.options.scenario}: ${message}`, 'options');
      if (result.exitCode === 3) throw new ConflictError(`${this.options.scenario} is already running on the host: ${message}`);
      throw new RemoteCommandError(`${this.options.scenario} could not start: ${message}`, {
        host: this.options.host,
        command: `${script} start`,
        exitCode: result.exitCode,
        signal: result.signal,
        stderrTail: result.stderr.slice(-2048),
      });
    }
    this.startRenewing();
    const status = parseStatus(result.stdout);
    return status ? `${status.scenario} ${status.state}${status.pid ? ` (pid ${status.pid})` : ''}, host deadline ${status.deadline ?? '?'}: ${status.detail}` : result.stdout.trim().slice(0, 300);
  }

  async revert(): Promise<{ ok: boolean; detail: string }> {
    this.stopRenewing();
    if (!this.injected) return { ok: true, detail: 'nothing was injected' };
    const script = HOST_SCRIPTS[this.options.scenario];
    try {
      const stop = await this.connection.exec(this.command(script, ['stop']), { timeoutMs: COMMAND_TIMEOUT_MS });
      const check = await this.connection.exec(this.command(script, ['status']), { timeoutMs: COMMAND_TIMEOUT_MS });
      const status = parseStatus(check.stdout);
      if (stop.outcome === 'exited' && stop.exitCode === 0 && status?.state === 'stopped') {
        return { ok: true, detail: `${this.options.scenario} stopped and verified: ${status.detail}` };
      }
      return {
        ok: false,
        detail: `${this.options.scenario} stop ${stop.outcome} (exit ${stop.exitCode ?? '?'}), status ${status?.state ?? 'unreadable'}: ${stop.stderr.trim().slice(-300)}; the host watchdog reverts it within ${this.options.leaseS} s`,
      };
    } catch (error) {
      this.options.log.error({ err: error, scenario: this.options.scenario }, 'Revert failed');
      return { ok: false, detail: `revert failed: ${errorMessage(error)}; the host watchdog reverts it within ${this.options.leaseS} s` };
    }
  }

  async status(): Promise<{ running: boolean; detail: string }> {
    const check = await this.connection.exec(this.command(HOST_SCRIPTS[this.options.scenario], ['status']), { timeoutMs: COMMAND_TIMEOUT_MS });
    const status = parseStatus(check.stdout);
    if (!status) throw new Error(`${this.options.scenario} status unreadable: ${check.stdout.trim().slice(0, 200)}`);
    return { running: status.state === 'running', detail: status.detail };
  }

  release(): void {
    this.stopRenewing();
  }

  private startRenewing(): void {
    const every = Math.max(1000, (this.options.leaseS * 1000) / 3);
    const script = HOST_SCRIPTS[this.options.scenario];
    this.renewTimer = setInterval(() => {
      this.connection.exec(this.command(script, ['renew']), { timeoutMs: every }).then(
        (r) => {
          if (r.exitCode !== 0) this.options.log.warn({ outcome: r.outcome, exitCode: r.exitCode }, 'Lease renewal failed');
        },
        (error: unknown) => this.options.log.warn({ err: error }, 'Lease renewal failed'),
      );
    }, every);
    this.renewTimer.unref();
  }

  private stopRenewing(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
  }

  private command(script: string, args: string[]): string {
    return buildCommand(script, args, { allowedScripts: ALLOWED_HOST_SCRIPTS, sudo: true });
  }
}

export function parseStatus(stdout: string): ScriptStatus | null {
  for (const line of stdout.trim().split('\n').reverse()) {
    try {
      const parsed = ScriptStatus.safeParse(JSON.parse(line));
      if (parsed.success) return parsed.data;
    } catch {
      // not the status line
    }
  }
  return null;
}
