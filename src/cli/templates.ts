/**
 * `chaos-handler templates <file|->`: streams a log through the template miner and prints one JSON
 * line per input line, `{"line": n, "template_id": "…", "template": "…"}` (n is 1-based), and
 * nothing else on stdout. A one-line summary goes to stderr.
 *
 * Streaming with backpressure both ways: the input is read chunk by chunk (the async iterator
 * asks for the next chunk only when this one is processed), the output of one chunk is written
 * as one string and we wait for `drain` when the writer says so. Memory is one chunk, one line
 * (capped at MAX_LINE_CHARS; the rest of a longer line is skipped) and the miner's bounded state.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

import { TemplateMiner } from '../agents/log/mining/template-miner.js';
import type { MinerOptionsInput } from '../agents/log/mining/schema.js';
import { errorMessage } from '../errors.js';

/** Characters of one line that are kept; a longer line is cut (its rest is never buffered). */
export const MAX_LINE_CHARS = 64 * 1024;

export interface RunTemplatesOptions {
  /** Options of the miner built for this run (ignored when `miner` is given). */
  minerOptions?: MinerOptionsInput;
  /** A miner to use (and inspect afterwards); a fresh one by default. */
  miner?: TemplateMiner;
  /** Clock in milliseconds, for the summary; injectable for tests. */
  now?: () => number;
}

/** `-` is standard input; anything else a file path (read errors surface in runTemplates). */
export function openInput(
  pathOrDash: string,
  stdin: NodeJS.ReadableStream = process.stdin,
): NodeJS.ReadableStream {
  if (pathOrDash === '-') return stdin;
  return createReadStream(pathOrDash, { highWaterMark: 256 * 1024 });
}

/** Streams `input` through the miner; resolves to the process exit code. */
export async function runTemplates(
  input: NodeJS.ReadableStream,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
  options: RunTemplatesOptions = {},
): Promise<number> {
  const miner = options.miner ?? new TemplateMiner(options.minerOptions ?? {});
  const now = options.now ?? (() => performance.now());
  const started = now();
  const decoder = new StringDecoder('utf8');
  let lineNumber = 0;
  let pending = '';
  /** True while the rest of an over-long line is being skipped. */
  let skipping = false;
  let outputError: unknown;
  const onOutputError = (error: unknown): void => {
    outputError = error;
  };
  stdout.on('error', onOutputError);

  const mine = (line: string): string => {
    lineNumber++;
    const cut = line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line;
    const text = cut.endsWith('\r') ? cut.slice(0, -1) : cut;
    const result = miner.add(text);
    return `${JSON.stringify({ line: lineNumber, template_id: result.templateId, template: result.template })}\n`;
  };

  const write = async (text: string): Promise<void> => {
    if (text === '' || outputError !== undefined) return;
    if (!stdout.write(text)) await once(stdout, 'drain');
  };

  const consume = (chunk: string): string => {
    let out = '';
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf('\n', start);
      if (newline < 0) break;
      const piece = chunk.slice(start, newline);
      start = newline + 1;
      if (skipping) {
        skipping = false;
        pending = '';
        continue;
      }
      out += mine(pending === '' ? piece : pending + piece);
      pending = '';
    }
    if (!skipping) {
      pending += chunk.slice(start);
      if (pending.length > MAX_LINE_CHARS) {
        out += mine(pending.slice(0, MAX_LINE_CHARS));
        pending = '';
        skipping = true;
      }
    }
    return out;
  };

  try {
    for await (const chunk of input) {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      await write(consume(text));
      if (outputError !== undefined) break;
    }
    const tail = decoder.end();
    let out = tail === '' ? '' : consume(tail);
    if (pending !== '' && !skipping) out += mine(pending);
    await write(out);
  } catch (error) {
    if (outputError === undefined) {
      stderr.write(`templates: cannot read the input: ${describeReadError(error)}\n`);
      return 1;
    }
  } finally {
    stdout.removeListener('error', onOutputError);
  }
  if (outputError !== undefined && !isBrokenPipe(outputError)) {
    stderr.write(`templates: cannot write the output: ${errorMessage(outputError)}\n`);
    return 1;
  }

  const seconds = Math.max((now() - started) / 1000, 1e-9);
  const stats = miner.stats();
  stderr.write(
    `templates: ${lineNumber} lines, ${stats.clusters} templates, ${seconds.toFixed(2)} s, ` +
      `${Math.round(lineNumber / seconds)} lines/s\n`,
  );
  return 0;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function isBrokenPipe(error: unknown): boolean {
  return errorCode(error) === 'EPIPE';
}

/** Known read failures as a hint a user can act on. */
function describeReadError(error: unknown): string {
  const code = errorCode(error);
  const path =
    typeof error === 'object' && error !== null && 'path' in error && typeof error.path === 'string'
      ? error.path
      : '';
  if (code === 'ENOENT') return `no such file: ${path}`;
  if (code === 'EISDIR') return `is a directory: ${path}`;
  if (code === 'EACCES') return `permission denied: ${path}`;
  return errorMessage(error);
}
