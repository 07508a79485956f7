/**
 * One command on one exec channel of a connection, from its place in the queue to the channel's
 * close: deadline, abort, the kill sequence (SIGTERM, EOF, SIGKILL, close) and exactly-once
 * settling. The connection (connection.ts) owns the pool these runs take their slots from.
 */
import type { Logger } from 'pino';
import type { Client, ClientChannel } from 'ssh2';
import { InputError } from '../errors.js';
import type { ExecOutcome, ExecResult } from './connection-types.js';
import { SshConnectionError } from './errors.js';
import type { BoundedOutput } from './output.js';

type SignalName = 'TERM' | 'KILL';

/** One TCP connection; replaced on reconnect. Runs remember theirs to tell a dead link. */
export type Link = { client: Client; alive: boolean };

export type Waiter = { start: (link: Link) => void; fail: (error: Error) => void };

/** After the kill sequence, how long to wait for the server's close before giving the result. */
export const CLOSE_WAIT_MS = 2_000;
/** Retries of a refused channel open (the command never started) before giving up. */
const MAX_OPEN_RETRIES = 10;

export type RunContext = {
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
export class ChannelRun {
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
