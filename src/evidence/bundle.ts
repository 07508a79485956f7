import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { InputError } from '../errors.js';
import type { Evidence} from './schema.js';
import { HostInventory } from './inventory.js';
import { KnownGoodReference } from './reference.js';
import { BundleManifest, HostSnapshot, LogStream, MetricSample, Phase, ProbeResult } from './schema.js';

/**
 * The on-disk evidence bundle (examples/<name>/, or bundle/ inside a recorded incident):
 *
 *   manifest.json                  BundleManifest (provenance; `label` is never shown to agents)
 *   metrics.jsonl                  one MetricSample per line
 *   probes.jsonl                   one ProbeResult per line
 *   snapshot.json                  HostSnapshot (optional)
 *   inventory.json                 HostInventory: what discovery found at the start (optional)
 *   reference.json                 KnownGoodReference the run was judged against (optional)
 *   logs/<phase>/<stream>.log      raw log lines captured in that phase
 */
export type Bundle = { manifest: BundleManifest; evidence: Evidence };

export async function readBundle(dir: string): Promise<Bundle> {
  const manifest = parseFile(BundleManifest, await readText(dir, 'manifest.json'), dir, 'manifest.json', JSON.parse);
  const samples = parseJsonLines(MetricSample, await readText(dir, 'metrics.jsonl'), dir, 'metrics.jsonl');
  const probes = parseJsonLines(ProbeResult, await readText(dir, 'probes.jsonl', ''), dir, 'probes.jsonl');
  const snapshotText = await readText(dir, 'snapshot.json', '');
  const snapshot = snapshotText ? parseFile(HostSnapshot, snapshotText, dir, 'snapshot.json', JSON.parse) : null;
  const inventory = await readOptionalJson(HostInventory, dir, 'inventory.json');
  const reference = await readOptionalJson(KnownGoodReference, dir, 'reference.json');
  const logs = { baseline: await readLogs(dir, 'baseline'), incident: await readLogs(dir, 'incident') };
  const evidence: Evidence = {
    source: 'offline',
    host: manifest.host,
    windows: manifest.windows,
    fault_started_at: manifest.fault_started_at,
    fault_reverted_at: manifest.fault_reverted_at,
    logs,
    samples,
    probes,
    snapshot,
    inventory,
    reference,
  };
  return { manifest, evidence };
}

/** The files of a bundle as (relative path, content) pairs; the store writes them. */
export function serializeBundle(manifest: BundleManifest, evidence: Evidence): { name: string; content: string }[] {
  // What was captured, counted as it is written: the bundle can later be checked against it.
  const logLines = (phase: Phase) => evidence.logs[phase].reduce((n, stream) => n + stream.lines.length, 0);
  const counted: BundleManifest = { ...manifest, log_lines: { baseline: logLines('baseline'), incident: logLines('incident') } };
  const files = [
    { name: 'manifest.json', content: `${JSON.stringify(counted, null, 2)}\n` },
    { name: 'metrics.jsonl', content: jsonLines(evidence.samples) },
    { name: 'probes.jsonl', content: jsonLines(evidence.probes) },
  ];
  if (evidence.snapshot) files.push({ name: 'snapshot.json', content: `${JSON.stringify(evidence.snapshot, null, 2)}\n` });
  if (evidence.inventory) files.push({ name: 'inventory.json', content: `${JSON.stringify(evidence.inventory, null, 2)}\n` });
  if (evidence.reference) files.push({ name: 'reference.json', content: `${JSON.stringify(evidence.reference, null, 2)}\n` });
  for (const phase of Phase.options) {
    for (const stream of evidence.logs[phase]) {
      files.push({ name: `logs/${phase}/${stream.name}.log`, content: stream.lines.map((l) => `${l}\n`).join('') });
    }
  }
  return files;
}

function jsonLines(values: unknown[]): string {
  return values.map((v) => `${JSON.stringify(v)}\n`).join('');
}

async function readLogs(dir: string, phase: Phase): Promise<LogStream[]> {
  const logDir = path.join(dir, 'logs', phase);
  const names = await readdir(logDir).catch(() => [] as string[]);
  const streams: LogStream[] = [];
  for (const file of names.filter((n) => n.endsWith('.log')).sort()) {
    const text = await readFile(path.join(logDir, file), 'utf8');
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    streams.push(parseFile(LogStream, { name: file.slice(0, -4), lines }, dir, `logs/${phase}/${file}`, (v) => v));
  }
  return streams;
}

async function readOptionalJson<T>(schema: z.ZodType<T>, dir: string, name: string): Promise<T | null> {
  const text = await readText(dir, name, '');
  return text ? parseFile(schema, text, dir, name, JSON.parse) : null;
}

async function readText(dir: string, name: string, fallback?: string): Promise<string> {
  try {
    return await readFile(path.join(dir, name), 'utf8');
  } catch (error) {
    if (fallback !== undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw new InputError(`Evidence bundle ${dir} has no readable ${name}`, 'bundle', { cause: error });
  }
}

function parseFile<T, I>(schema: z.ZodType<T>, input: I, dir: string, name: string, decode: (input: I) => unknown): T {
  let value: unknown;
  try {
    value = decode(input);
  } catch (error) {
    throw new InputError(`Evidence bundle ${dir}: ${name} is not valid JSON`, 'bundle', { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(`Evidence bundle ${dir}: ${name} ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`, 'bundle');
  }
  return parsed.data;
}

function parseJsonLines<T>(schema: z.ZodType<T>, text: string, dir: string, name: string): T[] {
  return text
    .split('\n')
    .map((line, i) => ({ line, i }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, i }) => parseFile(schema, line, dir, `${name} line ${i + 1}`, JSON.parse));
}
