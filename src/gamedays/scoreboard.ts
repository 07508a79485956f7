/**
 * The game day's scoreboard: per fault kind, how many runs there were, how many the coordinator
 * detected and diagnosed right, how many kept their steady state, and the median MTTD and MTTR.
 * Pure: computed from the experiments' summaries.
 */
import { median } from 'simple-statistics';
import type { ExperimentSummary } from '../experiments/result-schema.js';
import type { EntryProgress, ScoreRow } from './schema.js';

export function scoreboard(entries: { progress: EntryProgress; summary: ExperimentSummary | null }[]): ScoreRow[] {
  const rows = new Map<string, ScoreRow & { mttd: number[]; mttr: number[] }>();
  for (const { progress, summary } of entries) {
    const key = `${progress.kind}:${progress.fault}`;
    const row = rows.get(key) ?? { fault: progress.fault, kind: progress.kind, runs: 0, detected: 0, diagnosed_right: 0, held: 0, mttd_s_p50: null, mttr_s_p50: null, mttd: [], mttr: [] };
    rows.set(key, row);
    for (const run of summary?.runs ?? []) {
      if (run.kind !== 'experiment') continue;
      row.runs += 1;
      const category = run.diagnosis?.category ?? null;
      if (category !== null && category !== 'healthy') row.detected += 1;
      if (run.diagnosis?.matched) row.diagnosed_right += 1;
      if (run.held) row.held += 1;
      if (run.mttd_s !== null) row.mttd.push(run.mttd_s);
      if (run.mttr_s !== null) row.mttr.push(run.mttr_s);
    }
  }
  return [...rows.values()].map(({ mttd, mttr, ...row }) => ({
    ...row,
    mttd_s_p50: mttd.length ? round(median(mttd)) : null,
    mttr_s_p50: mttr.length ? round(median(mttr)) : null,
  }));
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
