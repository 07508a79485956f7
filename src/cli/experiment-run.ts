/**
 * `chaos-handler experiment run <file> [--runs N] [--json]`: validates the file (every problem
 * named by line), runs the experiment on its enrolled targets with a progress line per step,
 * prints the verdict and where the outputs are. Exit 0 only when the steady state held (or was
 * restored) in every run; 1 when it did not or the experiment failed; 2 for a bad file or usage.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../config/index.js';
import { createCoordinator } from '../coordinator.js';
import { errorMessage } from '../errors.js';
import { formatIssue, validateExperiment } from '../experiments/parse.js';
import type { ExperimentEvent, ExperimentSummary } from '../experiments/result-schema.js';
import { createLogger } from '../logger.js';

type Out = { write(text: string): unknown; isTTY?: boolean };

export const EXPERIMENT_RUN_USAGE = `Usage: chaos-handler experiment run <file.yaml> [--runs N] [--json]
  Runs the experiment on its enrolled targets (NEVER production): steady state before, the
  method (faults injected through incidents), safeguards, rollbacks, steady state after; per run.
  --runs N     override the file's runs
  --json       print the final summary as JSON instead of the verdict
  Exit code 0 only when the steady state held (or was restored) in every run.
`;

export async function runExperimentRun(args: string[], env: Record<string, string | undefined>, stdout: Out, stderr: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { runs: { type: 'string' }, json: { type: 'boolean', default: false } }, strict: true });
  } catch (error) {
    stderr.write(`chaos-handler experiment run: ${errorMessage(error)}\n\n${EXPERIMENT_RUN_USAGE}`);
    return 2;
  }
  const file = parsed.positionals[0];
  if (!file || parsed.positionals.length > 1) {
    stderr.write(`chaos-handler experiment run: name one experiment file\n\n${EXPERIMENT_RUN_USAGE}`);
    return 2;
  }
  let runs: number | undefined;
  if (parsed.values.runs !== undefined) {
    runs = Number(parsed.values.runs);
    if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
      stderr.write(`chaos-handler experiment run: --runs must be a whole number from 1 to 100, got ${JSON.stringify(parsed.values.runs)}\n`);
      return 2;
    }
  }
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    stderr.write(`chaos-handler experiment run: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}\n`);
    return null;
  });
  if (text === null) return 2;
  const validation = validateExperiment(text);
  if (!validation.ok) {
    for (const issue of validation.errors) stderr.write(`${formatIssue(file, issue)}\n`);
    return 2;
  }

  const config = loadConfig({ CHAOS_LOG_LEVEL: 'warn', ...env });
  const log = createLogger(config.CHAOS_LOG_LEVEL, pino.destination(2));
  const coordinator = await createCoordinator(config, log);
  const colour = stdout.isTTY === true && env.NO_COLOR === undefined;
  try {
    const { summary, done } = await coordinator.experiments.start(validation.experiment, runs !== undefined ? { runs } : {});
    const t0 = Date.parse(summary.created_at);
    if (!parsed.values.json) stdout.write(`Experiment ${summary.experiment_id}: ${summary.title} (${summary.progress.of} run${summary.progress.of === 1 ? '' : 's'} on ${summary.target})\n`);
    const unsubscribe = coordinator.experiments.subscribe(
      summary.experiment_id,
      (event) => {
        if (!parsed.values.json) stdout.write(progressLine(event, t0, colour));
      },
      () => undefined,
    );
    const onSigint = () => void coordinator.experiments.stop(summary.experiment_id, 'interrupted from the terminal');
    process.once('SIGINT', onSigint);
    const final = await done;
    process.off('SIGINT', onSigint);
    unsubscribe();
    const dir = path.join(config.CHAOS_EXPERIMENTS_DIR, final.experiment_id);
    if (parsed.values.json) stdout.write(`${JSON.stringify({ ...final, dir }, null, 2)}\n`);
    else stdout.write(verdict(final, dir));
    return final.status === 'completed' && final.aggregate?.all_held === true ? 0 : 1;
  } catch (error) {
    stderr.write(`chaos-handler experiment run: ${errorMessage(error)}\n`);
    return error instanceof Error && (error.name === 'InputError' || error.name === 'NotAllowedError') ? 2 : 1;
  } finally {
    await coordinator.close();
  }
}

function progressLine(event: ExperimentEvent, t0: number, colour: boolean): string {
  const seconds = ((Date.parse(event.timestamp) - t0) / 1000).toFixed(1).padStart(6);
  const run = event.kind === 'baseline' ? 'baseline' : event.run > 0 ? `run ${event.run}` : '';
  const line = `[+${seconds}s] ${run.padEnd(8)} ${event.step.padEnd(18)} ${event.message.slice(0, 200)}`;
  if (!colour) return `${line}\n`;
  const tint = /safeguard|error|deviated|not held/.test(`${event.step} ${event.message}`) ? '\x1b[31m' : event.step === 'run_done' ? '\x1b[32m' : '\x1b[90m';
  return `${tint}${line}\x1b[0m\n`;
}

function verdict(s: ExperimentSummary, dir: string): string {
  const a = s.aggregate;
  const lines = ['', `Status:       ${s.status}${s.error ? ` (${s.error})` : ''}`];
  if (a) {
    lines.push(`Steady state: ${a.all_held ? 'held (or was restored) in every run' : 'NOT held in every run'}`);
    lines.push(`Resilience:   ${pct(a.resilience_score)} of probe checks within tolerance`);
    lines.push(`Detection:    ${pct(a.detection_rate)}; diagnosis accuracy ${pct(a.diagnosis_accuracy)}`);
    lines.push(`MTTD:         p50 ${secs(a.mttd_s.p50)}, p95 ${secs(a.mttd_s.p95)}, p99 ${secs(a.mttd_s.p99)}`);
    lines.push(`MTTR:         p50 ${secs(a.mttr_s.p50)}, p95 ${secs(a.mttr_s.p95)}, p99 ${secs(a.mttr_s.p99)}`);
    const refused = s.runs.filter((r) => r.incident_id !== null && r.fault.injected_at === null);
    if (refused.length) lines.push(`Faults:       NOT injected in ${refused.length} of ${s.runs.length} run${s.runs.length === 1 ? '' : 's'} (why: below)`);
  }
  for (const r of [...(s.baseline ? [s.baseline] : []), ...s.runs]) {
    const label = r.kind === 'baseline' ? 'baseline' : `run ${r.run}`;
    const diagnosis = r.diagnosis ? ` ${r.diagnosis.category ?? 'no diagnosis'}${r.diagnosis.matched ? ' (matched)' : ' (did not match)'}` : '';
    lines.push(`  ${label.padEnd(9)} ${r.held ? 'held    ' : 'NOT HELD'} ${r.incident_id ?? '(no fault)'}${diagnosis}${r.safeguard ? ` safeguard ${r.safeguard.probe}` : ''}${r.error ? `\n            ${r.error}` : ''}`);
  }
  lines.push(`Outputs:      ${dir}/ (report.md, report.pdf, summary.json, junit.xml, load.csv, runs.csv)`, '');
  return lines.join('\n');
}

const pct = (v: number | null) => (v === null ? 'n/a' : `${Math.round(v * 1000) / 10} %`);
const secs = (v: number | null) => (v === null ? 'n/a' : `${v} s`);
