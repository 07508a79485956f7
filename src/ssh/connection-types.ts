/**
 * The vocabulary of an SSH connection: what it connects to, how it is tuned, and what a command
 * gives back. Shared by the connection, its channel runs and every caller of ssh/.
 */
import type { Logger } from 'pino';
import type { HostKey } from './host-key.js';
import type { ResolvedTarget } from './targets.js';

/** What the connection needs from a target; tests may build one for 127.0.0.1 directly. */
export type ConnectTarget = Pick<ResolvedTarget, 'host' | 'address' | 'port' | 'user' | 'privateKey' | 'hostKeys'> & {
  name?: string;
  revokedHostKeys?: readonly HostKey[];
};

export type ReconnectPolicy = {
  /** First wait after the link drops. Default 250 ms. */
  initialDelayMs?: number;
  /** The wait doubles up to this. Default 5 s. */
  maxDelayMs?: number;
  /** Attempts before giving up; queued commands then fail. Default 8. */
  maxAttempts?: number;
};

export type SshConnectionOptions = {
  target: ConnectTarget;
  logger: Logger;
  /** Accept the key of a host that has none enrolled, and report it for persisting. Default false. */
  trustOnFirstUse?: boolean;
  /** Deadline for TCP connect + handshake + authentication. Default 10 s. */
  readyTimeoutMs?: number;
  /** SSH-level keepalive; the link counts as dropped after `keepaliveCountMax` unanswered. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Concurrent exec channels, 1..9 (OpenSSH's MaxSessions defaults to 10). Default 8. */
  maxChannels?: number;
  reconnect?: ReconnectPolicy;
  /** After a deadline or abort: time between SIGTERM and SIGKILL + channel close. Default 1 s. */
  killGraceMs?: number;
  /** Deadline of a command when the caller gives none. Default 60 s. */
  defaultTimeoutMs?: number;
  /** Called once per exec/stream when it ends, whatever the outcome (metrics); must not throw. */
  onCommand?: (event: CommandEvent) => void;
};

/** How one command ended, for observers: `transport` means the link failed under it. */
export type CommandEvent = { outcome: ExecOutcome | 'transport'; exitCode: number | null; durationMs: number };

export type ExecOutcome = 'exited' | 'signalled' | 'timeout' | 'aborted' | 'unknown';

export type ExecResult = {
  command: string;
  exitCode: number | null;
  /** As ssh2 reports it, e.g. "SIGTERM". */
  signal: string | null;
  /** `unknown`: the channel closed without an exit status or signal; never treat it as success. */
  outcome: ExecOutcome;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
};

export type ExecOptions = {
  /** Deadline from the call (queue wait included). */
  timeoutMs?: number;
  /** Kept per stream (head and tail); the rest is read and dropped. Default 1 MiB. */
  maxOutputBytes?: number;
  stdin?: string | Buffer;
  signal?: AbortSignal;
};

export type StreamOptions = {
  /** Deadline for the whole stream. Default 30 min. */
  timeoutMs?: number;
  /** Longer lines are dropped (counted in `droppedLines`). Default 64 KiB. */
  maxLineBytes?: number;
  /** stderr kept (tail). Default 64 KiB. */
  maxStderrBytes?: number;
  signal?: AbortSignal;
};

export type StreamResult = ExecResult & { lines: number; droppedLines: number };

export type StreamHandle = {
  /** Ends the remote process (SIGTERM, EOF, then SIGKILL + close) and resolves with the result. */
  stop: () => Promise<StreamResult>;
  /** Settles when the channel is closed; rejects when the link drops or `onLine` throws. */
  done: Promise<StreamResult>;
};

export type SshStats = {
  connectionsOpened: number;
  channelsOpened: number;
  /** Highest number of channels in use (or being opened) at once. */
  maxConcurrentChannels: number;
  /** Successful reconnections after a drop. */
  reconnects: number;
  /** exec and stream calls. */
  commands: number;
  /** Commands that did not exit 0 (timeouts, signals, unknown, transport errors); stopped streams excluded. */
  failures: number;
  activeChannels: number;
  queued: number;
};

export type ConnectInfo = {
  hostKey: { type: string; fingerprint: string; line: string };
  /** True when the key was accepted by trust-on-first-use: persist `hostKey.line` to enroll it. */
  learned: boolean;
};

export type ConnectionState = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'failed' | 'closed';
