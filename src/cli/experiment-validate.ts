/**
 * `chaos-handler experiment validate <file> [--json]`: checks an experiment file without running
 * anything. Exit 0 when valid (a one-line summary on stdout), 2 with every problem on stderr as
 * `file:line:column: path: message` (the shape editors and CI annotate).
 */
import { open } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { errorMessage } from '../errors.js';
import { formatIssue, MAX_EXPERIMENT_BYTES, validateExperiment, type ExperimentIssue } from '../experiments/parse.js';

type Out = { write(text: string): unknown };

const USAGE = 'usage: chaos-handler experiment validate <file> [--json]\n';

export async function runExperimentValidate(argv: string[], stdout: Out, stderr: Out): Promise<number> {
  let file: string;
  let json: boolean;
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    if (positionals.length !== 1) throw new Error('name one experiment file');
    file = positionals[0]!;
    json = values.json;
  } catch (error) {
    stderr.write(`chaos-handler experiment validate: ${errorMessage(error)}\n${USAGE}`);
    return 2;
  }

  let text: string;
  try {
    text = await readCapped(file, MAX_EXPERIMENT_BYTES);
  } catch (error) {
    const reason = (error as { code?: string }).code === 'ENOENT' ? 'no such file' : errorMessage(error);
    return report(file, json, [{ path: '', line: null, column: null, message: `cannot read the file: ${reason}` }], stdout, stderr);
  }

  const result = validateExperiment(text);
  if (!result.ok) return report(file, json, result.errors, stdout, stderr);
  const e = result.experiment;
  if (json) {
    stdout.write(`${JSON.stringify({ file, valid: true, experiment: e })}\n`);
  } else {
    const injects = e.method.flatMap((s) => (s.type === 'inject' ? [s.scenario] : []));
    stdout.write(
      `${file}: valid: "${e.title}" on ${e.targets.join(', ')}; ${e.steady_state.length} probe(s), ${e.method.length} step(s) injecting ${injects.join(', ')}; ` +
        `${e.load ? `load ${e.load.rps}/s; ` : ''}${e.safeguards.length} safeguard(s); ${e.runs} run(s)${e.compare_to ? `, compared to ${e.compare_to}` : ''}\n`,
    );
  }
  return 0;
}

function report(file: string, json: boolean, errors: ExperimentIssue[], stdout: Out, stderr: Out): number {
  if (json) stdout.write(`${JSON.stringify({ file, valid: false, errors })}\n`);
  for (const issue of errors) stderr.write(`${formatIssue(file, issue)}\n`);
  stderr.write(`${file}: not a valid experiment (${errors.length} problem${errors.length === 1 ? '' : 's'})\n`);
  return 2;
}

/** Reads at most `max` bytes; a bigger file is refused without reading it all. */
async function readCapped(file: string, max: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size > max) throw new Error(`larger than ${max} bytes`);
    const buffer = Buffer.alloc(max + 1);
    const { bytesRead } = await handle.read(buffer, 0, max + 1, 0);
    if (bytesRead > max) throw new Error(`larger than ${max} bytes`);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
