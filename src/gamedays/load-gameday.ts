/**
 * Reading a game-day file and the experiment files it names (relative to it), each validated with
 * its problems located by file, line and YAML path. The API takes the experiments inline instead.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { formatIssue, validateValue, validateYaml } from '../config/yaml-file.js';
import { InputError } from '../errors.js';
import { parseExperiment } from '../experiments/parse.js';
import type { Experiment } from '../experiments/schema.js';
import { GameDay } from './schema.js';

const MAX_GAMEDAY_BYTES = 256 * 1024;

export type LoadedGameDay = { gameDay: GameDay; experiments: Experiment[][] };

/** The game day in `file`, with every experiment it names read relative to its folder. */
export async function loadGameDayFile(file: string): Promise<LoadedGameDay> {
  const text = await readText(file, 'game-day file');
  const result = validateYaml(text, GameDay, MAX_GAMEDAY_BYTES);
  if (!result.ok) throw new InputError(`${file} is not a valid game day:\n${result.errors.map((e) => `  ${formatIssue(file, e)}`).join('\n')}`, 'gameday');
  const dir = path.dirname(path.resolve(file));
  const experiments = await Promise.all(
    result.value.curriculum.map((stage) =>
      Promise.all(
        stage.experiments.map(async (entry) => {
          if (typeof entry.experiment !== 'string') return entry.experiment;
          return parseExperiment(await readText(path.resolve(dir, entry.experiment), 'experiment file'), entry.experiment);
        }),
      ),
    ),
  );
  return { gameDay: result.value, experiments };
}

/** A game day sent as JSON (`POST /gamedays`): every experiment must be inline, no file is read. */
export function gameDayFromValue(value: unknown): LoadedGameDay {
  const result = validateValue(value, GameDay);
  if (!result.ok) throw new InputError(`Not a valid game day:\n${result.errors.map((e) => `  ${formatIssue('body', e)}`).join('\n')}`, result.errors[0]?.path || 'body');
  const experiments = result.value.curriculum.map((stage, i) =>
    stage.experiments.map((entry, j) => {
      if (typeof entry.experiment === 'string') {
        throw new InputError(`curriculum[${i}].experiments[${j}].experiment: the API takes the experiment itself, not a file name (${entry.experiment})`, `curriculum[${i}].experiments[${j}].experiment`);
      }
      return entry.experiment;
    }),
  );
  return { gameDay: result.value, experiments };
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`Cannot read the ${what} ${file} (${code === 'ENOENT' ? 'no such file' : (code ?? String(error))})`, what, { cause: error });
  }
}
