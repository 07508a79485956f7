/**
 * Reading a user's YAML file (experiments, game days, the remediation policy) against a zod
 * schema, with every problem named by its YAML path and the line and column it sits on
 * (`cpu.yaml:12:7: steady_state[0].latency_ms.p: ...`), so a user fixes the file without
 * guessing. The same checks serve a JSON body, without lines.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';

/** One thing wrong with a file: where (YAML path, and line:column when read from text) and what. */
export type YamlIssue = {
  /** `steady_state[0].latency_ms.p`; empty for the document itself. */
  path: string;
  /** 1-based; null when the value did not come from text (a JSON body). */
  line: number | null;
  column: number | null;
  message: string;
};

export type YamlValidation<T> = { ok: true; value: T } | { ok: false; errors: YamlIssue[] };

type PathKey = PropertyKey;

/** `['steady_state', 0, 'url']` → `steady_state[0].url`. */
export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** `file:line:column: path: message`, the shape compilers and editors understand. */
export function formatIssue(file: string, issue: YamlIssue): string {
  const where = issue.line === null ? file : `${file}:${issue.line}:${issue.column ?? 1}`;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

/** Validates YAML text (or JSON, which is YAML) against `schema`; larger than `maxBytes` is refused unread. */
export function validateYaml<S extends z.ZodType>(text: string, schema: S, maxBytes: number): YamlValidation<z.infer<S>> {
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    return { ok: false, errors: [{ path: '', line: 1, column: 1, message: `the file is larger than ${maxBytes} bytes` }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return { path: '', line, column: col, message: `not valid YAML: ${e.message}` };
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // An alias bomb or a circular alias: yaml refuses it while building the value.
    return { ok: false, errors: [{ path: '', line: 1, column: 1, message: `not a usable YAML document: ${error instanceof Error ? error.message : String(error)}` }] };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data as z.infer<S> };
  const position = (path: readonly PathKey[], atKey: boolean) => {
    const offset = offsetOf(doc, path, atKey);
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  return { ok: false, errors: sortByPosition(issuesOf(parsed.error.issues).map(({ pathKeys, atKey, path, message }) => ({ path, message, ...position(pathKeys, atKey) }))) };
}

/** Validates a value that arrived as such (a JSON body): issues name the path only. */
export function validateValue<S extends z.ZodType>(value: unknown, schema: S): YamlValidation<z.infer<S>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data as z.infer<S> };
  return { ok: false, errors: issuesOf(parsed.error.issues).map((i) => ({ path: i.path, line: null, column: null, message: i.message })) };
}

type PathedIssue = { pathKeys: PathKey[]; atKey: boolean; path: string; message: string };

/** One entry per problem; an unknown key is reported at the key itself. */
function issuesOf(issues: readonly z.core.$ZodIssue[]): PathedIssue[] {
  const out: PathedIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const pathKeys = [...issue.path, key];
        out.push({ pathKeys, atKey: true, path: formatPath(pathKeys), message: 'is not a known field here (misspelt, or in the wrong place?)' });
      }
      continue;
    }
    const pathKeys = [...issue.path];
    out.push({ pathKeys, atKey: false, path: formatPath(pathKeys), message: issue.message });
  }
  return out;
}

function sortByPosition(errors: YamlIssue[]): YamlIssue[] {
  return [...errors].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/**
 * Where `path` sits in the document: the node it names, or for a key the key itself; when part
 * of the path is missing (a required field left out), the nearest node that is there.
 */
function offsetOf(doc: Document, path: readonly PathKey[], atKey: boolean): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const [index, key] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) return offset;
      if (atKey && index === path.length - 1) return rangeStart(pair.key) ?? offset;
      // A value-less key (`latency_ms:`) has no node of its own: point at the key.
      offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
      node = pair.value;
      if (node === null || node === undefined) return rangeStart(pair.key) ?? offset;
      continue;
    }
    if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (item === undefined) return offset;
      node = item;
      offset = rangeStart(item) ?? offset;
      continue;
    }
    return offset;
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  if (node === null || typeof node !== 'object' || !('range' in node)) return undefined;
  const range = (node as Node).range;
  return range ? range[0] : undefined;
}
