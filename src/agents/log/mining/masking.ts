/**
 * Variable masking, applied to a message before the template miner tokenizes it.
 *
 * Every value that is obviously a variable (addresses, numbers, ids, paths, times, sizes…) is
 * replaced by `<*>` so that the parse tree and the similarity only see the constant words of a
 * message. Masking errs on the side of masking: a masked constant costs nothing when every line
 * of that event carries the same constant, while an unmasked variable can split an event.
 *
 * Two passes, for speed (masking is most of the miner's time):
 * 1. message rules, for values that span spaces (`Fri Jun 17 07:07:00 2005`, `2015-10-18
 *    18:01:47,978`, `1190 bytes (1.16 KB)`, `900 seconds`), on the whole message;
 * 2. token rules, on each white-space token, in order from the most specific to the most generic
 *    (a uuid before its hex groups can pass for durations like `123d`, ids before numbers). A
 *    token is only offered to the rules whose characters it has (a plain word skips them all).
 * Runs of masks then collapse into one (`<*> <*>`, `<*>:<*>`) so that values of varying length
 * (`0 bytes` / `18846 bytes (18.4 KB)`, lists of block ids) give one template.
 *
 * No regex has nested quantifiers over the same characters, so a hostile line costs linear time.
 */

export const MASK = '<*>';

/** Character classes a token has; a rule is only tried on tokens that have all it needs. */
const HAS_DIGIT = 1;
const HAS_SLASH = 2;
const HAS_DOT = 4;
const HAS_COLON = 8;
const HAS_AT = 16;
const HAS_EQUALS = 32;
const HAS_UNDERSCORE = 64;
const HAS_DASH = 128;
const HAS_BACKSLASH = 256;
const HAS_LETTER = 512;
/** A `*` (a mask already) or white space: not a plain value. */
const HAS_STAR = 1024;

/** One masking rule; exported so that tests can name the rule a case exercises. */
export interface MaskRule {
  readonly name: string;
  readonly scope: 'message' | 'token';
  readonly pattern: RegExp;
  /** Replacement string (may use `$1`); defaults to the mask. */
  readonly replacement?: string;
  /** HAS_* flags the text must all have for the rule to be tried (0: always tried). */
  readonly needs: number;
  /** A cheaper test the text must pass before the rule is tried. */
  readonly hint?: RegExp;
  /** Shortest text the rule can match (tokens shorter than this skip it). */
  readonly minLength?: number;
}

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\\.?';
const WEEKDAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\\.?,?';
const CLOCK = '\\d{1,2}:\\d{1,2}(?::\\d{1,2})?(?:[.,]\\d{1,9})?';
const ZONE = '(?:Z|[+-]\\d{2}:?\\d{2}|\\s?(?:UTC|GMT|[A-Z][SD]T|CES?T|JST|IST))?';
/** Value boundary: what may stand right before a masked value. */
const B = '(?<![A-Za-z0-9_])';
/** Value boundary after a masked value. */
const E = '(?![A-Za-z0-9_])';
const HEX = '[0-9a-fA-F]';
const SIZE_UNIT = '(?:bytes?|[kKMGTPE]i?B)';
const DURATION_WORD =
  '(?:nanoseconds?|microseconds?|milliseconds?|msecs?|secs?|seconds?|mins?|minutes?|hrs?|hours?|days?)';

/**
 * Well-known top-level domains. A dotted name is only taken for a host name when it ends in one
 * of these, so that Java packages (`org.apache.Foo`) and file names (`workers2.properties`) are not.
 */
const TLD =
  '(?:com|net|org|edu|gov|mil|int|info|biz|io|local|lan|internal|localdomain|arpa|' +
  'cn|hk|tw|jp|kr|in|ru|de|fr|uk|eu|nl|be|ch|at|it|es|pt|pl|se|no|fi|dk|cz|br|ar|mx|ca|us|au|nz|' +
  'za|om|ae|sa|tr|ir|il|sg|my|th|vn|id|ph|ua)';

export const MASK_RULES: readonly MaskRule[] = [
  // --- message rules: values with spaces inside -------------------------------------------
  {
    // Fri Jun 17 07:07:00 2005, Sat May 8 09:04:50 EDT 2004, Jun 14 15:16:01
    name: 'textual-date',
    scope: 'message',
    pattern: new RegExp(
      `(?:${WEEKDAY}\\s+)?${MONTH}\\s+\\d{1,2}(?:,?\\s+\\d{4})?\\s+${CLOCK}(?:\\s+[A-Z]{3,4})?(?:\\s+\\d{4})?${E}`,
      'g',
    ),
    needs: HAS_DIGIT | HAS_COLON,
  },
  {
    // 2015-10-18 18:01:47,978, 2024-05-01T10:00:00.123Z, 2005/06/03
    name: 'iso-date-time',
    scope: 'message',
    pattern: new RegExp(`${B}\\d{4}[-/.]\\d{1,2}[-/.]\\d{1,2}(?:[T\\s_-]${CLOCK}${ZONE})?${E}`, 'g'),
    needs: HAS_DIGIT,
  },
  {
    // 1190 bytes (1.16 KB), 512 MB
    name: 'size-words',
    scope: 'message',
    pattern: new RegExp(
      `${B}\\d+(?:\\.\\d+)?\\s${SIZE_UNIT}(?:\\s\\(\\d+(?:\\.\\d+)?\\s?${SIZE_UNIT}\\))?${E}`,
      'g',
    ),
    hint: /\d\s[bkKMGTPE]/,
    needs: HAS_DIGIT,
  },
  {
    // 900 seconds, <1 sec, 15000 milliseconds
    name: 'duration-words',
    scope: 'message',
    pattern: new RegExp(`<?${B}\\d+(?:\\.\\d+)?\\s${DURATION_WORD}${E}`, 'g'),
    hint: /\d\s[nmsdh]/,
    needs: HAS_DIGIT,
  },
  // --- token rules ------------------------------------------------------------------------
  {
    // 20171223-22:15:29:606
    name: 'compact-date-time',
    scope: 'token',
    pattern: new RegExp(`${B}\\d{8}[-T_]${CLOCK}(?::\\d{1,3})?${E}`, 'g'),
    needs: HAS_DIGIT | HAS_COLON,
  },
  {
    name: 'clock',
    scope: 'token',
    pattern: new RegExp(`${B}\\d{1,2}:\\d{2}:\\d{2}(?:[.,]\\d{1,9})?${E}`, 'g'),
    needs: HAS_DIGIT | HAS_COLON,
  },
  {
    name: 'url',
    scope: 'token',
    pattern: /\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>]*/g,
    needs: HAS_COLON | HAS_SLASH,
  },
  {
    name: 'uuid',
    scope: 'token',
    pattern: new RegExp(`${B}${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}${E}`, 'g'),
    needs: HAS_DASH,
    minLength: 36,
  },
  {
    name: 'mac',
    scope: 'token',
    pattern: new RegExp(`${B}${HEX}{2}(?:[:-]${HEX}{2}){5}${E}`, 'g'),
    needs: 0,
    minLength: 17,
  },
  {
    // Full or `::`-compressed IPv6 (with at least one digit), optionally bracketed with a port.
    name: 'ipv6',
    scope: 'token',
    pattern: new RegExp(
      `${B}\\[?(?=[0-9a-fA-F:]*\\d)(?:(?:${HEX}{1,4}:){7}${HEX}{1,4}|(?:${HEX}{1,4}:){1,7}:(?:${HEX}{1,4}(?::${HEX}{1,4}){0,6})?|::(?:${HEX}{1,4}(?::${HEX}{1,4}){0,6})?)(?:%\\w+)?\\]?(?::\\d{1,5})?(?![\\w:])`,
      'g',
    ),
    needs: HAS_COLON | HAS_DIGIT,
  },
  {
    // 10.251.203.80, /10.251.203.80, 10.0.0.0/8, 10.250.15.240:50010
    name: 'ipv4',
    scope: 'token',
    pattern: new RegExp(`${B}/?\\d{1,3}(?:\\.\\d{1,3}){3}(?:/\\d{1,2})?(?::\\d{1,5})?${E}`, 'g'),
    needs: HAS_DOT | HAS_DIGIT,
  },
  {
    // msra-sa-41:9000, proxy.cse.cuhk.edu.hk:5070: a host name with a port.
    name: 'host-port',
    scope: 'token',
    pattern: new RegExp(
      `${B}/?(?=[\\w-]*[.-])[A-Za-z0-9][A-Za-z0-9-]*(?:\\.[A-Za-z0-9-]+)*:\\d{2,5}${E}`,
      'g',
    ),
    needs: HAS_COLON | HAS_DIGIT,
  },
  {
    // ns.marryaldkfaczcz.com, 5.36.59.76.dynamic-dsl-ip.omantel.net.om (not org.apache.Foo).
    name: 'hostname',
    scope: 'token',
    pattern: new RegExp(
      `${B}(?!(?:org|com|java|javax|android|sun|jdk)\\.[a-z0-9-]+\\.[a-z])[A-Za-z0-9][A-Za-z0-9-]*(?:\\.[A-Za-z0-9-]+)+\\.${TLD}\\.?(?![\\w.])`,
      'g',
    ),
    needs: HAS_DOT,
  },
  {
    name: 'windows-path',
    scope: 'token',
    pattern: /\b[A-Za-z]:\\[^\s"'<>|]*/g,
    needs: HAS_COLON | HAS_BACKSLASH,
  },
  {
    // Unix paths: a slash after a boundary, then at least one path character.
    name: 'path',
    scope: 'token',
    pattern: /(?<![\w.])(?:~|\.{1,2})?\/[\w.@~+%-][\w.@~+%/*:-]*/g,
    needs: HAS_SLASH,
  },
  { name: 'hex', scope: 'token', pattern: new RegExp(`${B}0[xX]${HEX}+${E}`, 'g'), needs: HAS_DIGIT },
  {
    // Object@1a2b3c: a Java identity hash.
    name: 'object-hash',
    scope: 'token',
    pattern: new RegExp(`@${HEX}{6,}(?![\\w])`, 'g'),
    needs: HAS_AT | HAS_DIGIT,
  },
  {
    // A long hex run with at least one digit and one letter (commit ids, digests, addresses).
    name: 'hex-id',
    scope: 'token',
    pattern: new RegExp(`${B}(?=${HEX}*[a-fA-F])(?=${HEX}*\\d)${HEX}{8,}${E}`, 'g'),
    needs: HAS_DIGIT,
    minLength: 8,
  },
  {
    // blk_-1234, attempt_1445144423722_0020_m_000000_0, DFSClient_NONMAPREDUCE_1537864556_1: an
    // identifier with an underscore-separated number of three digits or more.
    name: 'block-id',
    scope: 'token',
    pattern: new RegExp(`${B}(?=[A-Za-z][A-Za-z0-9_]*_-?\\d{3})[A-Za-z]\\w*(?:-\\d\\w*)?`, 'g'),
    needs: HAS_UNDERSCORE | HAS_DIGIT,
  },
  {
    // 4KiB, 512MB, 16K, 125312k
    name: 'size',
    scope: 'token',
    pattern: new RegExp(`${B}\\d+(?:\\.\\d+)?(?:${SIZE_UNIT}|[kKMGTPE]|[kmgt]b)${E}`, 'g'),
    needs: HAS_DIGIT,
  },
  {
    // 12ms, 3.5s, 5m, 2h
    name: 'duration',
    scope: 'token',
    pattern: new RegExp(`<?${B}\\d+(?:\\.\\d+)?(?:ns|us|µs|ms|s|m|h|d|${DURATION_WORD})${E}`, 'g'),
    needs: HAS_DIGIT,
  },
  { name: 'version', scope: 'token', pattern: new RegExp(`${B}v\\d+(?:\\.\\d+)+[a-z]*${E}`, 'g'), needs: HAS_DIGIT },
  {
    // uid=0, pid=12ab: the value of a key=value pair when it carries a digit. Word values
    // (tty=ssh, state=RUNNING) are usually modes that tell events apart; when they are
    // variables (user=root), the similarity of the rest of the line generalizes them.
    name: 'key-value',
    scope: 'token',
    pattern: /(?<![\w.-])([A-Za-z_][\w.-]*=)(?!<\*>)(?=[^\s,;)\]}>]*\d)[^\s,;)\]}>]+/g,
    replacement: `$1${MASK}`,
    needs: HAS_EQUALS | HAS_DIGIT,
  },
  {
    name: 'boolean',
    scope: 'token',
    pattern: new RegExp(`${B}(?:true|false|null|nil|None|undefined)${E}`, 'g'),
    needs: 0,
  },
  // Numbers last: ints, floats, signed, dotted versions, ##-joined or |-joined number lists.
  { name: 'number', scope: 'token', pattern: new RegExp(`${B}[-+]?\\d+(?:\\.\\d+)*${E}`, 'g'), needs: HAS_DIGIT },
];

const MESSAGE_RULES = MASK_RULES.filter((rule) => rule.scope === 'message');
const TOKEN_RULES = MASK_RULES.filter((rule) => rule.scope === 'token');
const BOOLEAN_RULE = TOKEN_RULES.find((rule) => rule.name === 'boolean') ?? TOKEN_RULES[0];
/** First letters of the boolean words (t, f, n, N, u). */
const BOOLEAN_START = new Set([116, 102, 110, 78, 117]);

/** Collapses runs of masks (`<*> <*>`, `<*><*>`, `<*>.<*>`) so variable-length values agree. */
const MASK_RUN = /<\*>(?:[\s.,:#|/-]*<\*>)+/g;
const SPACES = /\s+/;
const DIGIT = /\d/;

/** The HAS_* flags of a text, in one pass over its characters. */
function flagsOf(text: string): number {
  let flags = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) flags |= HAS_DIGIT;
    else if (c === 47) flags |= HAS_SLASH;
    else if (c === 46) flags |= HAS_DOT;
    else if (c === 58) flags |= HAS_COLON;
    else if (c === 64) flags |= HAS_AT;
    else if (c === 61) flags |= HAS_EQUALS;
    else if (c === 95) flags |= HAS_UNDERSCORE;
    else if (c === 45) flags |= HAS_DASH;
    else if (c === 92) flags |= HAS_BACKSLASH;
    else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c > 127) flags |= HAS_LETTER;
    else if (c === 42 || c === 32 || c === 9) flags |= HAS_STAR;
  }
  return flags;
}

const OPENERS = '([{<"\'';
const CLOSERS = ')]}>"\',;:.';

function maskToken(token: string): string {
  if (token === MASK) return token;
  const flags = flagsOf(token);
  if ((flags & ~HAS_LETTER) === 0) {
    // A plain word: only a boolean can be a value.
    return BOOLEAN_START.has(token.charCodeAt(0)) ? token.replace(BOOLEAN_RULE.pattern, MASK) : token;
  }
  // The commonest case: digits and punctuation only (numbers, addresses, clocks, number lists).
  // The value is masked whole; brackets and trailing punctuation around it are kept.
  if ((flags & (HAS_LETTER | HAS_STAR)) === 0 && (flags & HAS_DIGIT) !== 0) {
    let start = 0;
    while (start < token.length && OPENERS.includes(token.charAt(start))) start++;
    let end = token.length;
    while (end > start && CLOSERS.includes(token.charAt(end - 1))) end--;
    return `${token.slice(0, start)}${MASK}${token.slice(end)}`;
  }
  let text = token;
  for (const rule of TOKEN_RULES) {
    if ((flags & rule.needs) !== rule.needs || text.length < (rule.minLength ?? 0)) continue;
    if (rule.name === 'mac' && (flags & (HAS_COLON | HAS_DASH)) === 0) continue;
    text = text.replace(rule.pattern, rule.replacement ?? MASK);
  }
  return text;
}

/**
 * Masks the variables of one message and normalizes its white space.
 * Idempotent: masking a masked message changes nothing.
 */
export function maskVariables(message: string): string {
  let text = message;
  if (DIGIT.test(text)) {
    const flags = flagsOf(text);
    for (const rule of MESSAGE_RULES) {
      if ((flags & rule.needs) !== rule.needs) continue;
      if (rule.hint !== undefined && !rule.hint.test(text)) continue;
      text = text.replace(rule.pattern, rule.replacement ?? MASK);
    }
  }
  const tokens = text.split(SPACES);
  let masks = false;
  let j = 0;
  for (const token of tokens) {
    if (token === '') continue;
    const masked = maskToken(token);
    if (!masks && masked.includes(MASK)) masks = true;
    tokens[j++] = masked;
  }
  tokens.length = j;
  const out = tokens.join(' ');
  return masks ? out.replace(MASK_RUN, MASK) : out;
}
