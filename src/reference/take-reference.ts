/**
 * Taking a target's known-good reference, as one story: connect (enrolment and host key checked
 * first), watch the host in its steady state for a few seconds (samples, probes, discovery, the
 * services' logs), refuse to call it "good" when a probe failed or a limit is reached, then save.
 */
import type { Logger } from 'pino';
import { InputError } from '../errors.js';
import type { KnownGoodReference } from '../evidence/reference.js';
import type { MetricSample, ProbeResult } from '../evidence/schema.js';
import { probePlan } from '../evidence/probes.js';
import { SshEvidenceSource } from '../evidence/ssh/ssh-evidence-source.js';
import { connectTarget, type ConnectionDefaults } from '../ssh/connect-target.js';
import type { EnrolledTarget } from '../ssh/schema.js';
import type { ReferenceStore } from '../store/reference-store.js';
import { buildReference } from './build-reference.js';

export type TakeReferenceOptions = {
  targets: readonly EnrolledTarget[];
  keysDir: string;
  references: ReferenceStore;
  logger: Logger;
  source: 'enroll' | 'baseline';
  /** Seconds of steady state to record. */
  seconds: number;
  /** Save it even though the host did not look healthy (a probe failed, a limit was reached). */
  force?: boolean;
  connection?: ConnectionDefaults;
  signal?: AbortSignal;
};

export type TakenReference = { reference: KnownGoodReference; file: string; doubts: string[] };

/** Thrown when the host did not look healthy enough to be anyone's "known good". */
export class UnhealthyReferenceError extends InputError {
  constructor(
    message: string,
    readonly doubts: string[],
  ) {
    super(message, 'reference');
  }
}

export async function takeReference(name: string, options: TakeReferenceOptions): Promise<TakenReference> {
  const log = options.logger.child({ target: name });
  const { connection, target } = await connectTarget({ name }, { targets: options.targets, keysDir: options.keysDir, logger: log, ...(options.connection ? { connection: options.connection } : {}) });
  const signal = options.signal ?? new AbortController().signal;
  // The probes of an earlier reference (its listeners) still apply: a refresh keeps watching them.
  const previous = await options.references.load(target.name);
  const source = new SshEvidenceSource(connection, {
    host: `${target.user}@${target.name} (${target.address}:${target.port})`,
    probes: probePlan(target.services, previous),
    reference: previous,
    maxSeconds: options.seconds + 120,
    log,
  });
  try {
    const seen = await source.observeSteadyState(options.seconds, signal);
    if (!seen.inventory) throw new InputError(`${name}: host discovery failed (are the collectors installed? re-run vm_provisioning/provision.sh)`, 'reference');
    const doubts = healthDoubts(seen.samples, seen.probes);
    if (doubts.length && !options.force) {
      throw new UnhealthyReferenceError(`${name} does not look healthy, so it was not recorded as its known-good reference: ${doubts.join('; ')}`, doubts);
    }
    const reference = buildReference({
      target: target.name,
      source: options.source,
      incidentId: null,
      takenAt: new Date(seen.window.end),
      inventory: seen.inventory,
      samples: seen.samples,
      probes: seen.probes,
      logs: seen.logs,
      windowS: Math.max(0, (Date.parse(seen.window.end) - Date.parse(seen.window.start)) / 1000),
    });
    const file = await options.references.save(reference);
    log.info({ file, listeners: reference.inventory.listeners.length, services: reference.inventory.services.length }, 'known-good reference saved');
    return { reference, file, doubts };
  } finally {
    await source.close();
  }
}

/** What makes a steady state not "good": probes that failed, limits at their end. */
function healthDoubts(samples: MetricSample[], probes: ProbeResult[]): string[] {
  const doubts: string[] = [];
  for (const target of new Set(probes.map((p) => p.target))) {
    const mine = probes.filter((p) => p.target === target);
    const failed = mine.filter((p) => !p.ok);
    if (failed.length > mine.length / 5) doubts.push(`probe ${target} failed ${failed.length} of ${mine.length} times (${failed[0]?.error ?? 'no answer'})`);
  }
  const last = samples.at(-1);
  if (last) {
    if (last.mem.used_pct >= 90) doubts.push(`memory ${last.mem.used_pct}% used`);
    for (const d of last.disks) {
      if (d.used_pct >= 90 || (d.inodes_used_pct ?? 0) >= 90) doubts.push(`${d.mount} ${Math.max(d.used_pct, d.inodes_used_pct ?? 0)}% full`);
    }
    if (last.db && last.db.connections >= 0.85 * last.db.max_connections) doubts.push(`PostgreSQL at ${last.db.connections} of ${last.db.max_connections} connections`);
  }
  return doubts;
}
