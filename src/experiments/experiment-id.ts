import { customAlphabet } from 'nanoid';
import { ExperimentId } from './schema.js';

const suffix = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 10);

/** `exp-YYYYMMDD-HHMMSS-<10 random>`: sorts by creation time (UTC), unique across processes. */
export function newExperimentId(now: Date = new Date()): ExperimentId {
  const iso = now.toISOString();
  return `exp-${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${suffix()}`;
}

export function isExperimentId(value: string): value is ExperimentId {
  return ExperimentId.safeParse(value).success;
}
