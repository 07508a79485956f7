/**
 * Host text is hostile: a process may name itself `\e[1A\e[2K…` to rewrite the line above it when
 * fix.sh is read with `cat`, a file name may carry a right-to-left override that shows a script
 * other than the one that runs, a log line may hold a NUL or a lone UTF-16 surrogate that breaks
 * every consumer expecting a string it can quote. Pure functions, in two steps:
 *
 * 1. At the evidence boundary (`sanitizeEvidence`): parse, do not trust. Every string of the value
 *    (keys too) becomes well-formed text: NUL and lone surrogates, which have no faithful form in
 *    argv, UTF-8 or a C string, are replaced by U+FFFD. Everything else is kept, so the diagnosis
 *    still sees the name `ps` shows.
 * 2. Where text reaches a person (`visible`): C0 and C1 controls, DEL and the bidirectional
 *    formatting characters are written as visible escapes (`\x1b`, `\u202e`), never raw.
 */

const REPLACEMENT = '\uFFFD';

/** NUL, and surrogate halves without their partner (with the `u` flag a valid pair is one code point). */
const UNREPRESENTABLE = /\0|[\uD800-\uDFFF]/gu;

/**
 * Characters a terminal or a text renderer acts on instead of showing: C0 controls but tab and
 * newline, DEL, C1 controls, the bidi embeddings, overrides and isolates (U+202A–202E,
 * U+2066–2069) and the implicit marks (U+200E, U+200F, U+061C), and the Unicode line and paragraph
 * separators (a new line to some renderers, none to others).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is what this module is for
const INVISIBLE_CONTROL = /[\0-\x08\x0B-\x1F\x7F-\x9F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/** The same set for one-line contexts: newline included. */
// eslint-disable-next-line no-control-regex -- finding control characters is what this module is for
const INVISIBLE_CONTROL_OR_NEWLINE = /[\0-\x08\x0A-\x1F\x7F-\x9F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/** Characters JSON.stringify leaves raw that a terminal or a bidi renderer still acts on. */
const JSON_RAW_CONTROL = /[\x7F-\x9F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/** Host text made well-formed: NUL and lone surrogates become U+FFFD. Same length in UTF-16 units. */
export function sanitizeHostText(text: string): string {
  return text.replace(UNREPRESENTABLE, REPLACEMENT);
}

/**
 * Every string in a parsed value (object keys included) made well-formed, whatever its shape: new
 * evidence fields are covered without being listed here. Numbers, booleans and null pass
 * through; objects and arrays are copied only where something was replaced.
 */
export function sanitizeEvidence<T>(value: T): T {
  return walk(value) as T;
}

/** Copy on write: a value with nothing to replace comes back as the same object, unallocated. */
function walk(value: unknown): unknown {
  if (typeof value === 'string') return sanitizeHostText(value);
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const inner = walk(value[i]);
      if (inner !== value[i]) (out ??= [...value])[i] = inner;
    }
    return out ?? value;
  }
  if (value !== null && typeof value === 'object') {
    let changed = false;
    const entries = Object.entries(value).map(([key, inner]) => {
      const k = sanitizeHostText(key);
      const v = walk(inner);
      if (k !== key || v !== inner) changed = true;
      return [k, v] as const;
    });
    return changed ? Object.fromEntries(entries) : value;
  }
  return value;
}

/**
 * Text as a person should see it: every control, bidi and separator character written as a
 * visible escape (`\x1b`, `\x7f`, `\u202e`); tab and newline kept. Idempotent: escapes are plain
 * characters. Also makes the text well-formed (see sanitizeHostText).
 */
export function visible(text: string): string {
  return sanitizeHostText(text).replace(INVISIBLE_CONTROL, escapeChar);
}

/** `visible` for one line (a table cell, a comment, a header): newlines escaped too. */
export function visibleLine(text: string): string {
  return sanitizeHostText(text).replace(INVISIBLE_CONTROL_OR_NEWLINE, escapeChar);
}

/**
 * JSON text with the characters JSON.stringify leaves raw (DEL, C1, bidi, U+2028/2029) written as
 * `\uXXXX`: the same JSON value, byte for byte safe to `cat`. Outside strings JSON has no such
 * characters, so replacing them everywhere only ever touches string contents.
 */
export function jsonVisible(json: string): string {
  return json.replace(JSON_RAW_CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Does the text hold a character `visible` would escape? (For tests and guards.) */
export function hasInvisibleControl(text: string): boolean {
  // eslint-disable-next-line no-control-regex -- finding control characters is what this module is for
  return /[\0-\x08\x0B-\x1F\x7F-\x9F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]|[\uD800-\uDFFF]/u.test(text);
}

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * One word for a bash script, exact and visible: single quotes when the text is plain, else
 * ANSI-C quoting (`$'…'`) with every control and bidi character (tab and newline included) as
 * `\xHH` escapes of its UTF-8 bytes (other text kept as it is). The word means exactly the host's
 * bytes (a `[ "$(cat /proc/PID/comm)" = … ]` check still matches), and `cat fix.sh` shows it as
 * written. U+FFFD from sanitizeHostText stays as it is: it never matches a real name.
 */
export function bashWord(text: string): string {
  const t = sanitizeHostText(text);
  // Tab and newline too: a quoted word spread over lines looks like commands of its own.
  const needsEscape = (c: string) => c === '\t' || c === '\n' || hasInvisibleControl(c);
  if (!Array.from(t).some(needsEscape)) return `'${t.replaceAll("'", `'\\''`)}'`;
  let out = '';
  for (const ch of t) {
    if (ch === '\\' || ch === "'") out += `\\${ch}`;
    else if (!needsEscape(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `$'${out}'`;
}
