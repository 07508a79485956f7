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
];

export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}
