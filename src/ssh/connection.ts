/**
 * Mechanism: one SSH connection to one host, shared by every agent of an incident. It verifies the
 * host key before authenticating, caps concurrent exec channels below OpenSSH's MaxSessions (10)
 * with a FIFO queue, gives every command a deadline and bounded output, and reconnects with
 * backoff when the link drops. Which hosts may be reached is decided before, in targets.ts.
 */
import type { Logger } from 'pino';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { InputError, RemoteCommandError, TimeoutError, errorMessage } from '../errors.js';
import { HostKeyMismatchError, SshConnectionError } from './errors.js';
import { createHostKeyVerifier, formatPublicKeyLine, hostKeyAlgorithms, type HostKey } from './host-key.js';
import { BoundedOutput, LineSplitter } from './output.js';
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

type SignalName = 'TERM' | 'KILL';

/** One TCP connection; replaced on reconnect. Runs remember theirs to tell a dead link. */
type Link = { client: Client; alive: boolean };

type Waiter = { start: (link: Link) => void; fail: (error: Error) => void };

const DEFAULTS = {
  readyTimeoutMs: 10_000,
  keepaliveIntervalMs: 5_000,
  keepaliveCountMax: 3,
  maxChannels: 8,
  killGraceMs: 1_000,
  defaultTimeoutMs: 60_000,
  streamTimeoutMs: 30 * 60_000,
  maxOutputBytes: 1024 * 1024,
  maxLineBytes: 64 * 1024,
  maxStderrBytes: 64 * 1024,
  initialDelayMs: 250,
  maxDelayMs: 5_000,
  maxAttempts: 8,
} as const;

/** After the kill sequence, how long to wait for the server's close before giving the result. */
const CLOSE_WAIT_MS = 2_000;
const STDERR_TAIL_BYTES = 2_048;
/** Retries of a refused channel open (the command never started) before giving up. */
const MAX_OPEN_RETRIES = 10;

export class SshConnection {
  private readonly log: Logger;
  private readonly target: ConnectTarget;
  private readonly trusted: HostKey[];
  private readonly options: SshConnectionOptions;
  private readonly maxChannels: number;
  private state: ConnectionState = 'idle';
  private link: Link | undefined;
  private connecting: Promise<ConnectInfo> | undefined;
  private info: ConnectInfo | undefined;
  private failure: Error | undefined;
  private readonly queue: Waiter[] = [];
  /** connect() callers waiting for a reconnection in progress. */
  private readyWaiters: Array<{ resolve: (info: ConnectInfo) => void; reject: (error: Error) => void }> = [];
  private readonly inflight = new Set<ChannelRun>();
  private active = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private wakeReconnect: (() => void) | undefined;
  private readonly counters = {
    connectionsOpened: 0,
    channelsOpened: 0,
    maxConcurrentChannels: 0,
    reconnects: 0,
    commands: 0,
    failures: 0,
  };

  constructor(options: SshConnectionOptions) {
    const maxChannels = options.maxChannels ?? DEFAULTS.maxChannels;
    if (!Number.isInteger(maxChannels) || maxChannels < 1 || maxChannels > 9) {
      throw new RangeError('maxChannels must be an integer from 1 to 9 (below OpenSSH MaxSessions 10)');
    }
    this.options = options;
    this.maxChannels = maxChannels;
    this.target = options.target;
    this.trusted = [...options.target.hostKeys];
    this.log = options.logger.child({ host: options.target.host, port: options.target.port, target: options.target.name });
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  /** Opens the connection (one attempt). Resolves once authenticated; safe to call concurrently. */
  connect(): Promise<ConnectInfo> {
    if (this.state === 'closed') return Promise.reject(this.closedError());
    if (this.state === 'ready' && this.info) return Promise.resolve(this.info);
    if (this.connecting) return this.connecting;
    if (this.state === 'reconnecting') {
      return new Promise<ConnectInfo>((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
    }
    this.state = 'connecting';
    this.connecting = this.openLink()
      .then((info) => {
        if (this.state !== 'connecting') {
          // close() was called while connecting.
          this.link?.client.end();
          throw this.closedError();
        }
        this.state = 'ready';
        this.pump();
        return info;
      })
      .catch((error: unknown) => {
        const err = error instanceof Error ? error : new Error(String(error));
        if (this.state === 'connecting') {
          this.state = 'failed';
          this.failure = err;
          this.rejectQueue(err);
        }
        throw err;
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  /** Runs a command; resolves with its result whatever its exit status. Transport failures reject. */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const maxOutputBytes = options.maxOutputBytes ?? DEFAULTS.maxOutputBytes;
    const stdout = new BoundedOutput(maxOutputBytes);
    const run = new ChannelRun(this.runContext(), {
      command,
      timeoutMs: options.timeoutMs ?? this.options.defaultTimeoutMs ?? DEFAULTS.defaultTimeoutMs,
      stdin: options.stdin,
      signal: options.signal,
      onStdout: (chunk) => stdout.push(chunk),
      stderr: new BoundedOutput(maxOutputBytes),
      stdoutResult: () => ({ stdout: stdout.text(), stdoutTruncated: stdout.truncated }),
    });
    return this.track(run.start(), (r) => r.outcome === 'exited' && r.exitCode === 0);
  }

  /** Like `exec`, but anything other than exit status 0 throws `RemoteCommandError`. */
  async execOrThrow(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const result = await this.exec(command, options);
    if (result.outcome === 'exited' && result.exitCode === 0) return result;
    const cause =
      result.outcome === 'timeout'
        ? new TimeoutError('remote command timed out', options.timeoutMs ?? this.options.defaultTimeoutMs ?? DEFAULTS.defaultTimeoutMs)
        : undefined;
    throw new RemoteCommandError(
      describeFailure(result),
      {
        host: this.target.host,
        command,
        exitCode: result.exitCode,
        signal: result.signal,
        stderrTail: tailOf(result.stderr, STDERR_TAIL_BYTES),
      },
      { cause },
    );
  }

  /**
   * Runs a long-lived, line-oriented command (the host-side sampler) and calls `onLine` for each
   * line as it arrives. The channel holds one pool slot until it ends or `stop()` is called.
   */
  stream(command: string, onLine: (line: string) => void, options: StreamOptions = {}): StreamHandle {
    let callbackError: unknown;
    // The splitter needs the run (to stop it when onLine throws) and the run needs the splitter.
    const self: { run?: ChannelRun } = {};
    const splitter = new LineSplitter(options.maxLineBytes ?? DEFAULTS.maxLineBytes, (line) => {
      if (callbackError !== undefined) return;
      try {
        onLine(line);
      } catch (error) {
        callbackError = error;
        self.run?.interrupt('aborted');
      }
    });
    const activeRun = new ChannelRun(this.runContext(), {
      command,
      timeoutMs: options.timeoutMs ?? DEFAULTS.streamTimeoutMs,
      signal: options.signal,
      onStdout: (chunk) => splitter.push(chunk),
      onStdoutEnd: () => splitter.flush(),
      stderr: new BoundedOutput(options.maxStderrBytes ?? DEFAULTS.maxStderrBytes),
      stdoutResult: () => ({ stdout: '', stdoutTruncated: false }),
    });
    self.run = activeRun;
    let stopped = false;
    const done = this.track(
      activeRun.start().then((result): StreamResult => {
        if (callbackError !== undefined) throw callbackError;
        return { ...result, lines: splitter.delivered, droppedLines: splitter.dropped };
      }),
      (r) => (r.outcome === 'exited' && r.exitCode === 0) || stopped,
    );
    // The caller may only ever call stop(); the rejection is still delivered to whoever awaits.
    done.catch(() => undefined);
    return {
      done,
      stop: () => {
        stopped = true;
        activeRun.interrupt('aborted');
        return done;
      },
    };
  }

  stats(): SshStats {
    return { ...this.counters, activeChannels: this.active, queued: this.queue.length };
  }

  /**
   * Closes the connection for good: queued commands fail, running ones are sent SIGTERM and then
   * fail with a `closed` error. Resolves when the socket is closed.
   */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.reconnectTimer);
    this.wakeReconnect?.();
    this.rejectQueue(this.closedError());
    this.settleReadyWaiters(this.closedError());
    for (const run of this.inflight) run.signalRemote('TERM');
    const link = this.link;
    this.link = undefined;
    if (!link || !link.alive) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        link.client.destroy();
        resolve();
      }, CLOSE_WAIT_MS);
      link.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      link.client.end();
    });
  }

  // ---------------------------------------------------------------------------------------------

  private runContext(): RunContext {
    return {
      log: this.log,
      host: this.target.host,
      port: this.target.port,
      killGraceMs: this.options.killGraceMs ?? DEFAULTS.killGraceMs,
      enqueue: (waiter) => this.enqueue(waiter),
      dequeue: (waiter) => this.dequeue(waiter),
      requeue: (waiter) => {
        const blocked = this.linkError();
        if (blocked) {
          waiter.fail(blocked);
          return;
        }
        this.queue.unshift(waiter);
        this.pump();
      },
      release: () => {
        this.active -= 1;
        this.pump();
      },
      opened: (run) => {
        this.counters.channelsOpened += 1;
        this.inflight.add(run);
      },
      finished: (run) => this.inflight.delete(run),
      linkError: () => this.linkError(),
    };
  }

  private async track<T extends ExecResult>(promise: Promise<T>, ok: (value: T) => boolean): Promise<T> {
    this.counters.commands += 1;
    const started = performance.now();
    try {
      const value = await promise;
      if (!ok(value)) this.counters.failures += 1;
      this.options.onCommand?.({ outcome: value.outcome, exitCode: value.exitCode, durationMs: value.durationMs });
      return value;
    } catch (error) {
      this.counters.failures += 1;
      this.options.onCommand?.({ outcome: 'transport', exitCode: null, durationMs: Math.round(performance.now() - started) });
      throw error;
    }
  }

  private enqueue(waiter: Waiter): void {
    const blocked = this.linkError();
    if (blocked) {
      waiter.fail(blocked);
      return;
    }
    this.queue.push(waiter);
    this.pump();
  }

  private dequeue(waiter: Waiter): void {
    const i = this.queue.indexOf(waiter);
    if (i !== -1) this.queue.splice(i, 1);
  }

  /** Why no command can be queued right now, if so. */
  private linkError(): Error | undefined {
    switch (this.state) {
      case 'closed':
        return this.closedError();
      case 'idle':
        return new SshConnectionError('not connected: call connect() first', 'closed', this.target.host, this.target.port);
      case 'failed':
        return new SshConnectionError('connection failed; call connect() to retry', 'closed', this.target.host, this.target.port, {
          cause: this.failure,
        });
      default:
        return undefined;
    }
  }

  /** Starts queued commands, oldest first, while the link is up and slots are free. */
  private pump(): void {
    while (this.state === 'ready' && this.link?.alive && this.active < this.maxChannels && this.queue.length > 0) {
      const waiter = this.queue.shift();
      if (!waiter) break;
      this.active += 1;
      this.counters.maxConcurrentChannels = Math.max(this.counters.maxConcurrentChannels, this.active);
      waiter.start(this.link);
    }
  }

  private rejectQueue(error: Error): void {
    for (const waiter of this.queue.splice(0)) waiter.fail(error);
  }

  private closedError(): SshConnectionError {
    return new SshConnectionError('connection is closed', 'closed', this.target.host, this.target.port);
  }

  /** One connection attempt: TCP, host-key check, public-key auth. */
  private openLink(): Promise<ConnectInfo> {
    const { host, address, port, user, privateKey } = this.target;
    const verifier = createHostKeyVerifier({
      host,
      port,
      trusted: this.trusted,
      revoked: this.target.revokedHostKeys ?? [],
      trustOnFirstUse: this.options.trustOnFirstUse === true,
    });
    const serverHostKey = hostKeyAlgorithms(this.trusted);
    const config: ConnectConfig = {
      host: address,
      port,
      username: user,
      privateKey,
      authHandler: ['publickey'],
      hostVerifier: verifier.verify,
      readyTimeout: this.options.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs,
      keepaliveInterval: this.options.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs,
      keepaliveCountMax: this.options.keepaliveCountMax ?? DEFAULTS.keepaliveCountMax,
      ...(serverHostKey ? { algorithms: { serverHostKey } } : {}),
    };

    return new Promise<ConnectInfo>((resolve, reject) => {
      const client = new Client();
      const link: Link = { client, alive: true };
      let settled = false;
      let lastError: (Error & { level?: string; code?: string }) | undefined;

      const fail = (): void => {
        if (settled) return;
        settled = true;
        link.alive = false;
        client.destroy();
        const decision = verifier.decision();
        if (decision && !decision.ok) {
          this.log.warn(
            { fingerprint: decision.error.fingerprint, keyType: decision.error.keyType, reason: decision.error.reason },
            'ssh host key refused',
          );
          reject(decision.error);
          return;
        }
        reject(connectFailure(lastError, host, port));
      };

      client.on('ready', () => {
        settled = true;
        const decision = verifier.decision();
        if (!decision || !decision.ok) {
          // Unreachable: ssh2 only authenticates after the verifier accepted the key.
          link.alive = false;
          client.destroy();
          reject(new SshConnectionError('host key was not verified', 'handshake', host, port));
          return;
        }
        if (decision.learned) this.trusted.push(decision.key);
        this.counters.connectionsOpened += 1;
        this.link = link;
        this.info = {
          hostKey: { type: decision.key.type, fingerprint: decision.fingerprint, line: formatPublicKeyLine(decision.key) },
          learned: decision.learned,
        };
        this.log.info({ fingerprint: decision.fingerprint, learned: decision.learned }, 'ssh connected');
        resolve(this.info);
      });
      client.on('error', (error: Error & { level?: string }) => {
        if (!settled) {
          // ssh2 follows its handshake timeout with "Connection lost before handshake" when it
          // drops the socket: the timeout is the cause, keep it.
          if (lastError?.level !== 'client-timeout') lastError = error;
          return;
        }
        this.log.warn({ err: error.message, level: error.level }, 'ssh connection error');
      });
      client.on('close', () => {
        if (!settled) {
          fail();
          return;
        }
        this.onLinkClosed(link);
      });

      try {
        client.connect(config);
      } catch (error) {
        // ssh2 throws synchronously for an unusable private key; its message never holds the key.
        settled = true;
        link.alive = false;
        reject(new SshConnectionError('private key cannot be used', 'auth', host, port, { cause: error }));
      }
    });
  }

  private onLinkClosed(link: Link): void {
    if (!link.alive) return;
    link.alive = false;
    const lost = this.state !== 'closed';
    const error = lost
      ? new SshConnectionError('connection lost while the command was running; its outcome is unknown', 'lost', this.target.host, this.target.port)
      : this.closedError();
    for (const run of [...this.inflight]) {
      if (run.link === link) run.linkDown(error);
    }
    if (!lost || this.link !== link) return;
    this.link = undefined;
    this.log.warn({ inflight: this.inflight.size, queued: this.queue.length }, 'ssh link lost');
    this.state = 'reconnecting';
    void this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    const policy = this.options.reconnect ?? {};
    const maxAttempts = policy.maxAttempts ?? DEFAULTS.maxAttempts;
    const maxDelayMs = policy.maxDelayMs ?? DEFAULTS.maxDelayMs;
    let delayMs = policy.initialDelayMs ?? DEFAULTS.initialDelayMs;
    let lastError: Error = new SshConnectionError('reconnect did not start', 'closed', this.target.host, this.target.port);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      await new Promise<void>((resolve) => {
        this.wakeReconnect = resolve;
        this.reconnectTimer = setTimeout(resolve, delayMs);
      });
      this.wakeReconnect = undefined;
      if (this.state !== 'reconnecting') return;
      try {
        await this.openLink();
        if (this.state !== 'reconnecting') {
          // Closed while the attempt ran: drop the new link.
          this.link?.client.end();
          return;
        }
        this.counters.reconnects += 1;
        this.state = 'ready';
        this.log.info({ attempt }, 'ssh reconnected');
        this.settleReadyWaiters();
        this.pump();
        return;
      } catch (error) {
        lastError = error instanceof Error ? error : new Error(String(error));
        this.log.warn({ attempt, delayMs, err: errorMessage(error) }, 'ssh reconnect attempt failed');
        // A changed host key or a refused key will not fix itself: stop now.
        if (error instanceof HostKeyMismatchError || (error instanceof SshConnectionError && error.kind === 'auth')) break;
        delayMs = Math.min(delayMs * 2, maxDelayMs);
      }
    }
    if (this.state !== 'reconnecting') return;
    this.state = 'failed';
    this.failure = lastError;
    this.log.error({ err: errorMessage(lastError) }, 'ssh reconnect gave up');
    const gaveUp = new SshConnectionError('connection lost and reconnecting failed', 'closed', this.target.host, this.target.port, {
      cause: lastError,
    });
    this.settleReadyWaiters(gaveUp);
    this.rejectQueue(gaveUp);
  }

  private settleReadyWaiters(error?: Error): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const waiter of waiters) {
      if (error || !this.info) waiter.reject(error ?? this.closedError());
      else waiter.resolve(this.info);
    }
  }
}

// -------------------------------------------------------------------------------------------------

type RunContext = {
  log: Logger;
  host: string;
  port: number;
  killGraceMs: number;
  enqueue: (waiter: Waiter) => void;
  dequeue: (waiter: Waiter) => void;
  /** Puts a waiter back at the head of the queue (its channel open was refused). */
  requeue: (waiter: Waiter) => void;
  /** Frees the pool slot taken when the waiter was started. */
  release: () => void;
  opened: (run: ChannelRun) => void;
  finished: (run: ChannelRun) => void;
  /** Non-undefined when the connection can no longer run anything (closed or given up). */
  linkError: () => Error | undefined;
};

type RunSpec = {
  command: string;
  timeoutMs: number;
  stdin?: string | Buffer;
  signal?: AbortSignal;
  onStdout: (chunk: Buffer) => void;
  onStdoutEnd?: () => void;
  stderr: BoundedOutput;
  stdoutResult: () => { stdout: string; stdoutTruncated: boolean };
};

/**
 * One command on one channel, from queueing to close. Settles exactly once; releases its pool slot
 * exactly once, when the server has closed the channel or the link is gone (not earlier: until then
 * the server still counts the session against MaxSessions).
 */
class ChannelRun {
  link: Link | undefined;
  private channel: ClientChannel | undefined;
  private readonly startedAt = performance.now();
  private exit: { code: number | null; signal: string | null } | undefined;
  private interrupted: 'timeout' | 'aborted' | undefined;
  private settled = false;
  private slotHeld = false;
  private deadline: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private openRetries = 0;
  private readonly waiter: Waiter;
  private resolve!: (result: ExecResult) => void;
  private reject!: (error: Error) => void;
  private readonly onAbort = (): void => this.interrupt('aborted');

  constructor(
    private readonly ctx: RunContext,
    private readonly spec: RunSpec,
  ) {
    this.waiter = { start: (link) => this.open(link), fail: (error) => this.fail(error) };
  }

  start(): Promise<ExecResult> {
    const promise = new Promise<ExecResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (!Number.isFinite(this.spec.timeoutMs) || this.spec.timeoutMs <= 0) {
      this.fail(new InputError('timeoutMs must be a positive number', 'timeoutMs'));
      return promise;
    }
    if (this.spec.command.includes('\0')) {
      // The exec request is a C string on the host: anything after a NUL would be dropped silently.
      this.fail(new InputError('command contains a NUL byte', 'command'));
      return promise;
    }
    if (this.spec.signal?.aborted) {
      this.finish('aborted');
      return promise;
    }
    this.spec.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.deadline = setTimeout(() => this.interrupt('timeout'), this.spec.timeoutMs);
    this.ctx.enqueue(this.waiter);
    return promise;
  }

  /** Deadline, abort or stop: a queued run ends at once; a running one gets the kill sequence. */
  interrupt(reason: 'timeout' | 'aborted'): void {
    if (this.settled || this.interrupted) return;
    this.interrupted = reason;
    if (!this.slotHeld) {
      this.ctx.dequeue(this.waiter);
      this.finish(reason);
      return;
    }
    if (!this.channel) return; // Channel still opening: handled in open() once it exists.
    this.ctx.log.warn({ command: this.spec.command, reason }, 'ssh command interrupted');
    this.killSequence();
  }

  /** Best-effort signal to the remote process group (OpenSSH honours "signal" requests since 7.9). */
  signalRemote(name: SignalName): void {
    if (this.channel) sendSignal(this.channel, name);
  }

  /** The link under this run died. */
  linkDown(error: Error): void {
    this.releaseSlot();
    if (this.exit && !this.interrupted) {
      // The exit status arrived before the drop; only trailing output may be missing.
      this.finish();
      return;
    }
    if (this.interrupted) {
      this.finish();
      return;
    }
    this.fail(error);
  }

  private open(link: Link): void {
    this.slotHeld = true;
    this.link = link;
    if (this.interrupted) {
      // Interrupted between the queue and here: nothing was sent.
      this.releaseSlot();
      this.finish();
      return;
    }
    try {
      link.client.exec(this.spec.command, (error, channel) => {
        if (error) {
          this.releaseSlot();
          if (!link.alive) {
            this.fail(this.ctx.linkError() ?? lostBeforeStart(this.ctx));
            return;
          }
          if (isOpenFailure(error) && this.openRetries < MAX_OPEN_RETRIES && !this.interrupted) {
            // OpenSSH frees a closed session only at its next main-loop pass, so an open sent right
            // behind a close can find it still counted against MaxSessions. Nothing ran: retry.
            this.openRetries += 1;
            const delayMs = Math.min(10 * 2 ** this.openRetries, 500);
            this.ctx.log.debug({ command: this.spec.command, attempt: this.openRetries, delayMs }, 'ssh channel open refused, retrying');
            this.retryTimer = setTimeout(() => this.ctx.requeue(this.waiter), delayMs);
            return;
          }
          this.fail(
            new SshConnectionError('server refused to run the command on a new channel', 'channel', this.ctx.host, this.ctx.port, {
              cause: error,
            }),
          );
          return;
        }
        this.attach(channel);
      });
    } catch (error) {
      // ssh2 throws "Not connected" when the socket died before its close event reached us.
      this.releaseSlot();
      this.fail(new SshConnectionError('connection lost before the command started', 'lost', this.ctx.host, this.ctx.port, { cause: error }));
    }
  }

  private attach(channel: ClientChannel): void {
    this.channel = channel;
    if (this.settled) {
      // The link failed while the channel was opening; the run has already been failed.
      channel.close();
      return;
    }
    this.ctx.opened(this);
    channel.on('data', (chunk: Buffer) => this.spec.onStdout(chunk));
    channel.on('end', () => this.spec.onStdoutEnd?.());
    channel.stderr.on('data', (chunk: Buffer) => this.spec.stderr.push(chunk));
    channel.on('exit', (code: number | null, signal?: string) => {
      this.exit = { code: typeof code === 'number' ? code : null, signal: typeof signal === 'string' ? signal : null };
    });
    channel.on('error', (error: Error) => this.ctx.log.warn({ err: error.message }, 'ssh channel error'));
    channel.on('close', () => {
      this.releaseSlot();
      this.finish();
    });
    if (this.spec.stdin !== undefined) channel.end(this.spec.stdin);
    else channel.end();
    if (this.interrupted) this.killSequence();
  }

  private killSequence(): void {
    const channel = this.channel;
    if (!channel) return;
    sendSignal(channel, 'TERM');
    this.killTimer = setTimeout(() => {
      sendSignal(channel, 'KILL');
      channel.close();
      // A server that never confirms the close: give the caller its result anyway. The slot stays
      // taken until the close arrives or the link drops.
      this.closeTimer = setTimeout(() => this.finish(), CLOSE_WAIT_MS);
    }, this.ctx.killGraceMs);
  }

  private releaseSlot(): void {
    if (!this.slotHeld) return;
    this.slotHeld = false;
    this.ctx.finished(this);
    this.ctx.release();
  }

  private cleanup(): void {
    clearTimeout(this.deadline);
    clearTimeout(this.killTimer);
    clearTimeout(this.closeTimer);
    clearTimeout(this.retryTimer);
    this.spec.signal?.removeEventListener('abort', this.onAbort);
  }

  private finish(forced?: 'timeout' | 'aborted'): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup();
    const interrupted = forced ?? this.interrupted;
    const outcome: ExecOutcome =
      interrupted ?? (this.exit === undefined ? 'unknown' : this.exit.code !== null ? 'exited' : this.exit.signal !== null ? 'signalled' : 'unknown');
    const result: ExecResult = {
      command: this.spec.command,
      exitCode: this.exit?.code ?? null,
      signal: this.exit?.signal ?? null,
      outcome,
      ...this.spec.stdoutResult(),
      stderr: this.spec.stderr.text(),
      stderrTruncated: this.spec.stderr.truncated,
      durationMs: Math.round(performance.now() - this.startedAt),
    };
    const level = outcome === 'exited' ? 'debug' : 'warn';
    this.ctx.log[level](
      { command: this.spec.command, outcome, exitCode: result.exitCode, signal: result.signal, durationMs: result.durationMs },
      'ssh command finished',
    );
    this.resolve(result);
  }

  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup();
    this.ctx.log.warn({ command: this.spec.command, err: error.message }, 'ssh command failed');
    this.reject(error);
  }
}

function lostBeforeStart(ctx: RunContext): SshConnectionError {
  return new SshConnectionError('connection lost while starting the command', 'lost', ctx.host, ctx.port);
}

/** ssh2 gives a refused CHANNEL_OPEN a numeric `reason` (RFC 4254 §5.1). */
function isOpenFailure(error: Error): boolean {
  return typeof (error as Error & { reason?: unknown }).reason === 'number';
}

/** ssh2's channel internals this module touches; checked at run time before use. */
type ChannelInternals = {
  outgoing?: { id?: unknown; state?: unknown };
  _client?: { _protocol?: { signal?: unknown } };
};

/**
 * Sends a "signal" channel request. ssh2's `Channel.signal()` does nothing once our side of stdin
 * has ended (it checks `writable`), yet RFC 4254 allows the request after EOF and OpenSSH acts on it
 * (killpg of the session). Every exec ends stdin at once, so after EOF this goes to the protocol
 * layer directly.
 */
function sendSignal(channel: ClientChannel, name: SignalName): void {
  try {
    if (channel.writable) {
      channel.signal(name);
      return;
    }
    const internals = channel as unknown as ChannelInternals;
    const id = internals.outgoing?.id;
    const state = internals.outgoing?.state;
    const protocol = internals._client?._protocol;
    if (typeof id === 'number' && (state === 'open' || state === 'eof') && protocol && typeof protocol.signal === 'function') {
      protocol.signal.call(protocol, id, name);
    }
  } catch {
    // The socket is already gone; nothing left to signal.
  }
}

function connectFailure(error: (Error & { level?: string; code?: string }) | undefined, host: string, port: number): SshConnectionError {
  const options = { cause: error };
  switch (error?.level) {
    case 'client-authentication':
      return new SshConnectionError('authentication failed: the server refused the key', 'auth', host, port, options);
    case 'client-timeout':
      return new SshConnectionError('SSH handshake timed out', 'handshake', host, port, options);
    case 'client-socket':
      return new SshConnectionError(`cannot connect: ${error.code ?? error.message}`, 'connect', host, port, options);
    default:
      return new SshConnectionError(
        error ? `SSH handshake failed: ${error.message}` : 'connection closed during the handshake',
        'handshake',
        host,
        port,
        options,
      );
  }
}

function describeFailure(result: ExecResult): string {
  switch (result.outcome) {
    case 'exited':
      return `remote command exited with status ${result.exitCode}`;
    case 'signalled':
      return `remote command was killed by ${result.signal}`;
    case 'timeout':
      return `remote command timed out after ${result.durationMs} ms`;
    case 'aborted':
      return 'remote command was aborted';
    case 'unknown':
      return 'remote command ended without an exit status';
  }
}

function tailOf(text: string, bytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  return buf.length <= bytes ? text : buf.subarray(buf.length - bytes).toString('utf8');
}
