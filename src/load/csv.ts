/**
 * `load.csv`: one row per scheduled request, `timestamp,latency_ms,ok,status,error` (SPEC §11).
 * Pure: the file itself is written through store/.
 */
import type { LoadRecord } from './schema.js';

export const LOAD_CSV_HEADER = 'timestamp,latency_ms,ok,status,error';

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One CSV line (no line break). */
export function toCsvRow(r: LoadRecord): string {
  return [r.timestamp, String(Math.round(r.latency_ms * 1000) / 1000), r.ok ? 'true' : 'false', r.status === null ? '' : String(r.status), field(r.error ?? '')].join(',');
}

/** The whole file: header, then one line per record, each ended by "\n". */
export function toCsv(records: readonly LoadRecord[]): string {
  const lines = [LOAD_CSV_HEADER];
  for (const r of records) lines.push(toCsvRow(r));
  return `${lines.join('\n')}\n`;
}
