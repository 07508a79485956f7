/**
 * The URL policy of rendered reports. Allow-lists, never deny-lists: `javascript:`, `file:`,
 * `data:text/html`, `vbscript:` and schemes not invented yet all fail by default.
 */

/** Control characters and whitespace: browsers strip some of them inside schemes ("java\tscript:"). */
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[\u0000-\u0020\u007F-\u009F\u00A0\u1680\u2000-\u200F\u2028-\u202F\u205F-\u206F\u3000\uFEFF"'<>`\\]/;

const ANCHOR = /^#[A-Za-z0-9._~:%-]{0,128}$/;

/** Largest inline image accepted from markdown, as data-URI characters. */
export const MAX_DATA_IMAGE_CHARS = 4 * 1024 * 1024;

const DATA_IMAGE = /^data:image\/(?:png|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}$/;

/**
 * The href to emit for a markdown link, or null when the link must be shown as text.
 * Accepts `http:`/`https:` URLs without credentials (`https://bank.example@evil.example` reads as
 * the bank) and same-document `#anchors`.
 */
export function safeLinkHref(raw: string): string | null {
  if (raw.length === 0 || raw.length > 2048 || UNSAFE_CHARS.test(raw)) return null;
  if (raw.startsWith('#')) return ANCHOR.test(raw) ? raw : null;
  if (!/^https?:\/\//i.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.hostname === '' || url.username !== '' || url.password !== '') return null;
  // The parsed form: IDN hosts come out as punycode, which does not hide a look-alike domain.
  return url.href;
}

/** The src to emit for a markdown image, or null: only inline base64 PNG or SVG data URIs. */
export function safeImageSrc(raw: string): string | null {
  if (raw.length > MAX_DATA_IMAGE_CHARS) return null;
  return DATA_IMAGE.test(raw) ? raw : null;
}
