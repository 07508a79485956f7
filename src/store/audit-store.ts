import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { InputError, NotFoundError } from '../errors.js';
import { IsoTime } from '../evidence/primitives.js';
import { jsonVisible } from '../evidence/sanitize.js';
import { appendLineDurably, endsWithNewline } from './atomic.js';
import type { IncidentStore } from './incident-store.js';

const AUDIT_LOG = 'audit.jsonl';

/** What an output tail keeps: the end of a step's output, where the error usually is. */
export const OUTPUT_TAIL_CHARS = 4096;

/**
 * One line of the audit log: who did what to which incident, when. `actor` is the approver's
 * name for approvals and rejections, `policy` for what a policy file decided, `coordinator` for
 * what the engine did by itself. `action` is a short snake_case verb (`approved`,
 * `step_applied`, `verification_failed`…).
 */
export const AuditEntry = z.object({
  ts: IsoTime,
  incident_id: z.string().nullable(),
  actor: z.string().min(1).max(128),
  action: z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/, 'a snake_case verb such as approved or step_applied'),
  step_id: z.string().min(1).max(128).optional(),
  detail: z.string().max(4000),
  output_tail: z.string().max(OUTPUT_TAIL_CHARS).optional(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** What a caller hands to `append`: the time defaults to now, the incident id comes from the call. */
export type AuditEntryInput = Omit<AuditEntry, 'ts' | 'incident_id' | 'output_tail'> & { ts?: string; incident_id?: string | null; output_tail?: string };

/** A line of an audit log that could not be read: torn (the last one, cut off by a crash) or corrupt. */
export type BadAuditLine = { line: number; kind: 'torn' | 'corrupt' };

/**
 * The audit trail of remediation (SPEC §10): append-only JSON lines, one per approval, step,
 * output tail and verification, written to the incident's `audit.jsonl` and to the global
 * `<incidents dir>/audit.jsonl`. Each append is one write of one line, fsynced; a crash can only
 * tear the last line, which readers skip and the next append starts after.
 */
export class AuditStore {
  /** Appends to one file happen one at a time within this process, so lines never interleave. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly incidents: IncidentStore) {}

  /** The global log: every incident's entries and those of no incident (a policy load, a halt). */
  get globalFile(): string {
    return path.join(this.incidents.root, AUDIT_LOG);
  }

  /** The incident's own log; NotFoundError for anything that is not an incident id. */
  file(incidentId: string): string {
    return path.join(this.incidents.dir(incidentId), AUDIT_LOG);
  }

  /**
   * Validates and appends the entry to the incident's log (when it has one) and to the global
   * log, incident first. Returns the entry as written.
   */
  async append(incidentId: string | null, input: AuditEntryInput): Promise<AuditEntry> {
    if (input.incident_id !== undefined && input.incident_id !== incidentId) {
      throw new InputError(`Audit entry names incident ${String(input.incident_id)} but is appended to ${String(incidentId)}`, 'incident_id');
    }
    const tail = input.output_tail === undefined ? {} : { output_tail: input.output_tail.slice(-OUTPUT_TAIL_CHARS) };
    const parsed = AuditEntry.safeParse({ ...input, ...tail, ts: input.ts ?? new Date().toISOString(), incident_id: incidentId });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(`Invalid audit entry: ${issue.path.join('.') || '(entry)'}: ${issue.message}`, String(issue.path[0] ?? ''));
    }
    const entry = parsed.data;
    const line = `${jsonVisible(JSON.stringify(entry))}\n`;
    if (incidentId !== null) {
      const file = this.file(incidentId);
      const folder = await stat(path.dirname(file)).catch(() => null);
      if (!folder?.isDirectory()) throw new NotFoundError(`No incident ${incidentId}`);
      await this.appendLine(file, line);
    }
    await this.appendLine(this.globalFile, line);
    return entry;
  }

  /** The incident's audit entries, oldest first ([] before anything was audited). */
  async read(incidentId: string): Promise<AuditEntry[]> {
    return (await this.inspect(incidentId)).entries;
  }

  /** The incident's entries and the lines that had to be skipped. */
  async inspect(incidentId: string): Promise<{ entries: AuditEntry[]; bad: BadAuditLine[] }> {
    if (!(await this.incidents.exists(incidentId))) throw new NotFoundError(`No incident ${incidentId}`);
    return parseAuditLog(await readText(this.file(incidentId)));
  }

  /** Every entry of the global log, oldest first (e.g. to seed the rate limiter after a restart). */
  async readGlobal(): Promise<AuditEntry[]> {
    return parseAuditLog(await readText(this.globalFile)).entries;
  }

  private appendLine(file: string, line: string): Promise<void> {
    const previous = this.queues.get(file) ?? Promise.resolve();
    const next = previous.then(async () => {
      // A line torn by a crash must not swallow the next entry: start on a line of our own.
      if (!(await endsWithNewline(file))) await appendLineDurably(file, '');
      await appendLineDurably(file, line);
    });
    const settled = next.catch(() => undefined);
    this.queues.set(file, settled);
    void settled.then(() => {
      if (this.queues.get(file) === settled) this.queues.delete(file);
    });
    return next;
  }
}

/**
 * An audit log read leniently: a torn last line (what a crash mid-append leaves) and corrupt
 * lines elsewhere are skipped and reported; neither hides the entries around them.
 */
export function parseAuditLog(text: string): { entries: AuditEntry[]; bad: BadAuditLine[] } {
  const lines = text.split('\n');
  const lastIndex = lines.findLastIndex((l) => l.trim() !== '');
  const entries: AuditEntry[] = [];
  const bad: BadAuditLine[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const entry = parseLine(line);
    if (entry) entries.push(entry);
    else bad.push({ line: index + 1, kind: index === lastIndex && !text.endsWith('\n') ? 'torn' : 'corrupt' });
  });
  return { entries, bad };
}

function parseLine(line: string): AuditEntry | null {
  try {
    const parsed = AuditEntry.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  });
}
