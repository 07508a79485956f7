import { z } from 'zod';

/** `POST /targets/:name/watch` body and `chaos-handler watch` flags. */
export const WatchOptions = z
  .object({
    interval_s: z.number().min(1).max(60).default(2).describe('Seconds between light samples of the host'),
    consecutive: z.number().int().min(1).max(60).default(3).describe('Samples in a row out of band before an investigation opens (K)'),
    cooldown_s: z.number().int().min(0).max(86_400).default(600).describe('After opening an investigation, open none for this long (a flapping host does not flood)'),
    outside_probes: z.boolean().default(true).describe("Also fetch the target's enrolled HTTP probes from the coordinator's side, as its users do: a link fault is invisible from the host itself"),
  })
  .strict();
export type WatchOptions = z.infer<typeof WatchOptions>;

export const WatchState = z.enum(['starting', 'watching', 'reconnecting', 'stopped', 'failed']);
export type WatchState = z.infer<typeof WatchState>;

/** An investigation the watch opened (or tried to). */
export const WatchDetection = z.object({
  /** Coordinator clock, when the K-th sample out of band arrived. */
  detected_at: z.string(),
  /** Host clock, the first sample of the streak. */
  first_out_at: z.string(),
  breaches: z.array(z.string()),
  incident_id: z.string().nullable(),
  /** Why no incident opened (target busy, the coordinator's cap). */
  error: z.string().nullable(),
});
export type WatchDetection = z.infer<typeof WatchDetection>;

/** What `GET /watches` shows of one watch. */
export const WatchView = z.object({
  target: z.string(),
  state: WatchState,
  options: WatchOptions,
  started_at: z.string(),
  stopped_at: z.string().nullable(),
  samples: z.number().int().nonnegative(),
  last_sample_at: z.string().nullable(),
  /** Samples in a row out of band now, and why the last one was. */
  out_of_band: z.number().int().nonnegative(),
  breaches: z.array(z.string()),
  cooldown_until: z.string().nullable(),
  reference: z.string().nullable(),
  detections: z.array(WatchDetection),
  error: z.string().nullable(),
});
export type WatchView = z.infer<typeof WatchView>;

/** A watch as `watches.json` keeps it across a restart of the coordinator. */
export const SavedWatch = z.object({ target: z.string().min(1).max(64), options: WatchOptions, since: z.string() });
export type SavedWatch = z.infer<typeof SavedWatch>;
export const SavedWatchesFile = z.object({ format_version: z.literal(1), watches: z.array(SavedWatch).max(1_000) });
export type SavedWatchesFile = z.infer<typeof SavedWatchesFile>;
