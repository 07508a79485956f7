/**
 * `chaos-handler baseline <target> [--seconds 10] [--force]`: records (or refreshes) the target's
 * known-good reference while the host is healthy. Exit 0 recorded, 2 bad input or refused (the
 * host did not look healthy: nothing saved), 1 the host could not be reached.
 */
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../config/index.js';
import { errorMessage, InputError, NotAllowedError } from '../errors.js';
import { createLogger } from '../logger.js';
import { takeReference, UnhealthyReferenceError } from '../reference/take-reference.js';
import type { ConnectionDefaults } from '../ssh/connect-target.js';
import { loadTargets } from '../ssh/targets.js';
import { ReferenceStore } from '../store/reference-store.js';

export const BASELINE_USAGE = `Usage: chaos-handler baseline <target> [--seconds 10] [--force]

Watches the enrolled target in its steady state for --seconds (samples, probes, what it runs and
listens on, its services' logs) and saves that as its known-good reference in CHAOS_STATE_DIR:
what \`investigate\` compares the host with. Run it when the host is healthy; a host whose probes
fail or whose limits are reached is refused unless --force.
`;

type Out = { write(text: string): unknown };

export async function runBaseline(args: string[], env: Record<string, string | undefined>, stdout: Out, stderr: Out): Promise<number> {
  const say = (text: string): void => void stderr.write(`chaos-handler baseline: ${text}\n`);
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { seconds: { type: 'string', default: '10' }, force: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  } catch (error) {
    say(`${errorMessage(error)}\n\n${BASELINE_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    stdout.write(BASELINE_USAGE);
    return 0;
  }
  const seconds = Number(values.seconds);
  if (positionals.length !== 1 || !/^\d{1,3}$/.test(values.seconds ?? '') || seconds < 2 || seconds > 600) {
    say(`${positionals.length !== 1 ? `give exactly one target name, got ${positionals.length}` : `--seconds: must be a whole number from 2 to 600, got ${JSON.stringify(values.seconds)}`}\n\n${BASELINE_USAGE}`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig({ CHAOS_LOG_LEVEL: 'warn', ...env });
  } catch (error) {
    say(errorMessage(error));
    return 2;
  }
  const logger = createLogger(config.CHAOS_LOG_LEVEL, pino.destination(2));
  return recordReference(positionals[0]!, { config, logger, source: 'baseline', seconds, force: values.force ?? false }, stdout, say);
}

/** Takes and saves the reference, telling the user what it holds; shared with `enroll`. */
export async function recordReference(
  name: string,
  options: { config: Config; logger: Logger; source: 'enroll' | 'baseline'; seconds: number; force: boolean; connection?: ConnectionDefaults },
  stdout: Out,
  say: (text: string) => void,
): Promise<number> {
  const { config } = options;
  try {
    const { targets } = await loadTargets(config.CHAOS_TARGETS_FILE);
    if (!targets.some((t) => t.name === name)) throw new InputError(`no target named "${name}" in ${config.CHAOS_TARGETS_FILE} (chaos-handler targets lists them)`, 'target');
    stdout.write(`Recording the known-good reference of ${name} (${options.seconds} s of steady state)...\n`);
    const taken = await takeReference(name, {
      targets,
      keysDir: config.CHAOS_KEYS_DIR,
      references: new ReferenceStore(config.CHAOS_STATE_DIR, options.logger),
      logger: options.logger,
      source: options.source,
      seconds: options.seconds,
      force: options.force,
      ...(options.connection ? { connection: options.connection } : {}),
    });
    const r = taken.reference;
    const ports = [...new Set(r.inventory.listeners.filter((l) => l.proto === 'tcp').map((l) => l.port))].sort((a, b) => a - b);
    stdout.write(`Known-good reference of ${name} saved to ${taken.file}:\n`);
    stdout.write(`  listening TCP ports: ${ports.join(', ') || 'none'}\n`);
    stdout.write(`  services: ${r.inventory.services.map((s) => s.name).join(', ') || 'none found'}\n`);
    stdout.write(`  log files: ${r.inventory.log_files.length}, filesystems: ${r.inventory.mounts.map((m) => m.mount).join(', ')}\n`);
    stdout.write(`  probes: ${r.probes.map((p) => `${p.target} ${p.ok_pct}% ok`).join(', ') || 'none'}\n`);
    if (r.inventory.postgres.length) stdout.write(`  PostgreSQL: ${r.inventory.postgres.map((p) => `port ${p.port} (max_connections ${p.max_connections ?? '?'})`).join(', ')}\n`);
    if (taken.doubts.length) stdout.write(`  saved despite (--force): ${taken.doubts.join('; ')}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UnhealthyReferenceError) {
      say(`${error.message}. Fix the host, or pass --force${options.source === 'enroll' ? '-reference' : ''} if this is its normal.`);
      return 2;
    }
    say(`the known-good reference of ${name} was not recorded: ${errorMessage(error)}${options.source === 'enroll' ? ` (the target is enrolled; run \`chaos-handler baseline ${name}\` later)` : ''}`);
    // 2: refused before or without touching the host (bad name, policy); 1: the host failed us.
    return error instanceof InputError || error instanceof NotAllowedError ? 2 : 1;
  }
}
