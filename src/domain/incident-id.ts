import { customAlphabet } from 'nanoid';
import { z } from 'zod';

const suffix = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 10);

/** `inc-YYYYMMDD-HHMMSS-<10 random>`: sorts by creation time (UTC), unique across processes. */
export const IncidentId = z
  .string()
  .regex(/^inc-\d{8}-\d{6}-[0-9a-z]{10}$/, 'must look like inc-YYYYMMDD-HHMMSS-xxxxxxxxxx');
export type IncidentId = z.infer<typeof IncidentId>;

export function newIncidentId(now: Date = new Date()): IncidentId {
  const iso = now.toISOString(); // 2026-11-22T22:16:35.123Z
  const date = iso.slice(0, 10).replaceAll('-', '');
  const time = iso.slice(11, 19).replaceAll(':', '');
  return `inc-${date}-${time}-${suffix()}`;
}

export function isIncidentId(value: string): value is IncidentId {
  return IncidentId.safeParse(value).success;
}
