import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Paths pino blanks wherever they appear, so secrets never reach a log line. */
export const REDACT_PATHS = [
  'token',
  'apiToken',
  'authorization',
  'req.headers.authorization',
  'privateKey',
  'passphrase',
  'password',
  'webhookUrl',
  '*.token',
  '*.privateKey',
  '*.password',
  '*.webhookUrl',
  '*.authorization',
  'apiKey',
  '*.apiKey',
  'CHAOS_LLM_API_KEY',
  '*.CHAOS_LLM_API_KEY',
  'CHAOS_API_TOKEN',
  '*.CHAOS_API_TOKEN',
];

/**
 * Blanks the secrets a connection string can carry (`postgresql://user:secret@host`,
 * `password=secret`), wherever such a string ends up: remote command lines, errors, DSNs.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s'"]*:)[^@\s'"]*@/gi, '$1[redacted]@')
    .replace(/\b(password|passwd|pgpassword)(\s*=\s*)('[^']*'|"[^"]*"|[^\s'"&]+)/gi, '$1$2[redacted]');
}

export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Remote command lines and connection strings are logged often (an interrupted command is
      // a warning): whatever credential one may carry is blanked at this one place.
      serializers: { command: (v: unknown) => (typeof v === 'string' ? redactSecrets(v) : v), dsn: (v: unknown) => (typeof v === 'string' ? redactSecrets(v) : v), err: (v: unknown) => (typeof v === 'string' ? redactSecrets(v) : pino.stdSerializers.err(v as Error)) },
    },
    destination,
  );
}
