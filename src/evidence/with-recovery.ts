import type { Evidence } from './schema.js';
import type { RecoveryWindow } from './source.js';

/** The evidence of an incident with its recovery window after the revert added. */
export function withRecovery(evidence: Evidence, recovery: RecoveryWindow): Evidence {
  return {
    ...evidence,
    windows: recovery.window ? { ...evidence.windows, recovery: recovery.window } : evidence.windows,
    fault_reverted_at: recovery.fault_reverted_at ?? evidence.fault_reverted_at,
    samples: [...evidence.samples, ...recovery.samples],
    probes: [...evidence.probes, ...recovery.probes],
  };
}
