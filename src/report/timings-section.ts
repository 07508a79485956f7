/**
 * The incident's timings in the report and the Slack summary (pure). Only timestamps the
 * coordinator wrote and numbers: no host text reaches these lines.
 */
import type { IncidentTimings } from '../domain/index.js';
import { formatSeconds } from '../incidents/timings.js';

const MOMENTS: { key: keyof IncidentTimings; label: string }[] = [
  { key: 'fault_started_at', label: 'Fault started' },
  { key: 'detected_at', label: 'Detected' },
  { key: 'diagnosed_at', label: 'Diagnosed' },
  { key: 'approved_at', label: 'Approved' },
  { key: 'mitigated_at', label: 'Mitigated' },
  { key: 'recovered_at', label: 'Recovered' },
];

/** "## Timings": each moment with its offset from the fault's start, then MTTD, MTTR, approval wait. */
export function timingsSection(timings: IncidentTimings | null | undefined): string[] {
  if (!timings) return [];
  const start = timings.fault_started_at ? Date.parse(timings.fault_started_at) : null;
  const out = ['## Timings', '', '| Moment | When | After the fault began |', '|---|---|---:|'];
  for (const { key, label } of MOMENTS) {
    const at = timings[key] as string | null;
    const offset = at !== null && start !== null ? `${Math.round((Date.parse(at) - start) / 100) / 10} s` : '—';
    const note = key === 'fault_started_at' && at !== null ? ` (${timings.fault_start_source === 'estimated' ? 'estimated from the evidence' : 'injected'})` : '';
    out.push(`| ${label} | ${at ?? (key === 'fault_started_at' && timings.detected_at !== null ? 'unknown: before the run began' : '—')}${note} | ${offset} |`);
  }
  out.push('');
  out.push(`**MTTD** ${formatSeconds(timings.mttd_s)} · **MTTR** ${formatSeconds(timings.mttr_s)} · **waiting for approval** ${formatSeconds(timings.approval_wait_s)}`, '');
  return out;
}

/** One line for the Slack summary; null when nothing was measured. */
export function timingsLine(timings: IncidentTimings | null | undefined): string | null {
  if (!timings || (timings.mttd_s === null && timings.mttr_s === null && timings.approval_wait_s === null)) return null;
  const parts = [`MTTD ${formatSeconds(timings.mttd_s)}`, `MTTR ${formatSeconds(timings.mttr_s)}`];
  if (timings.approval_wait_s !== null) parts.push(`approval wait ${formatSeconds(timings.approval_wait_s)}`);
  return `${parts.join(', ')}${timings.fault_start_source === 'estimated' ? ' (fault start estimated from the evidence)' : ''}`;
}
