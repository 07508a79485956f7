/**
 * Reading an experiment file: YAML → zod, with every problem named by its YAML path and the line
 * and column it sits on (`cpu.yaml:12:7: steady_state[0].latency_ms.p: ...`; config/yaml-file.ts).
 * The same checks serve a JSON body (`POST /experiments`), without lines.
 */
import { formatIssue, validateValue, validateYaml, type YamlIssue } from '../config/yaml-file.js';
import { InputError } from '../errors.js';
import { Experiment } from './schema.js';

export { formatIssue, formatPath } from '../config/yaml-file.js';

/** One thing wrong with an experiment: where (YAML path, and line:column when read from a file) and what. */
export type ExperimentIssue = YamlIssue;

export type ExperimentValidation = { ok: true; experiment: Experiment } | { ok: false; errors: ExperimentIssue[] };

/** Bigger than any experiment a person writes; the cap keeps a hostile upload cheap to refuse. */
export const MAX_EXPERIMENT_BYTES = 256 * 1024;

/** Validates the text of an experiment file (YAML, or JSON, which is YAML). */
export function validateExperiment(text: string): ExperimentValidation {
  const result = validateYaml(text, Experiment, MAX_EXPERIMENT_BYTES);
  return result.ok ? { ok: true, experiment: result.value } : result;
}

/** Validates an experiment that arrived as a value (a JSON body): issues name the path only. */
export function validateExperimentValue(value: unknown): ExperimentValidation {
  const result = validateValue(value, Experiment);
  return result.ok ? { ok: true, experiment: result.value } : result;
}

/** The experiment in `text`, or an InputError listing every problem (`file:line:col: path: message`). */
export function parseExperiment(text: string, file: string): Experiment {
  const result = validateExperiment(text);
  if (result.ok) return result.experiment;
  const [first] = result.errors;
  throw new InputError(
    `${file} is not a valid experiment:\n${result.errors.map((e) => `  ${formatIssue(file, e)}`).join('\n')}`,
    first?.path === '' ? undefined : first?.path,
  );
}
