import type { KnownGoodReference } from './reference.js';
import type { ProbeKind } from './primitives.js';

/** What the enrolment asked to probe (EnrolledTarget.services, as stored in targets.json). */
export type ProbeConfig = {
  http?: string | string[];
  db?: string | string[];
  tcp?: string[];
  listener_probes?: boolean;
};

export type ProbeSpec = { kind: ProbeKind; spec: string };

/** Enough to cover a host's services without turning the sampler into a port scanner. */
const MAX_LISTENER_PROBES = 16;

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Every probe the sampler runs for a target: the ones enrolled by hand, plus a TCP probe for each
 * port the host listened on when its reference was taken (unless switched off), so a service
 * nobody named still gets noticed when it stops answering.
 */
export function probePlan(config: ProbeConfig, reference: KnownGoodReference | null): ProbeSpec[] {
  const plan: ProbeSpec[] = [
    ...list(config.http).map((spec) => ({ kind: 'http' as const, spec })),
    ...list(config.tcp).map((spec) => ({ kind: 'tcp' as const, spec })),
    ...list(config.db).map((spec) => ({ kind: 'db' as const, spec })),
  ];
  if (config.listener_probes === false || !reference) return plan;
  const covered = new Set(plan.map((p) => portOfSpec(p.spec)).filter((p): p is number => p !== null));
  const listeners = reference.inventory.listeners
    .filter((l) => l.proto === 'tcp' && l.port < 32768 && !covered.has(l.port))
    .sort((a, b) => a.port - b.port);
  const seen = new Set<number>();
  for (const l of listeners) {
    if (seen.has(l.port) || seen.size >= MAX_LISTENER_PROBES) continue;
    seen.add(l.port);
    plan.push({ kind: 'tcp', spec: `${connectAddress(l.address)}:${l.port}` });
  }
  return plan;
}

/** The sampler's arguments for a plan (`--probe KIND=SPEC`, one per probe). */
export function probeArgs(plan: ProbeSpec[]): string[] {
  return plan.flatMap((p) => ['--probe', `${p.kind}=${p.spec}`]);
}

/** The first database enrolled: what db_conn_exhaust targets when no connection string is given. */
export function firstDb(config: ProbeConfig): string | undefined {
  return list(config.db)[0];
}

/** Where to connect to reach a listener: a wildcard bind is reached on loopback. */
function connectAddress(address: string): string {
  if (address === '0.0.0.0' || address === '*' || address === '') return '127.0.0.1';
  if (address === '::' || address === '[::]') return '[::1]';
  return address.includes(':') ? `[${address.replace(/^\[|\]$/g, '')}]` : address;
}

function portOfSpec(spec: string): number | null {
  const url = /^(https?):\/\/(?:\[[^\]]+\]|[^/:@]+@?[^/:]*)(?::(\d+))?/.exec(spec);
  if (url) return url[2] ? Number(url[2]) : url[1] === 'https' ? 443 : 80;
  const m = /:(\d{1,5})(?:\/|$)/.exec(spec);
  return m ? Number(m[1]) : null;
}
