/** The shared domain model: taxonomy, incident record, trace entry. Imports nothing of the project. */
export * from './incident-id.js';
export * from './incident.js';
export * from './remediation.js';
export * from './taxonomy.js';
export * from './timings.js';
export * from './trace.js';
