import type { EnrolledTarget } from '../ssh/schema.js';

export type TargetMatch = { ok: true; target: string } | { ok: false; reason: string };

/**
 * The enrolled target an alert's instance label names: `host`, `host:port` (the exporter's port,
 * not SSH's, so the port is ignored) or `[v6]:port`, compared with each target's name and its
 * enrolled host, case-insensitively. Two targets on one host are ambiguous: nothing is opened.
 */
export function matchTarget(instance: string | null, targets: readonly Pick<EnrolledTarget, 'name' | 'host'>[], label: string): TargetMatch {
  if (instance === null || instance.trim() === '') return { ok: false, reason: `the alert has no ${label} label: nothing says which host it is about` };
  const host = hostOf(instance);
  const found = targets.filter((t) => t.name.toLowerCase() === host || normalHost(t.host) === host);
  if (found.length === 1) return { ok: true, target: found[0]!.name };
  if (found.length > 1) return { ok: false, reason: `${label} ${JSON.stringify(instance)} matches ${found.length} enrolled targets (${found.map((t) => t.name).join(', ')}): name one of them in the label` };
  const names = targets.map((t) => t.name);
  return {
    ok: false,
    reason: `${label} ${JSON.stringify(instance.slice(0, 200))} is not an enrolled target (${names.length ? `enrolled: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}` : 'none enrolled'})`,
  };
}

/** "10.0.0.5:9100" → "10.0.0.5", "[::1]:9100" → "::1", "web-1.example.com." → "web-1.example.com". */
export function hostOf(instance: string): string {
  const text = instance.trim().toLowerCase();
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (v6) return v6[1]!;
  // Two colons or more without brackets: a bare IPv6 address, no port to strip.
  if ((text.match(/:/g) ?? []).length >= 2) return text;
  return normalHost(text.replace(/:\d+$/, ''));
}

function normalHost(host: string): string {
  return host.trim().toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}
