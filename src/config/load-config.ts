import { InputError } from '../errors.js';
import { Config } from './schema.js';

/**
 * Reads the configuration from an environment passed in (main.ts passes process.env; tests pass
 * their own). Throws one InputError listing every bad variable.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const relevant = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith('CHAOS_') && v !== undefined && v !== ''),
  );
  const parsed = Config.safeParse(relevant);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
  throw new InputError(`Invalid configuration:\n  ${problems.join('\n  ')}`, String(parsed.error.issues[0]?.path[0] ?? ''));
}
