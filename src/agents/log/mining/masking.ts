/**
 * Variable masking, applied to a message before the template miner tokenizes it.
 *
 * Every value that is obviously a variable (addresses, numbers, ids, paths, times, sizes…) is
 * replaced by `<*>` so that the parse tree and the similarity only see the constant words of a
 * message. Masking errs on the side of masking: a masked constant costs nothing when every line
 * of that event carries the same constant, while an unmasked variable can split an event.
 *
 * The rules are ordered from the most specific to the most generic (a timestamp must be masked
 * before its digits are taken for numbers). All regexes are linear (no nested quantifiers over
 * the same characters) so that a hostile line cannot make masking slow.
 */

export const MASK = '<*>';

/** One masking rule; exported so that tests can name the rule a case exercises. */
export interface MaskRule {
  readonly name: string;
  readonly pattern: RegExp;
  /** Replacement string (may use `$1`); defaults to the mask. */
  readonly replacement?: string;
}

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\\.?';
const WEEKDAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\\.?,?';
const CLOCK = '\\d{1,2}:\\d{2}(?::\\d{2})?(?:[.,]\\d{1,9})?';
const ZONE = '(?:Z|[+-]\\d{2}:?\\d{2}|\\s?(?:UTC|GMT|[A-Z][SD]T|CES?T|JST|IST))?';
/** Token boundary: what may stand right before a masked value. */
const B = '(?<![A-Za-z0-9_])';
/** Token boundary after a masked value. */
const E = '(?![A-Za-z0-9_])';

/**
 * Well-known top-level domains. A dotted name is only taken for a hostname when it ends in one of
 * these, so that Java packages (`org.apache.Foo`) and file names (`workers2.properties`) are not.
 */
const TLD =
  '(?:com|net|org|edu|gov|mil|int|info|biz|io|local|lan|internal|localdomain|arpa|' +
  'cn|hk|tw|jp|kr|in|ru|de|fr|uk|eu|nl|be|ch|at|it|es|pt|pl|se|no|fi|dk|cz|br|ar|mx|ca|us|au|nz|' +
  'za|om|ae|sa|tr|ir|il|sg|my|th|vn|id|ph|ua)';

export const MASK_RULES: readonly MaskRule[] = [
  // Multi-word values first: they must be masked as one unit, or they would leave a run of masks
  // whose length varies from line to line.
  {
    name: 'textual-date',
    pattern: new RegExp(
      `(?:${WEEKDAY}\\s+)?${MONTH}\\s+\\d{1,2}(?:,?\\s+\\d{4})?\\s+${CLOCK}(?:\\s+[A-Z]{3,4})?(?:\\s+\\d{4})?${E}`,
      'g',
    ),
  },
  {
    name: 'iso-date-time',
    pattern: new RegExp(
      `${B}\\d{4}[-/.]\\d{2}[-/.]\\d{2}(?:[T\\s_-]${CLOCK}${ZONE})?${E}`,
      'g',
    ),
  },
  { name: 'compact-date-time', pattern: new RegExp(`${B}\\d{8}[-T_]${CLOCK}(?::\\d{1,3})?${E}`, 'g') },
  {
    // `1190 bytes (1.16 KB)`, `4KiB`, `512 MB`: a size and its human-readable repetition.
    name: 'size',
    pattern: new RegExp(
      `${B}\\d+(?:\\.\\d+)?(?:\\s?(?:bytes?|[KMGTPE]i?B)|[kKMGTPE]|[kmgt]b)(?:\\s\\(\\d+(?:\\.\\d+)?\\s?[KMGTPE]i?B\\))?${E}`,
      'g',
    ),
  },
  {
    // `12ms`, `3.5s`, `900 seconds`, `<1 sec`.
    name: 'duration',
    pattern: new RegExp(
      `<?${B}\\d+(?:\\.\\d+)?(?:(?:ns|us|µs|ms|s|m|h|d)|\\s?(?:nanoseconds?|microseconds?|milliseconds?|msecs?|secs?|seconds?|mins?|minutes?|hrs?|hours?|days?))${E}`,
      'g',
    ),
  },
  { name: 'url', pattern: /\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>]*/g },
  {
    name: 'uuid',
    pattern: new RegExp(
      `${B}[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}${E}`,
      'g',
    ),
  },
  {
    name: 'mac',
    pattern: new RegExp(`${B}[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5}${E}`, 'g'),
  },
  {
    // Full or `::`-compressed IPv6, optionally bracketed with a port.
    name: 'ipv6',
    pattern: new RegExp(
      `${B}\\[?(?=[0-9a-fA-F:]*\\d)(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|(?:[0-9a-fA-F]{1,4}:){1,7}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?|::(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?)(?:%\\w+)?\\]?(?::\\d{1,5})?(?![\\w:])`,
      'g',
    ),
  },
  {
    name: 'ipv4',
    pattern: new RegExp(`${B}/?\\d{1,3}(?:\\.\\d{1,3}){3}(?:/\\d{1,2})?(?::\\d{1,5})?${E}`, 'g'),
  },
  {
    // `msra-sa-41:9000`, `proxy.cse.cuhk.edu.hk:5070`: a host name with a port.
    name: 'host-port',
    pattern: new RegExp(
      `${B}/?(?=[\\w-]*[.-])[A-Za-z0-9][A-Za-z0-9-]*(?:\\.[A-Za-z0-9-]+)*:\\d{2,5}${E}`,
      'g',
    ),
  },
  {
    name: 'hostname',
    pattern: new RegExp(
      `${B}(?!(?:org|com|java|javax|android|sun|jdk)\\.[a-z0-9-]+\\.[a-z])[A-Za-z0-9][A-Za-z0-9-]*(?:\\.[A-Za-z0-9-]+)+\\.${TLD}\\.?(?![\\w.])`,
      'g',
    ),
  },
  { name: 'windows-path', pattern: /\b[A-Za-z]:\\[^\s"'<>|]*/g },
  {
    // Unix paths: a slash after a boundary, then at least one path character.
    name: 'path',
    pattern: /(?<![\w.])(?:~|\.{1,2})?\/[\w.@~+%-][\w.@~+%/*:-]*/g,
  },
  { name: 'hex', pattern: new RegExp(`${B}0[xX][0-9a-fA-F]+${E}`, 'g') },
  // `Object@1a2b3c`: a Java identity hash.
  { name: 'object-hash', pattern: /@[0-9a-fA-F]{6,}(?![\w])/g },
  {
    // A long hex run with at least one digit and one letter (commit ids, digests, addresses).
    name: 'hex-id',
    pattern: new RegExp(`${B}(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\\d)[0-9a-fA-F]{8,}${E}`, 'g'),
  },
  {
    // `blk_-1234`, `attempt_1445144423722_0020_m_000000_0`, `DFSClient_NONMAPREDUCE_15_1`: an
    // identifier whose underscore-separated parts carry a number of three digits or more.
    name: 'block-id',
    pattern: new RegExp(
      `${B}(?=[A-Za-z][A-Za-z0-9_]*_-?\\d{3})[A-Za-z]\\w*(?:-\\d\\w*)?`,
      'g',
    ),
  },
  { name: 'version', pattern: new RegExp(`${B}v\\d+(?:\\.\\d+)+[a-z]*${E}`, 'g') },
  {
    // `uid=0`, `user=root`, `(class=org.Foo)`: the value of a key=value pair, whatever it is.
    name: 'key-value',
    pattern: /(?<![\w.-])([A-Za-z_][\w.-]*=)(?!<\*>)[^\s,;)\]}>]+/g,
    replacement: `$1${MASK}`,
  },
  { name: 'boolean', pattern: new RegExp(`${B}(?:true|false|null|nil|None|undefined)${E}`, 'g') },
  // Numbers last: ints, floats, signed, dotted versions, `##`-joined or `|`-joined number lists.
  { name: 'number', pattern: new RegExp(`${B}[-+]?\\d+(?:\\.\\d+)*${E}`, 'g') },
];

/** Collapses runs of masks (`<*> <*>`, `<*><*>`, `<*>.<*>`) so variable-length values agree. */
const MASK_RUN = /<\*>(?:[\s.,:#|/-]*<\*>)+/g;
const SPACES = /\s+/g;

/**
 * Masks the variables of one message and normalizes its white space.
 * Idempotent: masking a masked message changes nothing.
 */
export function maskVariables(message: string): string {
  let text = message;
  for (const rule of MASK_RULES) {
    text = text.replace(rule.pattern, rule.replacement ?? MASK);
  }
  return text.replace(MASK_RUN, MASK).replace(SPACES, ' ').trim();
}
