/**
 * Host data never leaves for a model as it is: the narrative's request is built from the
 * diagnosis, then passed through here. What is blanked: secrets (credentials in URLs and
 * key=value pairs, bearer tokens, JWTs, cloud and API keys, private keys, long random strings),
 * every URL and e-mail address, IP and MAC addresses, host names (the target's known names and
 * anything shaped like a domain name), user names (the known ones and those a log line names),
 * and paths under /home and /root. Placeholders say what was there: `[secret]`, `[ip]`, `[host]`.
 */

export type KnownHostData = {
  /** Names the host goes by: enrolled name, hostname, SSH address. */
  hosts: readonly string[];
  /** Accounts seen on the host: the SSH user, process owners. */
  users: readonly string[];
};

/** Top-level domains and private suffixes a host name may end with (file names like fix.sh must survive). */
const DOMAIN_SUFFIXES = [
  'com', 'net', 'org', 'io', 'dev', 'app', 'cloud', 'ai', 'co', 'me', 'info', 'biz', 'us', 'uk', 'de', 'fr', 'nl', 'eu', 'ca', 'au', 'jp', 'cn', 'ru', 'in', 'br',
  'internal', 'local', 'localdomain', 'lan', 'corp', 'home', 'intra', 'private', 'test', 'example', 'invalid', 'svc', 'cluster',
];

const SECRET_KEYS = String.raw`(?:password|passwd|pwd|pass|secret|client_secret|token|access_token|refresh_token|api[_-]?key|apikey|access[_-]?key(?:_id)?|secret[_-]?key|auth|authorization|credentials?|private[_-]?key|session(?:id)?|cookie)`;

const RULES: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[secret]'],
  // Any URL names a host, and its user info may carry a password (DSNs: postgresql://u:p@db/x).
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>`]+/gi, '[url]'],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [secret]'],
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, '[secret]'],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, '[secret]'],
  [/\b(?:sk|pk|rk|ghp|gho|ghs|ghu|glpat|xox[abposr])[-_][A-Za-z0-9_-]{8,}/g, '[secret]'],
  [new RegExp(String.raw`\b(${SECRET_KEYS})(\s*[=:]\s*)(?!Bearer\b|Basic\b|\[)("[^"]*"|'[^']*'|[^\s,;&'"]+)`, 'gi'), '$1$2[secret]'],
  [/\b[\w.+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,}\b/gi, '[email]'],
  // user@host, as ssh and many logs print it.
  [/\b[a-z_][\w.-]*@[a-z0-9][\w.-]*/gi, '[user]@[host]'],
  [/(?:\/home\/|\/root\/|~\/)[^\s'"`|,;)]*/g, '[home-path]'],
  [/\b(?:[0-9a-f]{2}[:-]){5}[0-9a-f]{2}\b/gi, '[mac]'],
  [/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g, '[ip]'],
  // IPv6: with a `::`, or all eight groups (a time such as 10:21:33 has neither).
  [/(?<![\w:])(?=[0-9a-f:]*::|(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4})[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])/gi, '[ip]'],
  [new RegExp(String.raw`\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:${DOMAIN_SUFFIXES.join('|')})\b`, 'gi'), '[host]'],
  // Long random-looking strings: keys, hashes, session ids (at least one digit and one letter).
  [/\b(?=[A-Za-z0-9+/_-]{32,}\b)(?=[A-Za-z0-9+/_-]*\d)(?=[A-Za-z0-9+/_-]*[A-Za-z])[A-Za-z0-9+/_-]{32,}={0,2}/g, '[secret]'],
  [/\b((?:invalid |for |by |illegal )?user(?:name)?|login|uid|owner|account)(\s*[=:]\s*|\s+)(?!\[)([a-z_][\w.-]{0,31})/gi, '$1$2[user]'],
];

/** Blanks host data in free text (see the file comment for what counts). Idempotent. */
export function redactHostData(text: string, known: KnownHostData = { hosts: [], users: [] }): string {
  let out = text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  out = replaceWords(out, known.hosts, '[host]');
  out = replaceWords(out, known.users, '[user]');
  return out;
}

/**
 * The known names as whole words, longest first (so `web-1.prod` goes before `web-1`). Names of
 * two characters or fewer are left out: blanking every `db` would blank the prose, not a host.
 */
function replaceWords(text: string, words: readonly string[], placeholder: string): string {
  const names = [...new Set(words.map((w) => w.trim()).filter((w) => w.length > 2 && !/^\[.*\]$/.test(w)))].sort((a, b) => b.length - a.length);
  if (!names.length) return text;
  // Also inside hyphenated names: `chaos-sandbox-init` names the host `chaos-sandbox` too.
  const pattern = new RegExp(`(?<![\\w.])(?:${names.map(escapeRegExp).join('|')})(?!\\w)`, 'gi');
  return text.replace(pattern, placeholder);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
