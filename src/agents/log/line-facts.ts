import type { Severity } from '../findings.js';

/** How much a line of each severity counts when ranking templates. */
export const SEVERITY_WEIGHT: Record<Severity, number> = {
  debug: 0.2,
  info: 0.5,
  notice: 0.7,
  warning: 1.5,
  error: 3,
  critical: 4,
};

// Ordered: the first rule that matches wins, so "FATAL" beats a later "error" in the same line.
const SEVERITY_RULES: [RegExp, Severity][] = [
  [/\b(?:EMERG|ALERT|CRIT(?:ICAL)?|FATAL|PANIC)\b|kernel panic|Out of memory|oom-kill|segfault/i, 'critical'],
  [/\b(?:ERR(?:OR)?|FAIL(?:ED|URE)?|SEVERE)\b|\bE[A-Z]{3,}\b(?=:)|No space left|refused|denied|too many clients/i, 'error'],
  [/\bWARN(?:ING)?\b|\btimed? ?out\b|retry(?:ing)?\b|\bdegraded\b/i, 'warning'],
  [/\bNOTICE\b/i, 'notice'],
  [/\b(?:DEBUG|TRACE)\b/i, 'debug'],
];

/** Severity from the line's own words (level fields, syslog keywords, well-known failures). */
export function lineSeverity(line: string): Severity {
  for (const [pattern, severity] of SEVERITY_RULES) if (pattern.test(line)) return severity;
  return 'info';
}

const ISO_LIKE = /\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,]\d+)?\s?(Z|[+-]\d{2}:?\d{2}|UTC)?/;
const SYSLOG = /^(?:<\d+>)?([A-Z][a-z]{2}\s+\d{1,2}\s\d{2}:\d{2}:\d{2})\b/;
const DMESG = /^\[\s*(\d+\.\d+)\]/;

/**
 * When the line says it happened, for first/last-seen columns: ISO-8601 when the line carries a
 * full date, otherwise the line's own timestamp text (syslog omits the year; dmesg counts seconds
 * since boot). Null when the line has none.
 */
export function lineTimestamp(line: string): string | null {
  const iso = ISO_LIKE.exec(line);
  if (iso) {
    const zone = iso[3] === undefined || iso[3] === 'UTC' ? 'Z' : iso[3];
    const parsed = Date.parse(`${iso[1]}T${iso[2]}${zone}`);
    if (!Number.isNaN(parsed)) return new Date(parsed).toISOString();
  }
  const syslog = SYSLOG.exec(line);
  if (syslog?.[1]) return syslog[1].replace(/\s+/g, ' ');
  const dmesg = DMESG.exec(line);
  if (dmesg) return `boot+${dmesg[1]}s`;
  return null;
}
