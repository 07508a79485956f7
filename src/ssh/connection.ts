/**
 * Mechanism: one SSH connection to one host, shared by every agent of an incident. It verifies the
 * host key before authenticating, caps concurrent exec channels below OpenSSH's MaxSessions (10)
 * with a FIFO queue, gives every command a deadline and bounded output, and reconnects with
 * backoff when the link drops. Which hosts may be reached is decided before, in targets.ts.
 */
import type { Logger } from 'pino';
import { Client, type ConnectConfig } from 'ssh2';
import { RemoteCommandError, TimeoutError, errorMessage } from '../errors.js';
import { ChannelRun, CLOSE_WAIT_MS, type Link, type RunContext, type Waiter } from './channel-run.js';
import type {
  ConnectInfo,
  ConnectTarget,
  ConnectionState,
  ExecOptions,
  ExecResult,
  SshConnectionOptions,
  SshStats,
  StreamHandle,
  StreamOptions,
  StreamResult,
} from './connection-types.js';
import { HostKeyMismatchError, SshConnectionError } from './errors.js';
import { createHostKeyVerifier, formatPublicKeyLine, hostKeyAlgorithms, type HostKey } from './host-key.js';
import { BoundedOutput, LineSplitter } from './output.js';

// Callers import the connection's vocabulary from here too.
export type * from './connection-types.js';

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

const STDERR_TAIL_BYTES = 2_048;

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
