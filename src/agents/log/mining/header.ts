/**
 * Header (preamble) stripping: `Jun 14 15:16:01 combo sshd[19939]: Failed password…` → the
 * message `Failed password…`.
 *
 * What this is, honestly: a small generic grammar of what log headers are made of, not a list of
 * per-format regexes and never chosen by file or dataset name. A header is recognised only when
 * the line starts with a timestamp; after it, the stripper consumes, left to right, the fields
 * that headers are made of and stops at the first thing that is not one:
 *
 * - more timestamp pieces (`2015-10-18 18:01:47,978`, `[Sun Dec 04 04:47:44 2005]`, `081109
 *   203615`, `20171223-22:15:29:606`, `[10.30 16:49:06]`) and a time zone word;
 * - a severity (`INFO`, `[notice]`, `<warn>`, `LOG:`); a bare one must be upper case;
 * - a pid (`148`, `[1234]`);
 * - a bracketed thread or logger (`[main]`, `[QuorumPeer[myid=1]/0:…@774]`); one that contains
 *   spaces only when a component or a ` - ` follows it (so Apache's `[client 1.2.3.4] Directory…`
 *   stays in the message);
 * - a `|`-separated field list (`ts|component|pid|message`), which a numeric pid ends;
 * - in syslog (RFC 3164) lines, the host name before the tag;
 * - a component or tag ending with `:` (`dfs.FSNamesystem:`, `sshd(pam_unix)[19939]:`,
 *   `syslogd 1.4.1:`), which ends the header;
 * - a program name followed by ` - ` (`chrome.exe *64 - `), and a ` - ` after other header
 *   fields (`… [thread] - message`), which end the header.
 *
 * Formats it was written against (the Loghub samples plus common system logs): syslog and
 * journalctl short/short-iso, Apache error log, HDFS, Hadoop and Zookeeper log4j layouts,
 * HealthApp's pipe layout, OpenSSH via syslog, Proxifier, PostgreSQL's default prefix, nginx
 * error log. A line that does not start with a timestamp is returned unchanged (trimmed): the
 * stripper never guesses a header it cannot anchor.
 */

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\\.?';
const WEEKDAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\\.?,?';
const CLOCK = '\\d{1,2}:\\d{1,2}(?::\\d{1,2})?(?:[.,:]\\d{1,9})?';
const ZONE = '(?:Z|[+-]\\d{2}:?\\d{2})?';
const DOTTED_CLOCK = '\\d{1,2}\\.\\d{2}\\.\\d{2}(?:\\.\\d{1,9})?';

/** Timestamp pieces, tried in order at the cursor (sticky). The first one decides `syslog`. */
const SYSLOG_TS = new RegExp(`(?:${WEEKDAY}\\s+)?${MONTH}\\s+\\d{1,2}\\s+${CLOCK}(?:\\s+\\d{4})?(?=\\s)`, 'y');
const TS_PIECES: readonly RegExp[] = [
  // ISO-ish date, optionally with its time: 2015-10-18 18:01:47,978 / 2024-05-01T10:00:00+0000 /
  // 2005-06-03-15.42.50.675872 (a dotted clock, as DB2 and Blue Gene print it)
  new RegExp(`\\d{4}[-/.]\\d{1,2}[-/.]\\d{1,2}(?:[T\\s_-](?:${CLOCK}|${DOTTED_CLOCK})${ZONE})?(?=[\\s|,\\]]|$)`, 'y'),
  // 03-17 16:13:38.811 (month-day and clock: Android logcat)
  new RegExp(`\\d{2}-\\d{2}\\s+${CLOCK}(?=\\s)`, 'y'),
  // 20171223-22:15:29:606
  new RegExp(`\\d{8}[-T_]${CLOCK}${ZONE}(?=[\\s|,\\]]|$)`, 'y'),
  // 081109 203615 (yymmdd hhmmss)
  /\d{6}\s+\d{6}(?=\s)/y,
  // 12/31/2024 10:00:00, 31.12.2024
  new RegExp(`\\d{1,2}[/.]\\d{1,2}[/.]\\d{2,4}(?:[\\s:]${CLOCK})?(?=[\\s|,\\]]|$)`, 'y'),
  // a bare clock
  new RegExp(`${CLOCK}${ZONE}(?=[\\s|,\\]]|$)`, 'y'),
];
/** Inside brackets: `[Sun Dec 04 04:47:44 2005]`, `[10.30 16:49:06]`, `[   12.345678]` (dmesg). */
const BRACKET_TS = new RegExp(
  `\\[\\s*(?:(?:${WEEKDAY}|${MONTH}|\\d{1,4}(?:[-/.]\\d{1,4}){0,2}|${CLOCK}${ZONE}|[+-]\\d{4}|UTC|GMT)\\s*)*?(?:${CLOCK}|\\d+\\.\\d{3,})\\s*(?:\\d{4}|[+-]\\d{4}|UTC|GMT|[A-Z]{3})?\\s*\\]`,
  'y',
);
const ZONE_WORD = /(?:UTC|GMT|[A-Z][SD]T|CES?T|JST|IST|[+-]\d{4})(?=\s)/y;

const LEVELS = new Set([
  'TRACE', 'DEBUG', 'DEBUG1', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'DEBUG5', 'INFO', 'INFORMATION',
  'NOTICE', 'WARN', 'WARNING', 'ERROR', 'ERR', 'CRIT', 'CRITICAL', 'ALERT', 'EMERG', 'EMERGENCY',
  'FATAL', 'SEVERE', 'FINE', 'FINER', 'FINEST', 'CONFIG', 'LOG', 'PANIC', 'STATEMENT', 'DETAIL',
  'HINT', 'CONTEXT', 'FAILURE', 'V', 'D', 'I', 'W', 'E', 'F',
]);
const SINGLE_LETTER = new Set(['V', 'D', 'I', 'W', 'E', 'F']);

/** A tag or component ending the header: `kernel:`, `sshd[24200]:`, `dfs.DataNode$PacketResponder:`. */
const COMPONENT = /^(?=[^:]*[A-Za-z_])[A-Za-z0-9_.$@#/\\()-]+(?:\[[^\]\s]*\])?:$/;
/** A syslog host (`combo`, `dn228/dn228`, `local@tbird-admin1`) or a program name. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.$@/-]*$/;
/** A host or node name between header fields: `dn228`, `R02-M1-N0-C:J12-U11`, `web-1.example.com`. */
const HOST_LIKE = /^[A-Za-z0-9][\w.:/@-]{0,63}$/;
/** A field that may come before the timestamp: a dash, a sequence number or epoch, a label, a file name with a date. */
const PREFIX_FIELD = /^(?:-|\d{1,20}|[A-Z][A-Z0-9_]{1,15}|[\w.-]*\d{4}-\d{2}-\d{2}[\w.:-]*)$/;
/** A facility or subsystem word before a level: `RAS KERNEL INFO`. */
const CAPS_WORD = /^[A-Z][A-Z0-9_]{1,15}$/;
/** A logger name after the level: `nova.osapi_compute.wsgi.server`, `org.apache.Foo$Bar`. */
const LOGGER = /^[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)+$/;
/** A small qualifier between a program name and ` - ` (`chrome.exe *64 - `). */
const QUALIFIER = /^(?:\*\d+|\(\d+\)|\d+)$/;
/** A component token, bounded in length so that a hostile line costs linear time. */
function isComponent(token: string): boolean {
  if (token.length > 128 || token.charCodeAt(token.length - 1) !== 58) return false;
  // nginx: `pid#tid:`
  if (/^\d+#\d+:$/.test(token)) return true;
  return !/^\d/.test(token) && COMPONENT.test(token);
}
const PID = /^(?:\d{1,10}|\[\d{1,10}\]|\(\d{1,10}\))$/;

/** A pid: `148`, `[1234]`, `(1234)` (the first character rules most tokens out cheaply). */
function isPid(token: string): boolean {
  const first = token.charCodeAt(0);
  return ((first >= 48 && first <= 57) || first === 91 || first === 40) && PID.test(token);
}

/** Index of the first non-space character at or after `from`. */
function skipSpaces(line: string, from: number): number {
  let i = from;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return i;
}

/** The next whitespace-delimited token at `from` (which must not be a space) and its end. */
function tokenAt(line: string, from: number): { text: string; end: number } {
  let end = from;
  while (end < line.length && line[end] !== ' ' && line[end] !== '\t') end++;
  return { text: line.slice(from, end), end };
}

/** End (exclusive) of the balanced `[...]` group that starts at `from`, or -1. */
function bracketEnd(line: string, from: number): number {
  let depth = 0;
  const limit = Math.min(line.length, from + 256);
  for (let i = from; i < limit; i++) {
    const c = line[i];
    if (c === '[') depth++;
    else if (c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

interface LevelTest {
  readonly level: boolean;
  /** The token ends with `:` (`LOG:`): a level that ends the header. */
  readonly terminal: boolean;
}
const NOT_LEVEL: LevelTest = { level: false, terminal: false };
const NOT_LEVEL_TERMINAL: LevelTest = { level: false, terminal: true };
const LEVEL: LevelTest = { level: true, terminal: false };
const LEVEL_TERMINAL: LevelTest = { level: true, terminal: true };

function isLevel(token: string): LevelTest {
  // The longest level token is `[INFORMATION]:`; every level starts with a capital or a bracket.
  if (token.length > 14 || token.length === 0) return NOT_LEVEL;
  const start = token.charCodeAt(0);
  if (!((start >= 65 && start <= 90) || start === 91 || start === 60)) return NOT_LEVEL;
  let word = token;
  const terminal = word.charCodeAt(word.length - 1) === 58;
  if (terminal) word = word.slice(0, -1);
  const open = word.charCodeAt(0);
  const close = word.charCodeAt(word.length - 1);
  const bracketed =
    word.length > 2 &&
    ((open === 91 && close === 93 && word.indexOf(']') === word.length - 1) ||
      (open === 60 && close === 62 && word.indexOf('>') === word.length - 1));
  if (bracketed) word = word.slice(1, -1);
  const upper = LEVELS.has(word) ? word : word.toUpperCase();
  if (!LEVELS.has(upper)) return terminal ? NOT_LEVEL_TERMINAL : NOT_LEVEL;
  // A bare level must be written in capitals; a single letter (Android `W`) only bare.
  const valid = bracketed ? !SINGLE_LETTER.has(upper) : word === upper;
  if (!valid) return terminal ? NOT_LEVEL_TERMINAL : NOT_LEVEL;
  return terminal ? LEVEL_TERMINAL : LEVEL;
}

/** First letters of months and weekdays (where an RFC 3164 timestamp can start). */
const SYSLOG_START = new Set([...'JFMASONDTW'].map((c) => c.charCodeAt(0)));

/** Whether a timestamp pattern can start with this character (a digit, `[`, a month or weekday). */
function mayStartTimestamp(code: number): boolean {
  return (code >= 48 && code <= 57) || code === 91 || SYSLOG_START.has(code);
}

/** Consumes the leading timestamp; returns the cursor after it or -1 when there is none. */
function consumeTimestamp(line: string, start: number): { end: number; syslog: boolean } {
  const first = line.charCodeAt(start);
  // Each pattern starts with a digit, a `[` or a month or weekday: try only those that can match.
  if (first >= 48 && first <= 57) {
    for (const piece of TS_PIECES) {
      piece.lastIndex = start;
      if (piece.test(line)) return { end: piece.lastIndex, syslog: false };
    }
  } else if (first === 91) {
    BRACKET_TS.lastIndex = start;
    if (BRACKET_TS.test(line)) return { end: BRACKET_TS.lastIndex, syslog: false };
  } else if (SYSLOG_START.has(first)) {
    SYSLOG_TS.lastIndex = start;
    if (SYSLOG_TS.test(line)) return { end: SYSLOG_TS.lastIndex, syslog: true };
  }
  return NO_TIMESTAMP;
}
const NO_TIMESTAMP: { end: number; syslog: boolean } = { end: -1, syslog: false };

/** Index of the message after a `|`-separated header (`ts|component|pid|message`). */
function consumePipeFields(line: string, from: number): number {
  let cursor = from;
  for (let field = 0; field < 3; field++) {
    if (line[cursor] !== '|') return cursor;
    const next = line.indexOf('|', cursor + 1);
    if (next < 0) return cursor + 1;
    const value = line.slice(cursor + 1, next);
    if (!/^[\w.$@:/-]{0,64}$/.test(value)) return cursor + 1;
    cursor = next;
    // A numeric field is the pid: the message follows it.
    if (/^\d+$/.test(value)) return cursor + 1;
  }
  return line[cursor] === '|' ? cursor + 1 : cursor;
}

/**
 * The timestamp that anchors a header: at the start of the line, or after at most two prefix
 * fields (`- 1131566461 2005.11.09 …`, `nova-api.log.1.2017-05-16_13:53:08 2017-05-16 …`).
 */
function anchorTimestamp(line: string, start: number): { end: number; syslog: boolean } {
  let at = start;
  for (let prefixes = 0; ; prefixes++) {
    const ts = consumeTimestamp(line, at);
    if (ts.end >= 0 || prefixes === 2) return ts;
    const token = tokenAt(line, at);
    if (!PREFIX_FIELD.test(token.text)) return ts;
    const next = skipSpaces(line, token.end);
    if (next === token.end || next >= line.length) return ts;
    at = next;
  }
}

/** Width of the white space at `from` (column-aligned headers pad their fields). */
function spaceRun(line: string, from: number): number {
  return skipSpaces(line, from) - from;
}

/**
 * `R02-M1-N0-C:J12-U11 RAS KERNEL INFO` / `RAS KERNEL INFO`: an optional host, up to two facility
 * words and a level. Returns the cursor after the level, or -1.
 */
function fieldsThenLevel(line: string, from: number, allowHost: boolean): number {
  let at = from;
  for (let i = 0; i < 4; i++) {
    if (at >= line.length) return -1;
    // After the host, only capitals (facility words, a level) or a bracketed level may follow.
    const start = line.charCodeAt(at);
    if (i > 0 && !((start >= 65 && start <= 90) || start === 91 || start === 60)) return -1;
    const token = tokenAt(line, at);
    const level = i > 0 ? isLevel(token.text) : NOT_LEVEL;
    if (level.level && !level.terminal) return token.end;
    const host = i === 0 && allowHost && HOST_LIKE.test(token.text) && !token.text.endsWith(':');
    if (!host && !CAPS_WORD.test(token.text)) return -1;
    const next = skipSpaces(line, token.end);
    if (next === token.end) return -1;
    at = next;
  }
  return -1;
}

/**
 * The message part of a log line: the line without its header, trimmed. A line whose first
 * fields hold no recognisable timestamp is returned trimmed but otherwise unchanged.
 */
export function stripHeader(line: string): string {
  const ts = anchorTimestamp(line, skipSpaces(line, 0));
  if (ts.end < 0) return line.trim();
  let cursor = ts.end;
  let syslog = ts.syslog;

  // Further timestamp pieces and a zone (`2005-06-03 15:42:50 UTC`, `081109 203615`), and a
  // host between two timestamps (`2005.11.09 dn228 Nov 9 12:01:01`).
  for (let i = 0; i < 4; i++) {
    const at = skipSpaces(line, cursor);
    if (at === cursor) break;
    const first = line.charCodeAt(at);
    // Zones start with a capital or a sign.
    if ((first >= 65 && first <= 90) || first === 43 || first === 45) {
      ZONE_WORD.lastIndex = at;
      if (ZONE_WORD.test(line)) {
        cursor = ZONE_WORD.lastIndex;
        continue;
      }
    }
    const more = consumeTimestamp(line, at);
    if (more.end >= 0) {
      cursor = more.end;
      syslog ||= more.syslog;
      continue;
    }
    const host = tokenAt(line, at);
    const after = skipSpaces(line, host.end);
    if (after === host.end || !mayStartTimestamp(line.charCodeAt(after)) || !HOST_LIKE.test(host.text)) break;
    const next = consumeTimestamp(line, after);
    if (next.end < 0) break;
    cursor = next.end;
    syslog ||= next.syslog;
  }

  if (line[cursor] === '|') return line.slice(consumePipeFields(line, cursor)).trim();
  // `2016-09-28 04:30:30, Info …`
  if (line[cursor] === ',') cursor++;

  let consumedField = false;
  let firstAfterTimestamp = true;
  let pids = 0;
  let levelSeen = false;
  for (let fields = 0; fields < 10; fields++) {
    const at = skipSpaces(line, cursor);
    if (at >= line.length) return '';
    const token = tokenAt(line, at);

    if (token.text === '-' || token.text === '--' || token.text === '|') {
      cursor = token.end;
      // `ts - LEVEL [thread] - message`: a dash after other header fields ends the header.
      if (consumedField) break;
      continue;
    }

    if (line[at] === '[') {
      const end = bracketEnd(line, at);
      if (end > 0) {
        const inner = line.slice(at + 1, end - 1);
        const level = isLevel(line.slice(at, end));
        if (level.level) {
          cursor = end;
          consumedField = true;
          levelSeen = true;
          firstAfterTimestamp = false;
          continue;
        }
        if (isPid(line.slice(at, end)) || !/\s/.test(inner) || followedByHeaderEnd(line, end)) {
          cursor = end;
          consumedField = true;
          firstAfterTimestamp = false;
          continue;
        }
      }
      break;
    }

    const level = isLevel(token.text);
    // `Info` (not only `INFO`) when the header pads it into a column: `…, Info      CBS    Loaded…`
    const capital = token.text.charCodeAt(0) >= 65 && token.text.charCodeAt(0) <= 90;
    const paddedLevel =
      capital && !level.level && spaceRun(line, token.end) >= 2 && /^[A-Z][a-z]+$/.test(token.text) && isLevel(token.text.toUpperCase()).level;
    if (level.level || paddedLevel) {
      cursor = token.end;
      if (level.terminal) break;
      consumedField = true;
      levelSeen = true;
      firstAfterTimestamp = false;
      cursor = afterLevel(line, cursor);
      continue;
    }

    // A pid right after the timestamp, and a thread id after it (`1702  2395 D WindowManager:`).
    if (isPid(token.text) && !levelSeen && pids < 2 && (!consumedField || pids > 0)) {
      cursor = token.end;
      pids++;
      consumedField = true;
      firstAfterTimestamp = false;
      continue;
    }

    if (isComponent(token.text)) {
      cursor = token.end;
      break;
    }

    const name = NAME.test(token.text);
    // syslog: `host tag[pid]: message`, `host syslogd 1.4.1: message`, `host -- root[1]: …`
    // (tried first: it is the common case, and a host followed by facility words and a level
    // has no tag, so the order does not change what is found)
    if (name && firstAfterTimestamp) {
      const tagEnd = syslogTagEnd(line, token.end, syslog);
      if (tagEnd > 0) {
        cursor = tagEnd;
        break;
      }
    }

    if (!levelSeen) {
      const levelEnd = fieldsThenLevel(line, at, true);
      if (levelEnd > 0) {
        cursor = afterLevel(line, levelEnd);
        consumedField = true;
        levelSeen = true;
        firstAfterTimestamp = false;
        continue;
      }
    }

    if (name) {
      // `program - message`, `program *64 - message`
      const dashEnd = programDashEnd(line, token.end);
      if (dashEnd > 0) {
        cursor = dashEnd;
        break;
      }
    }
    break;
  }
  return line.slice(cursor).trim();
}

/**
 * After a level: a logger name (`nova.osapi_compute.wsgi.server`, or a word padded into a
 * column, `CBS    Loaded…`) and the bracketed context right after it (`[req-… - - -]`) are still
 * header. Returns the cursor after what it consumed.
 */
function afterLevel(line: string, from: number): number {
  const at = skipSpaces(line, from);
  if (at === from || at >= line.length || line[at] === '[') return from;
  const token = tokenAt(line, at);
  const padded = spaceRun(line, token.end) >= 2 && NAME.test(token.text);
  if (!LOGGER.test(token.text) && !padded) return from;
  const next = skipSpaces(line, token.end);
  if (next > token.end && line[next] === '[') {
    const end = bracketEnd(line, next);
    if (end > 0 && !isLevel(line.slice(next, end)).level) return end;
  }
  return token.end;
}

/** True when the next token after `from` is a component or a lone dash. */
function followedByHeaderEnd(line: string, from: number): boolean {
  const at = skipSpaces(line, from);
  if (at >= line.length) return false;
  const next = tokenAt(line, at).text;
  return next === '-' || isComponent(next);
}

/**
 * After a syslog host: the end of the tag (`sshd[1]:`, `syslogd 1.4.1:`, `-- root[2421]:`), or
 * -1. Outside RFC 3164 timestamps only a tag with a pid counts (journalctl short-iso).
 */
function syslogTagEnd(line: string, from: number, syslog: boolean): number {
  let cursor = from;
  for (let i = 0; i < 3; i++) {
    const at = skipSpaces(line, cursor);
    if (at >= line.length || at === cursor) return -1;
    const token = tokenAt(line, at);
    if (token.text.endsWith(':') && token.text.length > 1) {
      if (syslog || /\[\d+\]:$/.test(token.text)) return token.end;
      return -1;
    }
    if (!syslog) return -1;
    if (!/^(?:--?|[\w.()[\]-]+)$/.test(token.text)) return -1;
    cursor = token.end;
  }
  return -1;
}

/** After a program name: the end of ` - ` (optionally after a qualifier such as `*64`), or -1. */
function programDashEnd(line: string, from: number): number {
  let at = skipSpaces(line, from);
  if (at === from) return -1;
  let token = tokenAt(line, at);
  if (QUALIFIER.test(token.text)) {
    const next = skipSpaces(line, token.end);
    if (next === token.end) return -1;
    at = next;
    token = tokenAt(line, at);
  }
  return token.text === '-' ? token.end : -1;
}
