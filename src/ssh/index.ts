/**
 * ssh/: the only way the coordinator talks to hosts.
 *
 * - policy: `loadTargets`, `resolveTarget` (enrollment, forbidden addresses, keys directory)
 * - mechanism: `SshConnection` (host-key check, channel pool, reconnect; connection.ts), each
 *   command a `ChannelRun` (deadline, kill sequence, bounded output; channel-run.ts), their
 *   vocabulary in connection-types.ts
 * - per incident: `createConnectionRegistry` (one shared connection per host)
 * - command lines: `buildCommand`, `shellQuote`
 * - enrolment: `enrollTarget` (check, log in once, then write), `addTarget` (the pure file edit),
 *   `describeTargets` (what is enrolled, with fingerprints)
 */
export { isForbiddenAddress, isForbiddenHost } from './address-policy.js';
export {
  SshConnection,
  type ConnectInfo,
  type ConnectTarget,
  type ConnectionState,
  type ExecOptions,
  type ExecOutcome,
  type ExecResult,
  type ReconnectPolicy,
  type SshConnectionOptions,
  type SshStats,
  type StreamHandle,
  type StreamOptions,
  type StreamResult,
} from './connection.js';
export { HostKeyMismatchError, SshConnectionError, type SshFailureKind } from './errors.js';
export {
  blobKeyType,
  createHostKeyVerifier,
  fingerprintSha256,
  formatPublicKeyLine,
  hostKeyAlgorithms,
  parseKnownHosts,
  parsePublicKeyLine,
  type HostKey,
  type HostKeyDecision,
  type HostKeyVerifier,
  type HostKeyVerifierOptions,
  type KnownHostsMatch,
} from './host-key.js';
export { KEY_NOT_AVAILABLE, readKeyFile } from './key-file.js';
export { CHAOS_SCRIPTS_DIR, buildCommand, shellQuote, type BuildCommandOptions } from './quote.js';
export { connectTarget, type ConnectTargetDeps, type ConnectedTarget, type ConnectionDefaults } from './connect-target.js';
export { addTarget, assertCanAddTarget, type AddTargetOptions, type AddTargetResult, type TargetsDocument } from './add-target.js';
export { describeTargets, type TargetDescription, type TrustedKey } from './describe-targets.js';
export { LOGIN_CHECK_COMMAND, enrollTarget, type EnrollResult, type EnrollTargetDeps } from './enroll-target.js';
export { readTargetsDocument, writeTargetsDocument } from './targets-file.js';
export {
  EnrollRequest,
  EnrolledTarget,
  KeyName,
  OpenSshPublicKeyLine,
  TargetByAddress,
  TargetByName,
  TargetRequest,
  TargetServices,
  TargetsFile,
} from './schema.js';
export {
  NOT_ENROLLED,
  loadTargets,
  resolveTarget,
  type LookupAddresses,
  type ResolveTargetDeps,
  type ResolvedTarget,
} from './targets.js';
