/**
 * Variable masking, applied to a message before the template miner groups it.
 *
 * Values are recognised by their shape, the same way in any log; no rule is chosen by file,
 * program or dataset. Each masked value becomes `<*>`, so that the parse tree and the similarity
 * only see the constant words of a message.
 *
 * The rules, in the order they apply to each white-space token:
 * 1. **Shapes whose parts may hold no digit**, masked whole: URLs (`scheme://…`), Unix and
 *    Windows paths, e-mail addresses, UUIDs, MAC and IPv6 addresses, and host names ending in a
 *    real top-level domain (`ns.example.com`; not `org.apache.Foo` nor `workers.properties`).
 * 2. **The digit rule**: every identifier run (letters, digits, `_`; a sign or `<`/`>`/`~`
 *    right before a digit belongs to it) that contains a digit is a variable. This one rule
 *    covers numbers (`42`, `-1`, `0.25`, `1,234`), addresses and ports (`10.0.0.1:8080`),
 *    clocks and dates (`18:01:47,978`, `2015-10-18`), numbers with units (`12ms`, `4KiB`,
 *    `3.5s`), hex (`0x1f`, `9f4ef63`, digests), versions (`v1.2.3`), ids with numbers in them
 *    (`blk_-42`, `attempt_1445_0020_m_000000_0`, `rdd_2_1`, `dn228`, `node-246`, `u0`) and
 *    the values of `key=value` pairs (`uid=0`); constant parts around it stay (`core.<*>`,
 *    `(uid=<*>)`, `[<*>]:`).
 *    A run of eight or more hex letters and nothing else is a value too (`ffffffff`).
 * 3. **Booleans and nulls** (`true`, `false`, `null`, `None`…), as words of their own.
 * 4. **Empty values**: `rhost=`, `()`, `[]`, `""` get a mask inside, since other lines of the same
 *    event print a value there.
 * Then, across tokens: a month or weekday name next to a masked value is part of that date
 * (`Fri Jun <*>`; inside a token too, `10/Oct/2000:13:55:36`), and a unit word after a masked
 * number is part of it (`<*> bytes`, `<*> seconds`, `<*> KB`, time zones, `AM`/`PM`). Last, runs
 * of masks separated only by white space or value punctuation collapse into one (`<*> <*>`,
 * `<*>:<*>`, `<*>, <*>`, `<*> (<*>)`), so that values of varying length (`0 bytes` /
 * `18846 bytes (18.4 KB)`, lists of ids) agree.
 *
 * Word values stay words (`tty=ssh`, `state=RUNNING`, user and service names): whether such a
 * word is a constant or a variable is decided by the miner from how it varies across lines.
 *
 * Speed: one pass over the characters of each token classifies it; a plain word costs one scan
 * and a set lookup; the few regexes only run on tokens that have the characters they need, and
 * none has nested quantifiers over the same characters, so a hostile line costs linear time.
 * Most lines need no masking at all: they repeat the mask key of an earlier line (below).
 */

export const MASK = '<*>';

// Character classes of ASCII codes (one lookup per character).
const C_LETTER = 1;
const C_DIGIT = 2;
const C_UNDERSCORE = 4;
const C_SIGN = 8; // - + < > ~
const C_SEPARATOR = 16; // what may stand between two masks that collapse: . , : # | / - and space
const CLASS = new Uint8Array(128);
for (let c = 65; c <= 90; c++) CLASS[c] = C_LETTER;
for (let c = 97; c <= 122; c++) CLASS[c] = C_LETTER;
for (let c = 48; c <= 57; c++) CLASS[c] = C_DIGIT;
CLASS[95] = C_UNDERSCORE;
for (const c of '-+<>~') CLASS[c.charCodeAt(0)] |= C_SIGN;
for (const c of '.,:#|/- \t') CLASS[c.charCodeAt(0)] |= C_SEPARATOR;

function classOf(code: number): number {
  // Non-ASCII characters are letters (accented words, CJK): part of identifier runs.
  return code < 128 ? (CLASS[code] ?? 0) : C_LETTER;
}

function isRunCode(code: number): boolean {
  return (classOf(code) & (C_LETTER | C_DIGIT | C_UNDERSCORE)) !== 0;
}

function isDigitCode(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isHexLetter(code: number): boolean {
  return (code >= 97 && code <= 102) || (code >= 65 && code <= 70);
}

/** A run of this many hex letters and nothing else is a hex value (`ffffffff`, `deadbeef`), not a word. */
const HEX_WORD_LENGTH = 8;

/** Booleans and nulls: values, whatever their position. */
const VALUE_WORDS = new Set(['true', 'false', 'null', 'nil', 'None', 'undefined', 'True', 'False', 'NULL']);

const MONTHS = new Set(
  ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Sept', 'Oct', 'Nov', 'Dec',
    'January', 'February', 'March', 'April', 'June', 'July', 'August', 'September', 'October',
    'November', 'December'].flatMap((m) => [m, m.toUpperCase()]),
);
const WEEKDAYS = new Set(
  ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun', 'Monday', 'Tuesday', 'Wednesday', 'Thursday',
    'Friday', 'Saturday', 'Sunday'].flatMap((d) => [d, d.toUpperCase()]),
);
/** Words that belong to the number or time before them. */
const UNIT_WORDS = new Set([
  'B', 'b', 'byte', 'bytes', 'Bytes', 'kB', 'KB', 'MB', 'GB', 'TB', 'PB', 'KiB', 'MiB', 'GiB', 'TiB', 'kb', 'mb', 'gb',
  'ns', 'us', 'µs', 'ms', 'msec', 'msecs', 'sec', 'secs', 'second', 'seconds', 'millisecond', 'milliseconds',
  'microsecond', 'microseconds', 'nanosecond', 'nanoseconds', 'min', 'mins', 'minute', 'minutes', 'hour', 'hours',
  'hr', 'hrs', 'day', 'days', 'AM', 'PM', 'UTC', 'GMT', 'Z', 'CET', 'CEST', 'EST', 'EDT', 'PST', 'PDT', 'CST', 'CDT',
  'MST', 'MDT', 'BST', 'IST', 'JST', 'KST',
]);

/**
 * Top-level domains a host name may end in (the common generic ones and country codes). A dotted
 * name is only taken for a host name when it ends in one of these, so that Java classes
 * (`org.apache.Foo`) and file names (`workers.properties`) are not.
 */
const TLDS = new Set(
  ('com net org edu gov mil int info biz io co me tv ly app dev cloud local lan internal localdomain arpa ' +
    'cn hk tw jp kr in ru de fr uk eu nl be ch at it es pt pl se no fi dk cz br ar mx ca us au nz za om ae ' +
    'sa tr ir il sg my th vn id ph ua ro hu gr bg sk si hr rs lt lv ee is ie lu cl pe ve ng ke eg ma pk bd')
    .split(' '),
);

const URL = /\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>]*/g;
const WINDOWS_PATH = /\b[A-Za-z]:\\[^\s"'<>|]*/g;
/** A slash after a boundary, then at least one path character. */
const UNIX_PATH = /(?<![\w.])(?:~|\.{1,2})?\/[\w.@~+%-][\w.@~+%/*:-]*/g;
const EMAIL = /(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
const HEX = '[0-9a-fA-F]';
const UUID = new RegExp(`(?<![A-Za-z0-9_])${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}(?![A-Za-z0-9_])`, 'g');
const MAC = new RegExp(`(?<![A-Za-z0-9_])${HEX}{2}(?:[:-]${HEX}{2}){5}(?![A-Za-z0-9_])`, 'g');
/** Full or `::`-compressed IPv6 with at least one digit, optionally bracketed, with a port. */
const IPV6 = new RegExp(
  `(?<![A-Za-z0-9_])\\[?(?=[0-9a-fA-F:]*\\d)(?:(?:${HEX}{1,4}:){7}${HEX}{1,4}|(?:${HEX}{1,4}:){1,7}:(?:${HEX}{1,4}(?::${HEX}{1,4}){0,6})?|::(?:${HEX}{1,4}(?::${HEX}{1,4}){0,6})?)(?:%\\w+)?\\]?(?::\\d{1,5})?(?![\\w:])`,
  'g',
);
/** A dotted host name; only tried when a label is a known TLD (see hasTldLabel). */
const HOSTNAME =
  /(?<![A-Za-z0-9_])(?!(?:org|com|java|javax|android|sun|jdk)\.[a-z0-9-]+\.[a-z])[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)+\.?(?![\w.])/g;

/** Whether some label after a dot is a known TLD ending there (cheap gate for HOSTNAME). */
function hasTldLabel(token: string): boolean {
  let dot = token.indexOf('.');
  while (dot >= 0) {
    let end = dot + 1;
    while (end < token.length) {
      const c = token.charCodeAt(end);
      if (c < 97 || c > 122) break;
      end++;
    }
    if (end > dot + 1) {
      const next = end < token.length ? token.charCodeAt(end) : -1;
      const bounded = next === -1 || !(isRunCode(next) || next === 45 || next === 46) || (next === 46 && end + 1 === token.length);
      if (bounded && TLDS.has(token.slice(dot + 1, end))) return true;
    }
    dot = token.indexOf('.', dot + 1);
  }
  return false;
}

/** Replaces each match of `pattern` in `text` by a mask. */
function maskAll(text: string, pattern: RegExp): string {
  pattern.lastIndex = 0;
  return pattern.test(text) ? text.replace(pattern, MASK) : text;
}

// What a token holds, found in one scan (see scanToken).
const F_DIGIT = 1;
const F_PUNCT = 2;
const F_SLASH = 4;
const F_DOT = 8;
const F_AT = 16;
const F_BACKSLASH = 32;
const F_HEX_LETTER = 64;
/** An empty value: `()`, `[]`, `{}`, `""`, `''`, or a trailing `key=`. */
const F_EMPTY = 128;
const F_DOUBLE_COLON = 256;
const F_NON_HEX_LETTER = 512;

/** Rule 1: shapes whose parts may hold no digit, tried only on tokens with the characters they need. */
function maskShapes(token: string, flags: number, colons: number, dashes: number): string {
  let text = token;
  if ((flags & F_SLASH) !== 0) {
    if (text.includes('://')) text = maskAll(text, URL);
    text = maskAll(text, UNIX_PATH);
  }
  if ((flags & F_BACKSLASH) !== 0 && colons > 0) text = maskAll(text, WINDOWS_PATH);
  if ((flags & (F_AT | F_DOT)) === (F_AT | F_DOT)) text = maskAll(text, EMAIL);
  if (dashes >= 4 && text.length >= 36) text = maskAll(text, UUID);
  if ((colons >= 5 || dashes >= 5) && text.length >= 17) text = maskAll(text, MAC);
  // Clocks (`18:01:47`) have colons too, but neither `::` nor hex letters.
  if (colons >= 2 && (flags & F_DIGIT) !== 0 && (flags & (F_DOUBLE_COLON | F_HEX_LETTER)) !== 0) text = maskAll(text, IPV6);
  if ((flags & F_DOT) !== 0 && hasTldLabel(text)) text = maskAll(text, HOSTNAME);
  return text;
}

/**
 * Rules 2 and 3 on one token: identifier runs holding a digit become masks, and so do runs that
 * are booleans or nulls. Existing masks are kept (masking is idempotent).
 */
function maskRuns(token: string): string {
  let out = '';
  let last = 0;
  let masks = 0;
  const n = token.length;
  let i = 0;
  while (i < n) {
    const code = token.charCodeAt(i);
    const start = i;
    if ((classOf(code) & C_SIGN) !== 0 && i + 1 < n && isDigitCode(token.charCodeAt(i + 1))) {
      // A sign (or `<`, `>`, `~`) right before a digit belongs to the number unless it is glued
      // to a word (`R02-M1`); after an underscore it is a signed id (`blk_-42`). `<*>` is a mask.
      const before = i > 0 ? token.charCodeAt(i - 1) : -1;
      const glued = before !== -1 && isRunCode(before) && before !== 95;
      i++;
      if (glued || (code === 60 && token.startsWith(MASK, start))) continue;
    } else if (!isRunCode(code)) {
      i++;
      continue;
    }
    let hasDigit = false;
    let hexOnly = true;
    while (i < n) {
      const c = token.charCodeAt(i);
      if (isRunCode(c)) {
        if (isDigitCode(c)) hasDigit = true;
        else if (!isHexLetter(c)) hexOnly = false;
        i++;
      } else if (c === 45 && token.charCodeAt(i - 1) === 95 && i + 1 < n && isDigitCode(token.charCodeAt(i + 1))) {
        i++;
      } else break;
    }
    if (hasDigit || (hexOnly && i - start >= HEX_WORD_LENGTH) || VALUE_WORDS.has(token.slice(start, i))) {
      out += token.slice(last, start) + MASK;
      last = i;
      masks++;
    }
  }
  if (masks === 0) return token;
  out += token.slice(last);
  // `10.0.0.1:80` → `<*>.<*>.<*>.<*>:<*>` → `<*>`: one value, one mask.
  return masks > 1 ? collapseMasks(out) : out;
}

/** Masks one white-space token (rules 1 to 4). */
export function maskToken(token: string): string {
  let flags = 0;
  let colons = 0;
  let dashes = 0;
  let previous = -1;
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if ((code >= 97 && code <= 122) || (code >= 65 && code <= 90)) {
      flags |= isHexLetter(code) ? F_HEX_LETTER : F_NON_HEX_LETTER;
    } else if (code >= 48 && code <= 57) flags |= F_DIGIT;
    else if (code > 127) {
      flags |= F_NON_HEX_LETTER;
    } else {
      flags |= F_PUNCT;
      switch (code) {
        case 58:
          colons++;
          if (previous === 58) flags |= F_DOUBLE_COLON;
          break;
        case 45:
          dashes++;
          break;
        case 47:
          flags |= F_SLASH;
          break;
        case 46:
          flags |= F_DOT;
          break;
        case 64:
          flags |= F_AT;
          break;
        case 92:
          flags |= F_BACKSLASH;
          break;
        case 41:
          if (previous === 40) flags |= F_EMPTY;
          break;
        case 93:
          if (previous === 91) flags |= F_EMPTY;
          break;
        case 125:
          if (previous === 123) flags |= F_EMPTY;
          break;
        case 34:
        case 39:
          if (previous === code) flags |= F_EMPTY;
          break;
        case 61:
          if (i === token.length - 1 && i > 0) flags |= F_EMPTY;
          break;
        default:
          break;
      }
    }
    previous = code;
  }
  if ((flags & F_PUNCT) === 0) {
    if ((flags & F_DIGIT) !== 0 || (token.length >= HEX_WORD_LENGTH && (flags & F_NON_HEX_LETTER) === 0)) return maskRuns(token);
    return VALUE_WORDS.has(token) ? MASK : token;
  }
  const masked = maskRuns(maskShapes(token, flags, colons, dashes));
  const dated = (flags & F_DIGIT) !== 0 && masked.length >= 11 ? maskInnerMonths(masked) : masked;
  return (flags & F_EMPTY) !== 0 ? maskEmptyValues(dated) : dated;
}

const INNER_MONTH = /<\*>([/-])(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\1<\*>/g;

/** `10/Oct/2000:13:55:36` and `17-Jun-2005`: a month name between the numbers of one date. */
function maskInnerMonths(token: string): string {
  INNER_MONTH.lastIndex = 0;
  return INNER_MONTH.test(token) ? token.replace(INNER_MONTH, MASK) : token;
}

const EMPTY_PAIRS = ['()', '[]', '{}', '""', "''"];

/**
 * An empty value is a value: `rhost=` and `()` stand where other lines of the same event print
 * `rhost=<*>` and `(<*>)`, so they get the mask too.
 */
function maskEmptyValues(token: string): string {
  let text = token;
  if (text.length > 1 && text.endsWith('=') && isRunCode(text.charCodeAt(text.length - 2))) text += MASK;
  for (const pair of EMPTY_PAIRS) {
    if (text.includes(pair)) text = text.split(pair).join(pair.charAt(0) + MASK + pair.charAt(1));
  }
  return text;
}

/** The token without leading openers and trailing closers, if what remains is exactly a mask. */
function isMaskish(token: string): boolean {
  const at = token.indexOf(MASK);
  if (at < 0) return false;
  for (let i = 0; i < at; i++) if (!'([{"\'='.includes(token.charAt(i))) return false;
  for (let i = at + MASK.length; i < token.length; i++) if (!')]}"\',;:.'.includes(token.charAt(i))) return false;
  return true;
}

/** A token's word without surrounding punctuation: `(Jun` → `Jun`, `KB),` → `KB`. */
function coreWord(token: string): { start: number; end: number } {
  let start = 0;
  let end = token.length;
  while (start < end && !isRunCode(token.charCodeAt(start)) && token.charCodeAt(start) !== 181) start++;
  while (end > start && !isRunCode(token.charCodeAt(end - 1))) end--;
  return { start, end };
}

function replaceCore(token: string, words: ReadonlySet<string>): string | undefined {
  if (token.length > 16) return undefined;
  const { start, end } = coreWord(token);
  if (end <= start || !words.has(token.slice(start, end))) return undefined;
  return token.slice(0, start) + MASK + token.slice(end);
}

/** Dates and units spread over several tokens join the masked value next to them (in place). */
function maskAcrossTokens(tokens: string[]): void {
  const maskish = tokens.map(isMaskish);
  // Right to left: a month or weekday before a masked value (`Fri Jun <*>`).
  for (let i = tokens.length - 2; i >= 0; i--) {
    if (maskish[i] === true || maskish[i + 1] !== true) continue;
    const token = tokens[i] ?? '';
    const replaced = replaceCore(token, MONTHS) ?? replaceCore(token, WEEKDAYS);
    if (replaced === undefined) continue;
    tokens[i] = replaced;
    maskish[i] = isMaskish(replaced);
  }
  // Left to right: a month after a masked day (`17 Jun <*>`), a unit or zone after a number.
  for (let i = 1; i < tokens.length; i++) {
    if (maskish[i - 1] !== true || maskish[i] === true) continue;
    const before = tokens[i - 1] ?? '';
    // `5.2 KB,` stays one value; `at 5, KB` is two things.
    if (',;:.)]'.includes(before.charAt(before.length - 1))) continue;
    const token = tokens[i] ?? '';
    const replaced = replaceCore(token, UNIT_WORDS) ?? replaceCore(token, MONTHS);
    if (replaced === undefined) continue;
    tokens[i] = replaced;
    maskish[i] = isMaskish(replaced);
  }
}

/** After the separators at `from`, the end of a mask (or of a parenthesized mask) there, or -1. */
function nextMaskEnd(text: string, from: number): number {
  let j = from;
  while (j < text.length && (classOf(text.charCodeAt(j)) & C_SEPARATOR) !== 0) j++;
  if (text.startsWith(MASK, j)) return j + MASK.length;
  // A value's other form in brackets: `18846 bytes (18.4 KB)` → `<*> (<*>)`.
  if (j > from && text.charCodeAt(j) === 40 && text.startsWith(MASK, j + 1)) {
    const close = text.indexOf(')', j + 1 + MASK.length);
    if (close > 0 && collapseMasks(text.slice(j + 1, close)) === MASK) return close + 1;
  }
  return -1;
}

/**
 * Collapses runs of masks separated only by separators (`<*> <*>`, `<*>:<*>`, `<*>, <*>`), and
 * a bracketed mask right after a mask (`<*> (<*>)`).
 */
export function collapseMasks(text: string): string {
  let at = text.indexOf(MASK);
  if (at < 0) return text;
  let out = '';
  let last = 0;
  while (at >= 0) {
    let end = at + MASK.length;
    for (let next = nextMaskEnd(text, end); next > 0; next = nextMaskEnd(text, end)) end = next;
    out += text.slice(last, at) + MASK;
    last = end;
    at = text.indexOf(MASK, end);
  }
  return out + text.slice(last);
}

/** Splits on runs of white space (space, tab, and the other ASCII white space). */
export function splitWhitespace(text: string): string[] {
  const tokens: string[] = [];
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const space = code === 32 || (code >= 9 && code <= 13);
    if (space) {
      if (start >= 0) {
        tokens.push(text.slice(start, i));
        start = -1;
      }
    } else if (start < 0) start = i;
  }
  if (start >= 0) tokens.push(text.slice(start));
  return tokens;
}

/**
 * The masked message: masked tokens joined by single spaces, masks collapsed. Idempotent:
 * masking a masked message changes nothing.
 */
export function maskMessage(message: string): string {
  const tokens = splitWhitespace(message);
  let masks = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    const masked = maskToken(token);
    if (masked !== token) {
      tokens[i] = masked;
      masks = true;
    } else if (!masks && token.includes(MASK)) masks = true;
  }
  if (!masks) return tokens.join(' ');
  maskAcrossTokens(tokens);
  return collapseMasks(tokens.join(' '));
}

/*
 * A cache key for `maskMessage`: two messages with the same key have the same masked message, so
 * a miner masks a message once per key. The key is the message with each identifier run that
 * holds a digit replaced by a marker of what masking can see of it: whether it is all hex digits,
 * the class of its first character (a sign only joins a number; a lower-case letter can continue
 * a Java package name), and, for a hex run next to `-` or `:`, its length (UUID, MAC and IPv6
 * groups have fixed lengths; 13 and more fail them all alike). Everything else is kept verbatim,
 * so the values that masking tells apart by their letters (paths, host names, words) stay in the
 * key. Masking never looks at which digits a run holds, nor, outside those groups, at how many:
 * such a run becomes a mask whatever its value.
 *
 * The key is never built: `sameMaskKey` compares two messages' keys and `maskKeyHash` computes a
 * 64-bit fingerprint of one, both in one pass without allocating.
 */

/** The marker of the digit-holding run `message[start, end)`: what masking can see of it. */
function runMarker(message: string, start: number, end: number, hex: boolean): number {
  const code = message.charCodeAt(start);
  // 0: digit, 1: lower case, 2: upper case or other.
  const first = isDigitCode(code) ? 0 : code >= 97 && code <= 122 ? 1 : 2;
  let marker = 0x10000 + (hex ? 4 : 0) + first;
  if (hex) {
    const before = start > 0 ? message.charCodeAt(start - 1) : -1;
    const after = end < message.length ? message.charCodeAt(end) : -1;
    if (before === 45 || before === 58 || after === 45 || after === 58) marker += 8 * Math.min(end - start, 13);
  }
  return marker;
}

/** Whether a character can be part of an identifier run (ASCII table, other scripts are letters). */
const RUN_CODE = new Uint8Array(65536);
for (let c = 0; c < 65536; c++) RUN_CODE[c] = c >= 128 || (CLASS[c] ?? 0) & (C_LETTER | C_DIGIT | C_UNDERSCORE) ? 1 : 0;
/** 1: a digit, 2: a hex letter, 3: another run character, 0: not a run character. */
const RUN_KIND = new Uint8Array(65536);
for (let c = 0; c < 65536; c++) {
  RUN_KIND[c] = c >= 48 && c <= 57 ? 1 : (c >= 97 && c <= 102) || (c >= 65 && c <= 70) ? 2 : RUN_CODE[c] === 1 ? 3 : 0;
}

/** End of the identifier run at `start`, with the digit and non-hex findings in its low bits. */
function scanRun(message: string, start: number): number {
  let i = start;
  let flags = 0;
  const n = message.length;
  while (i < n) {
    const kind = RUN_KIND[message.charCodeAt(i)] ?? 0;
    if (kind === 0) break;
    if (kind === 1) flags |= 1;
    else if (kind === 3) flags |= 2;
    i++;
  }
  // end * 4 + flags: bit 0 digits, bit 1 a non-hex character.
  return i * 4 + flags;
}

// Result register of maskKeyHash: the second half of the fingerprint (no allocation per line).
let fingerprintHigh = 0;

/**
 * A 64-bit fingerprint of the message's mask key (see above), in one pass: returns the low 32
 * bits (FNV-1a) and leaves the high 32 bits (an add-multiply hash with another seed and
 * multiplier) in `maskKeyHashHigh()`, both as signed 32-bit integers.
 * Two different keys share a fingerprint with probability 2^-64: a miner holding 50,000 keys
 * meets one such pair in about 10^10 billion lines.
 */
export function maskKeyHash(message: string): number {
  let low = 2166136261;
  let high = 0x9747b28c;
  const n = message.length;
  // The run being read: its start (-1 outside runs), its hashes as text, and what it holds
  // (bit 0: a digit, bit 1: a character that is not a hex digit).
  let start = -1;
  let textLow = 0;
  let textHigh = 0;
  let flags = 0;
  for (let i = 0; i < n; i++) {
    const c = message.charCodeAt(i);
    const kind = RUN_KIND[c] ?? 0;
    if (kind !== 0) {
      if (start < 0) {
        start = i;
        textLow = low;
        textHigh = high;
        flags = 0;
      }
      flags |= kind === 1 ? 1 : kind === 3 ? 2 : 0;
      textLow = Math.imul(textLow ^ c, 16777619);
      textHigh = Math.imul(textHigh + c, 0x5bd1e995);
      continue;
    }
    if (start >= 0) {
      // A run ends: it hashes as its text, or as its marker when it holds a digit.
      if ((flags & 1) === 0) {
        low = textLow;
        high = textHigh;
      } else {
        const marker = runMarker(message, start, i, (flags & 2) === 0);
        low = Math.imul(low ^ marker, 16777619);
        high = Math.imul(high + marker, 0x5bd1e995);
      }
      start = -1;
    }
    low = Math.imul(low ^ c, 16777619);
    high = Math.imul(high + c, 0x5bd1e995);
  }
  if (start >= 0) {
    if ((flags & 1) === 0) {
      low = textLow;
      high = textHigh;
    } else {
      const marker = runMarker(message, start, n, (flags & 2) === 0);
      low = Math.imul(low ^ marker, 16777619);
      high = Math.imul(high + marker, 0x5bd1e995);
    }
  }
  fingerprintHigh = high | 0;
  return low | 0;
}

/** The high 32 bits of the last fingerprint `maskKeyHash` computed. */
export function maskKeyHashHigh(): number {
  return fingerprintHigh;
}

/** Whether two messages have the same mask key, hence the same masked message. */
export function sameMaskKey(a: string, b: string): boolean {
  if (a === b) return true;
  const n = a.length;
  const m = b.length;
  let i = 0;
  let j = 0;
  for (;;) {
    // Equal text is equal key; stop at the first difference.
    while (i < n && j < m && a.charCodeAt(i) === b.charCodeAt(j)) {
      i++;
      j++;
    }
    if (i === n && j === m) return true;
    const x = i < n ? a.charCodeAt(i) : -1;
    const y = j < m ? b.charCodeAt(j) : -1;
    const xRun = x >= 0 && RUN_CODE[x] === 1;
    const yRun = y >= 0 && RUN_CODE[y] === 1;
    // Only runs that hold digits may differ: back up to where the runs at the difference start
    // (the text before is equal, so they start at the same offset) and compare their markers.
    let back = 0;
    while (i - back > 0 && RUN_CODE[a.charCodeAt(i - back - 1)] === 1) back++;
    if (!xRun && !yRun) return false;
    if (!xRun && back === 0) return false;
    if (!yRun && back === 0) return false;
    const aStart = i - back;
    const bStart = j - back;
    const aScan = scanRun(a, aStart);
    const bScan = scanRun(b, bStart);
    if ((aScan & 1) === 0 || (bScan & 1) === 0) return false;
    const aEnd = aScan >>> 2;
    const bEnd = bScan >>> 2;
    if (runMarker(a, aStart, aEnd, (aScan & 2) === 0) !== runMarker(b, bStart, bEnd, (bScan & 2) === 0)) return false;
    i = aEnd;
    j = bEnd;
  }
}

/** The masked tokens of one message (see maskMessage). */
export function maskTokens(message: string): string[] {
  const masked = maskMessage(message);
  return masked === '' ? [] : masked.split(' ');
}
