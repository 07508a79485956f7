/**
 * `chaos-handler gameday run <file.yaml> [--json]` and `gameday validate <file.yaml>`: a game day
 * read with the experiment files it names (beside it), planned (its curriculum checked) and run
 * on the enrolled targets, printing each entry as it starts and ends and the scoreboard at the
 * end. Exit 0 when every experiment ran and held its steady state; 1 otherwise; 2 for bad input.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../config/index.js';
import { createCoordinator } from '../coordinator.js';
import { errorMessage } from '../errors.js';
import { loadGameDayFile } from '../gamedays/load-gameday.js';
import { planGameDay } from '../gamedays/plan.js';
import type { GameDayRecord } from '../gamedays/schema.js';
import { createLogger } from '../logger.js';

type Out = { write(text: string): unknown };

export const GAMEDAY_USAGE = `Usage: chaos-handler gameday run <file.yaml> [--json]
       chaos-handler gameday validate <file.yaml>
  A game day schedules experiments (files beside it) over a window, single faults first, then
  compound, then cascading, within its guard rails (allowed hours, at most N targets at once).
  NEVER on production. Exit 0 only when every experiment ran and held its steady state.
`;

export async function runGameDayCli(args: string[], env: Record<string, string | undefined>, stdout: Out, stderr: Out): Promise<number> {
  const [verb, ...rest] = args;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean', default: false } }, strict: true });
  } catch (error) {
    stderr.write(`chaos-handler gameday: ${errorMessage(error)}\n\n${GAMEDAY_USAGE}`);
    return 2;
  }
  const file = parsed.positionals[0];
  if ((verb !== 'run' && verb !== 'validate') || !file || parsed.positionals.length > 1) {
    stderr.write(`chaos-handler gameday: ${verb === 'run' || verb === 'validate' ? 'name one game-day file' : `unknown verb ${JSON.stringify(verb ?? '')}`}\n\n${GAMEDAY_USAGE}`);
    return 2;
  }
  let loaded;
  try {
    loaded = await loadGameDayFile(file);
    // The curriculum is checked here too, so `validate` says all that `run` would refuse.
    planGameDay(loaded.gameDay, loaded.experiments, new Date());
  } catch (error) {
    stderr.write(`${errorMessage(error)}\n`);
    return 2;
  }
  if (verb === 'validate') {
    const entries = loaded.gameDay.curriculum.reduce((n, s) => n + s.experiments.length, 0);
    stdout.write(`${file}: valid: "${loaded.gameDay.title}", ${loaded.gameDay.curriculum.length} stage(s), ${entries} experiment(s) over ${loaded.gameDay.window.duration} s\n`);
    return 0;
  }

  const config = loadConfig({ CHAOS_LOG_LEVEL: 'warn', ...env });
  const log = createLogger(config.CHAOS_LOG_LEVEL, pino.destination(2));
  const coordinator = await createCoordinator(config, log);
  try {
    const { record, done } = await coordinator.gamedays.start(loaded);
    if (!parsed.values.json) stdout.write(`Game day ${record.id}: ${record.title} (${record.entries.length} experiments over ${record.window.real_s} s)\n`);
    const onSigint = () => void coordinator.gamedays.stop(record.id, 'interrupted from the terminal');
    process.once('SIGINT', onSigint);
    const final = await done;
    process.off('SIGINT', onSigint);
    stdout.write(parsed.values.json ? `${JSON.stringify(final, null, 2)}\n` : describe(final));
    return final.status === 'completed' && final.entries.every((e) => e.state === 'completed') && final.scoreboard.every((r) => r.held === r.runs) ? 0 : 1;
  } catch (error) {
    stderr.write(`chaos-handler gameday run: ${errorMessage(error)}\n`);
    return error instanceof Error && error.name === 'InputError' ? 2 : 1;
  } finally {
    await coordinator.close();
  }
}

function describe(record: GameDayRecord): string {
  const lines = ['', `Status: ${record.status}${record.error ? ` (${record.error})` : ''}`, ''];
  for (const e of record.entries) lines.push(`  ${e.kind.padEnd(9)} ${e.state.padEnd(9)} ${e.title} [${e.fault}] ${e.experiment_id ?? ''}${e.detail ? ` — ${e.detail}` : ''}`);
  lines.push('', 'Scoreboard:', '  kind      fault                          runs  detected  diagnosed  held  MTTD p50  MTTR p50');
  for (const r of record.scoreboard) {
    lines.push(`  ${r.kind.padEnd(9)} ${r.fault.padEnd(30)} ${String(r.runs).padStart(4)}  ${String(r.detected).padStart(8)}  ${String(r.diagnosed_right).padStart(9)}  ${String(r.held).padStart(4)}  ${secs(r.mttd_s_p50).padStart(8)}  ${secs(r.mttr_s_p50).padStart(8)}`);
  }
  return `${lines.join('\n')}\n`;
}

const secs = (v: number | null) => (v === null ? 'n/a' : `${v} s`);
