import { clamp, round, type Candidate, type Facts, type Signal } from '../facts.js';
import type { Culprit } from '../../findings.js';

/** Connection slots this used up are used up: new clients are about to be refused. */
const EXHAUSTED_PCT = 90;
/** The coordinator's own sessions: never the culprit. */
const OURS = new Set(['chaos-sampler', 'chaos-probe']);

export function database(f: Facts): Candidate {
  const signals: Signal[] = [];
  let culprit: Culprit | null = null;
  const db = f.metrics?.db ?? null;
  const incident = f.incidentSamples().flatMap((s) => (s.db ? [s.db] : []));
  const pcts = incident.map((d) => (100 * d.connections) / d.max_connections);
  const peak = pcts.length ? Math.max(...pcts) : 0;
  if (peak >= EXHAUSTED_PCT) {
    const last = incident.at(-1)!;
    signals.push({ weight: 0.7, primary: true, strength: clamp((peak - 80) / 15), ref: { kind: 'limit', ref: 'limit:db.connections', detail: `PostgreSQL connections at ${round(peak)}% of max_connections (${last.connections} of ${last.max_connections})` } });
  }
  const used = f.series('db.connections_pct');
  if (used && f.up(used) && used.incident.max >= 70) {
    signals.push({ weight: 0.65, primary: true, strength: clamp((used.incident.max - 60) / 35), ref: f.metricRef(used, `DB connections up to ${used.incident.max}% of max_connections vs baseline ${used.baseline.median}%`) });
  }
  // A probe refused for want of slots is the exhaustion seen from a client.
  for (const p of f.metrics?.probes ?? []) {
    const full = p.errors.filter((e) => /too many (clients|connections)|remaining connection slots/i.test(e.error)).reduce((n, e) => n + e.count, 0);
    if (full > 0) signals.push({ weight: 0.6, primary: true, strength: clamp(full / 3), ref: { kind: 'probe', ref: `probe:${p.target}`, detail: `${full} ${p.target} probes refused: ${p.errors[0]?.error ?? ''}` } });
  }
  const apps = (db?.by_application ?? []).filter((a) => !OURS.has(a.application));
  const grower = apps[0];
  const holder = [...apps].sort((a, b) => b.incident - a.incident)[0];
  if (grower && grower.incident - grower.baseline >= 5) {
    culprit = { kind: 'db_application', name: grower.application || '(no application_name)', detail: `${grower.incident} connections vs ${grower.baseline} in the baseline` };
    signals.push({ weight: 0.3, primary: false, strength: clamp((grower.incident - grower.baseline) / 50), ref: { kind: 'db', ref: `db:application:${grower.application}`, detail: culprit.detail ?? '' } });
  } else if (holder && db && holder.incident >= 0.3 * db.max_connections) {
    // Holding the slots since before the run: the largest holder is the suspect.
    culprit = { kind: 'db_application', name: holder.application || '(no application_name)', detail: `${holder.incident} of ${db.max_connections} connections` };
    signals.push({ weight: 0.3, primary: false, strength: clamp(holder.incident / db.max_connections / 0.6), ref: { kind: 'db', ref: `db:application:${holder.application}`, detail: culprit.detail ?? '' } });
  }
  signals.push(...f.signatureSignal('too_many_connections', 0.6, true, { absolute: true }));
  return { category: 'db_connection_exhaustion', signals, culprit };
}
