import { ageText } from '../../evidence/reference.js';
import { median, round, type Facts } from './facts.js';
import type { EvidenceRef } from '../findings.js';

/**
 * Positive evidence of health (SPEC §1): probes that passed, limits respected, nothing missing
 * against the known-good reference. "Nothing changed" is not on the list: a host broken before
 * the run began changes nothing during it.
 */
export type HealthCheck = {
  /** Every check that could be made passed. */
  healthy: boolean;
  /** What passed, each a sentence a person can verify. */
  passed: EvidenceRef[];
  /** What did not, for `unknown`. */
  failed: EvidenceRef[];
  /** How much was checked, in [0,1]: probes, limits, reference. */
  coverage: number;
};

export function checkHealth(f: Facts): HealthCheck {
  const passed: EvidenceRef[] = [];
  const failed: EvidenceRef[] = [];
  const incident = f.incidentSamples();

  const probes = f.metrics?.probes ?? [];
  const failing = probes.filter((p) => p.incident_ok_pct < 95);
  if (probes.length && !failing.length) {
    const n = probes.reduce((acc, p) => acc + p.total, 0);
    passed.push({ kind: 'probe', ref: 'probes:all', detail: `${probes.length} health probe(s) answered in ${n} of ${n} checks: ${probes.map((p) => p.target).slice(0, 6).join(', ')}` });
  }
  for (const p of failing) failed.push({ kind: 'probe', ref: `probe:${p.target}`, detail: `${p.target} answered ${p.incident_ok_pct}% of its probes: ${p.errors[0]?.error ?? ''}` });

  if (incident.length) {
    const cpu = median(incident.map((s) => s.cpu.busy_pct));
    const mem = median(incident.map((s) => s.mem.used_pct));
    const disks = f.metrics?.disks ?? [];
    const fullest = [...disks].sort((a, b) => Math.max(b.incident_used_pct, b.incident_inodes_pct ?? 0) - Math.max(a.incident_used_pct, a.incident_inodes_pct ?? 0))[0];
    const fullPct = fullest ? Math.max(fullest.incident_used_pct, fullest.incident_inodes_pct ?? 0) : 0;
    const db = incident.flatMap((s) => (s.db ? [(100 * s.db.connections) / s.db.max_connections] : []));
    const dbPct = db.length ? Math.max(...db) : null;
    const limits = incident.flatMap((s) => (s.limits ? [Math.max(s.limits.files_open / s.limits.files_max, s.limits.tasks / s.limits.tasks_max)] : []));
    const limitPct = limits.length ? 100 * Math.max(...limits) : null;
    const over = [
      // Busy is not a fault, pinned is: nothing is left for anyone else.
      cpu >= 95 ? `CPUs pinned at ${round(cpu)}% busy` : null,
      mem >= 90 ? `memory ${round(mem)}% used` : null,
      fullPct >= 90 ? `${fullest!.mount} ${round(fullPct)}% full` : null,
      dbPct !== null && dbPct >= 85 ? `DB connections at ${round(dbPct)}%` : null,
      limitPct !== null && limitPct >= 85 ? `system limits at ${round(limitPct)}%` : null,
      (f.evidence.snapshot?.fd_pressure ?? []).some((p) => p.open_fds >= 0.95 * p.limit) ? 'a process at its open-files limit' : null,
    ].filter((x): x is string => x !== null);
    if (over.length) failed.push({ kind: 'limit', ref: 'limits', detail: `limits reached: ${over.join(', ')}` });
    else
      passed.push({
        kind: 'limit',
        ref: 'limits',
        detail: `limits respected: CPU ${round(cpu)}% busy, memory ${round(mem)}% used${fullest ? `, fullest filesystem ${fullest.mount} at ${round(fullPct)}%` : ''}${dbPct !== null ? `, DB connections ${round(dbPct)}%` : ''}`,
      });
  }

  const ref = f.reference;
  if (ref) {
    const missing = f.missingListeners();
    const age = ageText(Date.parse(f.evidence.windows.incident.end) - Date.parse(ref.taken_at));
    if (missing.length) failed.push({ kind: 'reference', ref: 'reference:listeners', detail: `${missing.length} port(s) of the reference no longer listen: ${missing.map((l) => l.port).join(', ')}` });
    else if (f.listeningNow() !== null) passed.push({ kind: 'reference', ref: 'reference:listeners', detail: `all ${new Set(ref.inventory.listeners.filter((l) => l.proto === 'tcp' && l.port < 32768).map((l) => l.port)).size} listening ports of the reference (${ref.source.replace('_', ' ')}, ${age} old) still listen` });
  }

  const checked = (probes.length ? 0.4 : 0) + (incident.length ? 0.35 : 0) + (ref ? 0.25 : 0);
  return { healthy: failed.length === 0 && passed.length > 0, passed, failed, coverage: round(checked) };
}
