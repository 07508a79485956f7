/**
 * `chaos-handler templates <file|->`: streams a log through the template miner and prints one JSON
 * line per input line, `{"line": n, "template_id": "…", "template": "…"}` (n is 1-based), and
 * nothing else on stdout. A one-line summary goes to stderr.
 *
 * Lines are mined in windows (`windowLines`, 10,000 by default): the miner decides which
 * differing words are constants and which are variables by looking across a window
 * (`TemplateMiner.addBatch`), so a window's lines are printed once it is mined. Reading a pipe or
 * a terminal, a partial window is mined as soon as the input pauses (`idleFlushMs`), so a live
 * `tail -f` is printed as it goes; a file is always read in full windows, so that the same file
 * gives the same ids.
 *
 * Streaming with backpressure both ways: the input is read chunk by chunk (the async iterator
 * asks for the next chunk only when this one is processed), a window's output is written as one
 * string and we wait for `drain` when the writer says so. Memory is one window of lines (each
 * capped at MAX_LINE_CHARS; the rest of a longer line is skipped) and the miner's bounded state.
 */
import { once } from 'node:events';
import { createReadStream, ReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

import { TemplateMiner } from '../agents/log/mining/template-miner.js';
import type { AddResult, MinerOptionsInput } from '../agents/log/mining/schema.js';
import { errorMessage } from '../errors.js';

/** Characters of one line that are kept; a longer line is cut (its rest is never buffered). */
export const MAX_LINE_CHARS = 64 * 1024;
/**
 * Bytes decoded at a time: a decoded piece stays a young-generation string (V8 allocates strings
 * above ~128 KiB in the large-object space, which made decoding 256 KiB chunks ~40× slower).
 */
const DECODE_BYTES = 64 * 1024;
/** Lines mined together by default. */
export const WINDOW_LINES = 10_000;
/** Input pause (ms) after which a partial window of a pipe or terminal is mined and printed. */
export const IDLE_FLUSH_MS = 200;

export interface RunTemplatesOptions {
  /** Options of the miner built for this run (ignored when `miner` is given). */
  minerOptions?: MinerOptionsInput;
  /** A miner to use (and inspect afterwards); a fresh one by default. */
  miner?: TemplateMiner;
  /** Clock in milliseconds, for the summary; injectable for tests. */
  now?: () => number;
  /** Lines mined together. */
  windowLines?: number;
  /** Pause after which a partial window is flushed; undefined: never for files, IDLE_FLUSH_MS otherwise. */
  idleFlushMs?: number;
}

/** `-` is standard input; anything else a file path (read errors surface in runTemplates). */
export function openInput(
  pathOrDash: string,
  stdin: NodeJS.ReadableStream = process.stdin,
): NodeJS.ReadableStream {
  if (pathOrDash === '-') return stdin;
  // Large reads (few round trips to the thread pool), decoded in small pieces (DECODE_BYTES).
  return createReadStream(pathOrDash, { highWaterMark: 1024 * 1024 });
}

const IDLE = Symbol('idle');

/**
 * The UTF-8 bytes of an output line after its line number, cached per result object (the miner
 * hands out one per template text): JSON is serialized once per template, not once per line.
 */
const jsonTails = new WeakMap<AddResult, Buffer>();

function jsonTail(result: AddResult): Buffer {
  let tail = jsonTails.get(result);
  if (tail === undefined) {
    tail = Buffer.from(`,"template_id":${JSON.stringify(result.templateId)},"template":${JSON.stringify(result.template)}}\n`);
    jsonTails.set(result, tail);
  }
  return tail;
}

const LINE_HEAD = Buffer.from('{"line":');

/** The output of a window, `{"line":n…}` per result from line number `first`, as one buffer. */
function formatWindow(results: readonly AddResult[], first: number): Buffer {
  const tails: Buffer[] = new Array<Buffer>(results.length);
  let size = 0;
  let last: AddResult | undefined;
  let lastTail: Buffer = LINE_HEAD;
  // Consecutive lines often share a template: one cache lookup per run of them.
  for (let i = 0; i < results.length; i++) {
    const result = results[i] as AddResult;
    if (result !== last) {
      last = result;
      lastTail = jsonTail(result);
    }
    tails[i] = lastTail;
    size += lastTail.length;
  }
  // Line numbers: their digits, counted by decade.
  let digits = String(first).length;
  let nextDecade = 10 ** digits;
  const lastLine = first + results.length - 1;
  for (let decadeStart = first; decadeStart <= lastLine; ) {
    const decadeEnd = Math.min(lastLine, nextDecade - 1);
    size += (decadeEnd - decadeStart + 1) * (LINE_HEAD.length + digits);
    decadeStart = nextDecade;
    digits++;
    nextDecade *= 10;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  digits = String(first).length;
  nextDecade = 10 ** digits;
  for (let i = 0; i < tails.length; i++) {
    out.set(LINE_HEAD, at);
    at += LINE_HEAD.length;
    const n = first + i;
    if (n === nextDecade) {
      digits++;
      nextDecade *= 10;
    }
    // ASCII digits, from the right.
    for (let v = n, d = at + digits - 1; d >= at; v = Math.floor(v / 10), d--) out[d] = 48 + (v % 10);
    at += digits;
    const tail = tails[i] as Buffer;
    out.set(tail, at);
    at += tail.length;
  }
  return out;
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
  const windowLines = Math.max(1, options.windowLines ?? WINDOW_LINES);
  // A file never pauses: waiting on it would only make the ids depend on timing.
  const idleFlushMs = options.idleFlushMs ?? (input instanceof ReadStream ? undefined : IDLE_FLUSH_MS);
  const started = now();
  const decoder = new StringDecoder('utf8');
  let lineNumber = 0;
  let pending = '';
  /** True while the rest of an over-long line is being skipped. */
  let skipping = false;
  let window: string[] = [];
  let outputError: unknown;
  const onOutputError = (error: unknown): void => {
    outputError = error;
  };
  stdout.on('error', onOutputError);

  const push = (line: string): void => {
    const cut = line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line;
    window.push(cut.endsWith('\r') ? cut.slice(0, -1) : cut);
  };

  const consume = (chunk: string): void => {
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
      push(pending === '' ? piece : pending + piece);
      pending = '';
    }
    if (!skipping) {
      pending += chunk.slice(start);
      if (pending.length > MAX_LINE_CHARS) {
        push(pending.slice(0, MAX_LINE_CHARS));
        pending = '';
        skipping = true;
      }
    }
  };

  /** Mines the lines waiting (in windows of `windowLines`, or all of them) and writes their output. */
  const flush = async (all: boolean): Promise<void> => {
    while (window.length >= windowLines || (all && window.length > 0)) {
      const lines = window.length > windowLines ? window.slice(0, windowLines) : window;
      window = lines === window ? [] : window.slice(windowLines);
      const results = miner.addBatch(lines);
      const out = formatWindow(results, lineNumber + 1);
      lineNumber += results.length;
      if (outputError !== undefined) continue;
      if (!stdout.write(out)) await once(stdout, 'drain');
    }
  };

  try {
    const iterator = input[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<string | Buffer>> | undefined;
    for (;;) {
      next ??= iterator.next();
      let step: IteratorResult<string | Buffer> | typeof IDLE;
      if (idleFlushMs !== undefined && window.length > 0) {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<typeof IDLE>((resolve) => {
          timer = setTimeout(() => resolve(IDLE), idleFlushMs);
        });
        step = await Promise.race([next, idle]);
        clearTimeout(timer);
      } else step = await next;
      if (step === IDLE) {
        await flush(true);
        continue;
      }
      next = undefined;
      if (step.done === true) break;
      const chunk = step.value;
      if (typeof chunk === 'string') consume(chunk);
      else for (let at = 0; at < chunk.length; at += DECODE_BYTES) consume(decoder.write(chunk.subarray(at, at + DECODE_BYTES)));
      await flush(false);
      if (outputError !== undefined) break;
    }
    const tail = decoder.end();
    if (tail !== '') consume(tail);
    if (pending !== '' && !skipping) push(pending);
    await flush(true);
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
