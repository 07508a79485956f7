import { clamp, round, type Candidate, type Facts, type Signal } from '../facts.js';
import type { Culprit, SeriesFinding } from '../../findings.js';
import type { LevelBand } from '../../../evidence/reference.js';

/** A filesystem (or its inodes) this full is full, on any host: writes are about to fail. */
const FULL_PCT = 90;
/**
 * Filling fast: at the pace it grew since the known-good reference it is full within this many
 * hours, once it is this full (node-exporter's mixin warns on predict_linear reaching 0 within
 * 24 h with under 40 % left). A fill that is over before the run began shows only this way.
 */
const FILL_HORIZON_H = 24;
const FILLING_PCT = 60;
/** Points above the fullest the healthy host ever was, below which a rise is housekeeping. */
const MIN_RISE_PCT = 10;

export function disk(f: Facts): Candidate {
  const signals: Signal[] = [];
  let culprit: Culprit | null = null;
  const disks = f.metrics?.disks ?? [];
  const fullness = (d: (typeof disks)[number]) => Math.max(d.incident_used_pct, d.incident_inodes_pct ?? 0);
  const fullest = [...disks].sort((a, b) => fullness(b) - fullness(a))[0];

  if (fullest && fullness(fullest) >= FULL_PCT) {
    const inodes = (fullest.incident_inodes_pct ?? 0) > fullest.incident_used_pct;
    const pct = fullness(fullest);
    const what = inodes ? `inodes ${fullest.incident_inodes_pct}% used (space ${fullest.incident_used_pct}%)` : `${fullest.incident_used_pct}% used`;
    signals.push({
      weight: 0.75,
      primary: true,
      strength: clamp((pct - 88) / 10),
      ref: { kind: 'limit', ref: `limit:disk:${fullest.mount}`, detail: `${fullest.mount}${fullest.fstype ? ` (${fullest.fstype})` : ''}: ${what}` },
    });
    culprit = mountCulprit(fullest.mount, fullest.largest_files, inodes ? `inodes ${fullest.incident_inodes_pct}% used` : `${fullest.incident_used_pct}% used`);
  }

  const grown = f
    .seriesMatching(/^disk:.*\.used_pct$/)
    .filter((s) => f.up(s))
    .map((s) => ({ s, growth: s.incident.max - s.baseline.median }))
    .sort((a, b) => b.growth - a.growth)[0];
  if (grown && grown.growth >= 2) {
    const mount = grown.s.key.slice('disk:'.length, -'.used_pct'.length);
    signals.push({
      weight: 0.7,
      primary: true,
      strength: clamp(grown.growth / 25 + (grown.s.incident.max >= 90 ? 0.4 : 0)),
      ref: f.metricRef(grown.s, `${mount} used ${grown.s.incident.max}% vs baseline ${grown.s.baseline.median}%`),
    });
    if (!culprit) {
      const info = disks.find((d) => d.mount === mount);
      culprit = mountCulprit(mount, info?.largest_files ?? [], `grew by ${info?.growth_mb ?? '?'} MB`);
    }
  }
  // Against the known-good reference: far fuller than the healthy host ever was.
  for (const s of f.seriesMatching(/^disk:.*\.used_pct$/)) {
    const above = f.aboveReference(s, 10);
    if (above > 0 && s.incident.median >= 75) {
      signals.push({ weight: 0.45, primary: true, strength: clamp(above / 3), ref: f.metricRef(s, `${s.label} ${s.incident.median}% vs ${f.band(s.key)!.median}% normally (${f.referenceLabel()})`) });
      break;
    }
  }
  const filling = fillingSinceReference(f);
  if (filling) {
    signals.push({
      weight: 0.6,
      primary: true,
      strength: clamp(0.5 + 0.5 * (1 - filling.hoursToFull / FILL_HORIZON_H)),
      ref: f.metricRef(filling.s, `${filling.s.label} ${filling.s.incident.median}%, at most ${filling.band.max}% in ${f.referenceLabel()}: ${round(filling.perHour)} points an hour, full in about ${round(filling.hoursToFull, 1)} h at that pace`),
    });
    if (!culprit) {
      const info = disks.find((d) => d.mount === filling.mount);
      culprit = mountCulprit(filling.mount, info?.largest_files ?? [], `from ${filling.band.max}% to ${filling.s.incident.median}% since the reference`);
    }
  }
  if (culprit?.files?.length) {
    signals.push({ weight: 0.2, primary: false, strength: 1, ref: { kind: 'snapshot', ref: `snapshot:largest_files:${culprit.name}`, detail: culprit.files.slice(0, 3).map((x) => `${x.path} ${x.size_mb} MB`).join(', ') } });
  }
  signals.push(...f.signatureSignal('no_space_left', 0.6, true, { absolute: true }));
  return { category: 'disk_full', signals, culprit };
}

function mountCulprit(mount: string, files: { path: string; size_mb: number }[], what: string): Culprit {
  return { kind: 'mount', name: mount, files: files.slice(0, 5), detail: `${what}${files[0] ? `; largest file ${files[0].path} (${round(files[0].size_mb)} MB)` : ''}` };
}

/** The filesystem (space or inodes) filling fastest since the reference, when it will be full within FILL_HORIZON_H. */
function fillingSinceReference(f: Facts): { s: SeriesFinding; band: LevelBand; mount: string; perHour: number; hoursToFull: number } | null {
  const ref = f.reference;
  if (!ref) return null;
  // Never less than a minute: a reference taken moments ago says nothing of a pace.
  const ageH = Math.max(1 / 60, (Date.parse(f.evidence.windows.incident.end) - Date.parse(ref.taken_at)) / 3_600_000);
  const found = f
    .seriesMatching(/^disk:.*\.(used|inodes_used)_pct$/)
    .flatMap((s) => {
      const band = f.band(s.key);
      const level = s.incident.median;
      const rise = band ? level - band.max : 0;
      if (!band || level < FILLING_PCT || rise < MIN_RISE_PCT) return [];
      const perHour = rise / ageH;
      const hoursToFull = (100 - level) / perHour;
      const mount = s.key.slice('disk:'.length).replace(/\.(used|inodes_used)_pct$/, '');
      return hoursToFull <= FILL_HORIZON_H ? [{ s, band, mount, perHour, hoursToFull }] : [];
    })
    .sort((a, b) => a.hoursToFull - b.hoursToFull);
  return found[0] ?? null;
}
