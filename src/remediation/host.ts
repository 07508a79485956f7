import type { RemedyAction } from '../domain/index.js';
import type { SshConnection } from '../ssh/connection.js';
import { buildCommand } from '../ssh/quote.js';
import { REMEDIES, REMEDY_SCRIPTS } from './catalog.js';

export type RemedyVerb = 'pin' | 'check' | 'apply' | 'verify' | 'rollback';

/** What one verb of a remediation script answered. */
export type RemedyResult = {
  /** `exited` with a code, or the transport's word (timeout, unknown…): never success then. */
  outcome: string;
  exitCode: number | null;
  output: string;
};

/** Exit codes of chaos-scripts/remediate/lib.sh. */
export const REMEDY_EXIT = { ok: 0, failed: 1, usage: 2, precondition: 5, unverified: 6 } as const;

/** Where remediation steps run: the host, through ssh/ (or a fake in unit tests). */
export interface RemediationHost {
  readonly label: string;
  run(action: RemedyAction, verb: RemedyVerb, args: readonly string[], signal?: AbortSignal): Promise<RemedyResult>;
}

/** Generous: a service start or a large delete can take a while; the scripts bound their own waits. */
const STEP_TIMEOUT_MS = 150_000;
const OUTPUT_CAP = 64 * 1024;

/** Each step is a fixed script under /opt/chaos-scripts/remediate/, run with sudo and quoted arguments. */
export class SshRemediationHost implements RemediationHost {
  constructor(
    private readonly connection: SshConnection,
    readonly label: string,
  ) {}

  async run(action: RemedyAction, verb: RemedyVerb, args: readonly string[], signal?: AbortSignal): Promise<RemedyResult> {
    const command = buildCommand(REMEDIES[action].script, [verb, ...args], { allowedScripts: REMEDY_SCRIPTS, sudo: true });
    const result = await this.connection.exec(command, { timeoutMs: STEP_TIMEOUT_MS, maxOutputBytes: OUTPUT_CAP, ...(signal ? { signal } : {}) });
    const output = [result.stdout.trim(), result.stderr.trim()].filter(Boolean).join('\n');
    return { outcome: result.outcome, exitCode: result.outcome === 'exited' ? result.exitCode : null, output };
  }
}
