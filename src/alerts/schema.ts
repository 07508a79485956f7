/**
 * What alert sources send to `POST /alerts` (SPEC §12): Alertmanager's webhook payload, version
 * 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config), and, for other
 * sources, any JSON read through a small mapping of pointer paths.
 */
import { z } from 'zod';

const LabelSet = z.record(z.string().max(256), z.string().max(4096));

export const AlertmanagerAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: LabelSet,
  annotations: LabelSet.default({}),
  startsAt: z.string().max(64),
  /** "0001-01-01T00:00:00Z" while firing (Go's zero time). */
  endsAt: z.string().max(64).optional(),
  generatorURL: z.string().max(4096).optional(),
  fingerprint: z.string().min(1).max(128),
});
export type AlertmanagerAlert = z.infer<typeof AlertmanagerAlert>;

export const AlertmanagerWebhook = z.object({
  version: z.literal('4', { error: 'must be "4" (Alertmanager webhook payload version 4)' }),
  groupKey: z.string().max(4096).optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(256),
  groupLabels: LabelSet.default({}),
  commonLabels: LabelSet.default({}),
  commonAnnotations: LabelSet.default({}),
  externalURL: z.string().max(4096).optional(),
  alerts: z.array(AlertmanagerAlert).min(1).max(1000),
});
export type AlertmanagerWebhook = z.infer<typeof AlertmanagerWebhook>;

/**
 * A pointer into a JSON document, RFC 6901 style: `/labels/instance`, `/tags/0`; `~1` is `/`
 * and `~0` is `~` inside a segment.
 */
const Pointer = z.string().regex(/^(?:\/[^/]*)+$/, 'must be a JSON pointer such as /labels/instance');

/**
 * How to read a generic webhook (`POST /alerts/generic`): where its alerts are (`alerts`: a
 * pointer to an array; absent, the body is one alert), and where in each alert to find the
 * fields. Given as JSON in CHAOS_ALERT_GENERIC_MAPPING.
 */
export const GenericAlertMapping = z
  .object({
    alerts: Pointer.optional(),
    name: Pointer,
    instance: Pointer,
    status: Pointer,
    fingerprint: Pointer.optional(),
    runbook_url: Pointer.optional(),
    fired_at: Pointer.optional(),
    /** Status values that mean "firing" (compared case-insensitively); anything else listed in `resolved` resolves. */
    firing: z.array(z.string().min(1).max(64)).min(1).max(16).default(['firing', 'triggered', 'alerting', 'open', 'problem']),
    resolved: z.array(z.string().min(1).max(64)).min(1).max(16).default(['resolved', 'ok', 'closed', 'recovered']),
  })
  .strict();
export type GenericAlertMapping = z.infer<typeof GenericAlertMapping>;

/** One alert, whatever sent it: what the alert service works on. */
export type ReceivedAlert = {
  source: 'alertmanager' | 'generic';
  status: 'firing' | 'resolved';
  name: string;
  fingerprint: string;
  /** The value of the instance label (or the configured label); null when the alert has none. */
  instance: string | null;
  labels: Record<string, string>;
  runbook_url: string | null;
  fired_at: string | null;
  resolved_at: string | null;
};

/** What became of one alert of a notification: the answer lists one per alert, in order. */
export const AlertOutcome = z.object({
  fingerprint: z.string(),
  alertname: z.string(),
  status: z.enum(['firing', 'resolved']),
  outcome: z.enum(['opened', 'duplicate', 'resolved_recorded', 'unmapped', 'not_opened', 'ignored']),
  incident_id: z.string().nullable(),
  target: z.string().nullable(),
  reason: z.string(),
});
export type AlertOutcome = z.infer<typeof AlertOutcome>;

/** What the coordinator remembers of each alert fingerprint (state dir, survives a restart). */
export const AlertMemory = z.object({
  fingerprint: z.string().min(1).max(128),
  name: z.string().max(256),
  target: z.string().max(64),
  incident_id: z.string().max(64),
  /** The alert's own start (startsAt): a repeat of the same firing carries the same one. */
  fired_at: z.string().nullable(),
  opened_at: z.string(),
  resolved_at: z.string().nullable(),
});
export type AlertMemory = z.infer<typeof AlertMemory>;

export const AlertMemoryFile = z.object({ format_version: z.literal(1), alerts: z.array(AlertMemory).max(10_000) });
export type AlertMemoryFile = z.infer<typeof AlertMemoryFile>;
