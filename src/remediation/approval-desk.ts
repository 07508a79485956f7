import { ConflictError } from '../errors.js';
import type { Remediation } from '../domain/index.js';

export type Decision = { kind: 'approve'; approver: string; steps?: string[] | undefined } | { kind: 'reject'; by: string; reason?: string | undefined };

/** Validates and records a decision for one waiting plan; throws InputError/ConflictError to the caller. */
export type DecisionHandler = (decision: Decision) => Promise<Remediation>;

/**
 * Where a running incident waits for a person's decision on its plan. The pipeline owns the
 * record, so the decision is handed to it (its handler checks and persists it) rather than
 * written beside it: two writers of one incident.json would lose each other's changes.
 */
export class ApprovalDesk {
  private readonly waiting = new Map<string, DecisionHandler>();

  /** Opens the desk for an incident until `close` is called. */
  open(incidentId: string, handler: DecisionHandler): () => void {
    this.waiting.set(incidentId, handler);
    return () => {
      if (this.waiting.get(incidentId) === handler) this.waiting.delete(incidentId);
    };
  }

  isWaiting(incidentId: string): boolean {
    return this.waiting.has(incidentId);
  }

  async submit(incidentId: string, decision: Decision): Promise<Remediation> {
    const handler = this.waiting.get(incidentId);
    if (!handler) throw new ConflictError(`Incident ${incidentId} has no remediation awaiting a decision`);
    return handler(decision);
  }
}
