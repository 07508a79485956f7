export { createMetrics, type CoordinatorMetrics } from './metrics.js';
export { noopObserver, sshCommandOutcome, type CoordinatorObserver, type IncidentObserver, type ReportObserver, type SshCommandObserver, type SshCommandOutcome } from './observers.js';
