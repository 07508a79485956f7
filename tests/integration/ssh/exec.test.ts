/**
 * SshConnection against a real OpenSSH server on 127.0.0.1 (the mechanism only: policy would
 * refuse loopback, see targets tests).
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { jest } from '@jest/globals';
import { RemoteCommandError } from '../../../src/errors.js';
import { SshConnection } from '../../../src/ssh/connection.js';
import { SshConnectionError } from '../../../src/ssh/errors.js';
import { captureLogger, pgrep, targetFor, waitFor } from '../../fixtures/sshd/helpers.js';
import { startSshd, type SshdFixture } from '../../fixtures/sshd/sshd.js';

jest.setTimeout(60_000);

let sshd: SshdFixture;
let conn: SshConnection;
const logged = captureLogger();

beforeAll(async () => {
  sshd = await startSshd();
  conn = new SshConnection({ target: targetFor(sshd), logger: logged.logger, killGraceMs: 500 });
  await conn.connect();
});

/** Local leftovers to remove even when a test fails (the "remote" host is this machine). */
const cleanups: Array<() => void> = [];

afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await conn?.close();
  await sshd?.stop();
});

describe('exec against a real sshd', () => {
  it('when a command exits 0, then the outcome is exited with code 0 and its stdout', async () => {
    const result = await conn.exec('echo hello; echo oops >&2');
    expect(result).toMatchObject({ outcome: 'exited', exitCode: 0, signal: null, stdout: 'hello\n', stderr: 'oops\n' });
    expect(result.stdoutTruncated).toBe(false);
  });

  it('when a command exits non-zero, then exec resolves with that code and execOrThrow throws RemoteCommandError', async () => {
    await expect(conn.exec('exit 3')).resolves.toMatchObject({ outcome: 'exited', exitCode: 3 });
    const error = await conn.execOrThrow('echo "disk is full" >&2; exit 7').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect((error as RemoteCommandError).details).toEqual({
      host: sshd.address,
      command: 'echo "disk is full" >&2; exit 7',
      exitCode: 7,
      signal: null,
      stderrTail: 'disk is full\n',
    });
  });

  it('when the remote process is killed by a signal, then the outcome is signalled with its name', async () => {
    const result = await conn.exec('kill -KILL $$');
    expect(result).toMatchObject({ outcome: 'signalled', exitCode: null, signal: 'SIGKILL' });
  });

  it('when stdin is given, then the command reads it and sees EOF after it', async () => {
    const result = await conn.exec('wc -c; cat', { stdin: 'abc' });
    expect(result.stdout.trim()).toBe('3');
  });

  it('when no stdin is given, then a command reading stdin sees EOF at once', async () => {
    const result = await conn.exec('cat; echo done', { timeoutMs: 5_000 });
    expect(result).toMatchObject({ outcome: 'exited', exitCode: 0, stdout: 'done\n' });
  });

  it('when both streams print 20 MB, then both are drained, kept bounded and flagged truncated', async () => {
    const mib = 1024 * 1024;
    let peak = 0;
    const base = process.memoryUsage();
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers);
    }, 20);
    const result = await conn.exec(
      'head -c 20000000 /dev/zero | tr "\\0" a & head -c 20000000 /dev/zero | tr "\\0" b >&2; wait; echo END',
      { timeoutMs: 30_000, maxOutputBytes: mib },
    );
    clearInterval(sampler);
    expect(result).toMatchObject({ outcome: 'exited', exitCode: 0, stdoutTruncated: true, stderrTruncated: true });
    expect(result.stdout.length).toBeLessThan(mib + 100);
    expect(result.stderr.length).toBeLessThan(mib + 100);
    expect(result.stdout.startsWith('aaaa')).toBe(true);
    expect(result.stdout.endsWith('aEND\n')).toBe(true);
    expect(result.stdout).toMatch(/\[\.\.\. \d+ bytes omitted \.\.\.\]/);
    expect(result.stderr.endsWith('bbbb')).toBe(true);
    // 40 MB went through; what stays alive at any moment is a small multiple of the cap.
    expect(peak).toBeLessThan(64 * mib);
  });

  it('when a command outlives its deadline, then it is killed on the host and the outcome is timeout', async () => {
    const marker = `60.${Math.floor(Math.random() * 1e6)}`;
    const started = Date.now();
    const result = await conn.exec(`sleep ${marker}`, { timeoutMs: 1_000 });
    expect(result.outcome).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await waitFor(async () => (await pgrep(`sleep ${marker}`)).length === 0, 3_000)).toBe(true);
  });

  it('when the abort signal fires, then the command is killed and the outcome is aborted', async () => {
    const marker = `61.${Math.floor(Math.random() * 1e6)}`;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const result = await conn.exec(`sleep ${marker}`, { timeoutMs: 30_000, signal: controller.signal });
    expect(result.outcome).toBe('aborted');
    expect(await waitFor(async () => (await pgrep(`sleep ${marker}`)).length === 0, 3_000)).toBe(true);
  });

  it('when 30 commands run at once, then all succeed and no more than 8 channels are ever open', async () => {
    const file = `/tmp/chaos-ssh-concurrency-${randomUUID()}`;
    cleanups.push(() => rmSync(file, { force: true }));
    const before = conn.stats();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        conn.exec(`echo start >> ${file}; sleep 0.3; echo end >> ${file}; echo ${i}`, { timeoutMs: 30_000 }),
      ),
    );
    results.forEach((r, i) => expect(r).toMatchObject({ outcome: 'exited', exitCode: 0, stdout: `${i}\n` }));
    const stats = conn.stats();
    expect(stats.maxConcurrentChannels).toBe(8);
    expect(stats.channelsOpened - before.channelsOpened).toBe(30);
    expect(stats.activeChannels).toBe(0);
    expect(stats.queued).toBe(0);
    // Measured on the host: running commands never exceeded 8.
    const events = (await conn.execOrThrow(`cat ${file}; rm -f ${file}`)).stdout.trim().split('\n');
    let running = 0;
    let peak = 0;
    for (const e of events) {
      running += e === 'start' ? 1 : -1;
      peak = Math.max(peak, running);
    }
    expect(events).toHaveLength(60);
    expect(peak).toBeLessThanOrEqual(8);
    expect(peak).toBeGreaterThan(1);
  });

  it('when streaming a sampler, then lines arrive live and stop() ends the remote process', async () => {
    const marker = `chaos-sampler-${randomUUID()}`;
    const lines: Array<{ at: number; line: string }> = [];
    const handle = conn.stream(
      `sh -c 'while :; do echo "{\\"n\\":$(date +%s%N)}"; sleep 0.2; done' ${marker}`,
      (line) => lines.push({ at: Date.now(), line }),
    );
    expect(await waitFor(() => lines.length >= 4, 5_000)).toBe(true);
    // Live: they came in over time, not all at the end.
    const [first, fourth] = [lines[0], lines[3]];
    expect(fourth && first && fourth.at - first.at).toBeGreaterThanOrEqual(300);
    for (const { line } of lines) expect(JSON.parse(line)).toHaveProperty('n');
    expect((await pgrep(marker)).length).toBeGreaterThan(0);

    const result = await handle.stop();
    expect(result.outcome).toBe('aborted');
    expect(result.lines).toBeGreaterThanOrEqual(4);
    expect(await waitFor(async () => (await pgrep(marker)).length === 0, 3_000)).toBe(true);
    expect(conn.stats().activeChannels).toBe(0);
  });

  it('when a stream ends by itself, then done resolves with the exit status and the last unterminated line', async () => {
    const lines: string[] = [];
    const handle = conn.stream('printf "a\\nb\\r\\nc"', (line) => lines.push(line));
    await expect(handle.done).resolves.toMatchObject({ outcome: 'exited', exitCode: 0, lines: 3 });
    expect(lines).toEqual(['a', 'b', 'c']);
  });

  it('when a streamed line is too long, then it is dropped and counted, not delivered cut', async () => {
    const lines: string[] = [];
    const handle = conn.stream('echo short; head -c 5000 /dev/zero | tr "\\0" x; echo; echo after', (l) => lines.push(l), {
      maxLineBytes: 1024,
    });
    await expect(handle.done).resolves.toMatchObject({ outcome: 'exited', lines: 2, droppedLines: 1 });
    expect(lines).toEqual(['short', 'after']);
  });

  it('when onLine throws, then the stream is stopped and done rejects with that error', async () => {
    const marker = `chaos-throw-${randomUUID()}`;
    const handle = conn.stream(`sh -c 'while :; do echo x; sleep 0.1; done' ${marker}`, () => {
      throw new SyntaxError('bad sample');
    });
    await expect(handle.done).rejects.toThrow('bad sample');
    expect(await waitFor(async () => (await pgrep(marker)).length === 0, 3_000)).toBe(true);
  });

  it('when the connection is closed, then new commands fail with a closed SshConnectionError', async () => {
    const other = new SshConnection({ target: targetFor(sshd), logger: logged.logger });
    await other.connect();
    await other.close();
    const error = await other.exec('true').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshConnectionError);
    expect((error as SshConnectionError).kind).toBe('closed');
  });

  it('when anything was logged, then the private key never appears', () => {
    const keyBody = sshd.clientKey.privateKey.toString('utf8').split('\n').slice(1, -2).join('');
    const all = logged.lines.join('\n');
    expect(logged.lines.length).toBeGreaterThan(0);
    expect(all).not.toContain(keyBody.slice(0, 40));
    expect(all).not.toContain('PRIVATE KEY');
  });
});
