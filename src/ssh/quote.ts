/**
 * The only way a remote command line is built from values: a fixed script path from an allowlist,
 * then each argument single-quoted. Inside single quotes a POSIX shell interprets nothing, so the
 * only character to handle is the quote itself, written as `'\''` (close, escaped quote, reopen).
 */
import { InputError } from '../errors.js';

/** Where the chaos scripts live on a host (SPEC §2). */
export const CHAOS_SCRIPTS_DIR = '/opt/chaos-scripts/';

// With the `u` flag a surrogate pair is one code point, so this only finds unpaired halves.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** One argument as a single-quoted POSIX shell word. */
export function shellQuote(arg: string): string {
  // A C string (argv, the SSH exec request) ends at NUL: the rest would silently vanish.
  if (arg.includes('\0')) throw new InputError('argument contains a NUL byte');
  // A lone surrogate has no UTF-8 form; it would reach the host as U+FFFD, a different argument.
  if (LONE_SURROGATE.test(arg)) throw new InputError('argument is not well-formed Unicode');
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

export type BuildCommandOptions = {
  /** The scripts this caller may run: absolute, normalized paths under /opt/chaos-scripts/. */
  allowedScripts: ReadonlySet<string> | readonly string[];
  /** Prefix with `sudo -n --` (fail instead of prompting when sudo would ask for a password). */
  sudo?: boolean;
};

/**
 * `<script> '<arg>'...`, optionally behind `sudo -n --`. The script must be in the allowlist
 * (exact string match); arguments are expected to be validated by the caller already (numbers,
 * enums, names) and are quoted regardless.
 */
export function buildCommand(scriptPath: string, args: readonly string[], options: BuildCommandOptions): string {
  const allowed = new Set(options.allowedScripts);
  for (const path of allowed) assertScriptPath(path);
  if (!allowed.has(scriptPath)) throw new InputError('script is not in the allowed set', 'scriptPath');
  const words = [shellQuote(scriptPath), ...args.map(shellQuote)];
  if (options.sudo) words.unshift('sudo', '-n', '--');
  return words.join(' ');
}

/** Allowlisted paths are configuration, not input; a bad one is a programming error. */
function assertScriptPath(path: string): void {
  const safe =
    path.startsWith(CHAOS_SCRIPTS_DIR) &&
    /^[A-Za-z0-9._/-]+$/.test(path) &&
    !path.split('/').some((part) => part === '.' || part === '..') &&
    !path.includes('//') &&
    !path.endsWith('/');
  if (!safe) throw new InputError(`allowed script path ${JSON.stringify(path)} is not a file under ${CHAOS_SCRIPTS_DIR}`);
}
