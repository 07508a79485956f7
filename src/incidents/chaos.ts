/**
 * Injects and reverts one fault on one host. Implementations arm the host-side failsafe before
 * injecting (SPEC §8), so a dead coordinator never leaves chaos running.
 */
export interface ChaosController {
  /** What will be injected, for the trace ("cpu_spike on sre-demo@10.0.0.2: 2 workers, 60 s"). */
  readonly description: string;
  /** Arms the failsafe, injects, and returns what the host reported. */
  inject(signal: AbortSignal): Promise<string>;
  /** Idempotent; never throws: a failed revert is a result the incident records. */
  revert(): Promise<{ ok: boolean; detail: string }>;
  /** Whether the host still holds the fault's run (closed loops: did the fix leave anything?). */
  status?(): Promise<{ running: boolean; detail: string }>;
  /** Stops renewing the lease without a revert: nothing is left to revert. */
  release?(): void;
}
