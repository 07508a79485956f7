import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';
import type { AlertmanagerWebhook, GenericAlertMapping, ReceivedAlert } from './schema.js';

/** Go's zero time: what Alertmanager sends as `endsAt` of an alert still firing. */
const ZERO_TIME = /^0001-01-01T/;

/** Alertmanager's alerts as the alert service sees them; `instanceLabel` names the label holding the host. */
export function fromAlertmanager(payload: AlertmanagerWebhook, instanceLabel: string): ReceivedAlert[] {
  return payload.alerts.map((a) => ({
    source: 'alertmanager' as const,
    status: a.status,
    name: a.labels.alertname ?? 'unnamed alert',
    fingerprint: a.fingerprint,
    instance: a.labels[instanceLabel] ?? null,
    labels: a.labels,
    runbook_url: a.annotations.runbook_url ?? a.annotations.runbook ?? null,
    fired_at: isoOrNull(a.startsAt),
    resolved_at: a.status === 'resolved' && a.endsAt && !ZERO_TIME.test(a.endsAt) ? isoOrNull(a.endsAt) : null,
  }));
}

/**
 * Alerts of any other source, read through the mapping. A required field missing from an alert
 * is an input error naming the alert and the pointer; without a fingerprint pointer, the alert's
 * name and instance identify it.
 */
export function fromGeneric(body: unknown, mapping: GenericAlertMapping): ReceivedAlert[] {
  const list = mapping.alerts === undefined ? [body] : resolvePointer(body, mapping.alerts);
  if (!Array.isArray(list)) throw new InputError(`${mapping.alerts} must point to an array of alerts`, mapping.alerts);
  if (list.length === 0 || list.length > 1000) throw new InputError(`${mapping.alerts ?? 'the body'} must hold 1 to 1000 alerts, got ${list.length}`, mapping.alerts);
  const firing = new Set(mapping.firing.map((s) => s.toLowerCase()));
  const resolved = new Set(mapping.resolved.map((s) => s.toLowerCase()));
  return list.map((alert, i) => {
    const where = mapping.alerts === undefined ? 'the alert' : `alert ${i}`;
    const text = (pointer: string, required: boolean): string | null => {
      const value = resolvePointer(alert, pointer);
      if (typeof value === 'string' && value.length > 0) return value.slice(0, 4096);
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      if (required) throw new InputError(`${where}: ${pointer} is ${value === undefined ? 'missing' : 'not a string'}`, pointer);
      return null;
    };
    const name = text(mapping.name, true)!;
    const statusText = text(mapping.status, true)!.toLowerCase();
    const status = firing.has(statusText) ? 'firing' : resolved.has(statusText) ? 'resolved' : null;
    if (!status) throw new InputError(`${where}: status ${JSON.stringify(statusText)} is neither firing (${[...firing].join(', ')}) nor resolved (${[...resolved].join(', ')})`, mapping.status);
    const instance = text(mapping.instance, false);
    const fingerprint = (mapping.fingerprint ? text(mapping.fingerprint, true)! : digest(`${name}\n${instance ?? ''}`)).slice(0, 128);
    const at = mapping.fired_at ? text(mapping.fired_at, false) : null;
    return {
      source: 'generic' as const,
      status,
      name: name.slice(0, 256),
      fingerprint,
      instance,
      labels: { alertname: name.slice(0, 256), ...(instance ? { instance } : {}) },
      runbook_url: mapping.runbook_url ? text(mapping.runbook_url, false) : null,
      fired_at: at ? isoOrNull(at) : null,
      resolved_at: status === 'resolved' ? new Date().toISOString() : null,
    };
  });
}

/** RFC 6901: `/a/b~1c` reads `doc.a["b/c"]`; array indexes are decimal. Undefined when absent. */
export function resolvePointer(doc: unknown, pointer: string): unknown {
  let at: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(at)) {
      if (!/^(?:0|[1-9]\d*)$/.test(key)) return undefined;
      at = at[Number(key)];
    } else if (at !== null && typeof at === 'object' && Object.hasOwn(at, key)) {
      at = (at as Record<string, unknown>)[key];
    } else {
      return undefined;
    }
  }
  return at;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function isoOrNull(text: string): string | null {
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}
