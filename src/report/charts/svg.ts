/**
 * The few primitives every chart shares: text cleaning and escaping, number printing that can
 * never print NaN, and the palette.
 */

/**
 * Characters XML 1.0 forbids (C0 controls other than tab/LF/CR, U+FFFE/U+FFFF), lone surrogates,
 * and bidi controls: a host-supplied label with U+202E could otherwise display reversed text
 * ("Trojan Source", CVE-2021-42574).
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF\u202A-\u202E\u2066-\u2069]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** One line of display text: forbidden characters dropped, whitespace runs collapsed, capped. */
export function cleanLabel(text: string, maxChars = 80): string {
  const oneLine = String(text).replace(FORBIDDEN, '').replace(/\s+/g, ' ').trim();
  const chars = Array.from(oneLine);
  if (chars.length <= maxChars) return oneLine;
  return `${chars.slice(0, Math.max(1, maxChars - 1)).join('')}…`;
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes text for XML element content and attribute values alike. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}

/** Cleaned, capped and escaped: the only way host text enters an SVG. */
export function xmlText(text: string, maxChars = 80): string {
  return escapeXml(cleanLabel(text, maxChars));
}

/** A coordinate or size for an attribute: one decimal, and 0 rather than NaN/Infinity. */
export function num(n: number): string {
  if (!Number.isFinite(n)) return '0';
  const rounded = Math.round(n * 10) / 10;
  return Object.is(rounded, -0) ? '0' : String(rounded);
}

/** A size given by the caller, bounded so a typo cannot produce a 10^9-pixel chart. */
export function clampSize(value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.round(value)));
}

/** Rough text width for layout; exact metrics would need a font engine, which charts avoid. */
export function textWidth(text: string, fontSize: number): number {
  return Array.from(text).length * fontSize * 0.56;
}

export const FONT_FAMILY = "'Liberation Sans', 'DejaVu Sans', Arial, Helvetica, sans-serif";

/** Distinct colours that stay distinct for the common colour-vision deficiencies (no red). */
export const SERIES_COLOURS = ['#2563eb', '#ea580c', '#059669', '#9333ea'] as const;

export const SEVERITY_FILL = { low: '#facc15', medium: '#fb923c', high: '#ef4444' } as const;
export const SEVERITY_OPACITY = { low: 0.18, medium: 0.22, high: 0.22 } as const;

export const INK = '#1f2937';
export const MUTED = '#6b7280';
export const GRID = '#e5e7eb';
export const AXIS = '#9ca3af';

/** Opening tag shared by every chart: intrinsic size, accessible name, fonts. */
export function svgOpen(width: number, height: number, title: string, desc: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" role="img" font-family="${escapeXml(FONT_FAMILY)}">` +
    `<title>${title}</title><desc>${desc}</desc>` +
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`
  );
}

/** The centred "no data" note drawn where a plot would have been. */
export function noDataNote(x: number, y: number, width: number, height: number): string {
  return (
    `<rect x="${num(x)}" y="${num(y)}" width="${num(width)}" height="${num(height)}" fill="#f9fafb" stroke="${GRID}"/>` +
    `<text x="${num(x + width / 2)}" y="${num(y + height / 2)}" text-anchor="middle" dominant-baseline="middle" ` +
    `font-size="14" fill="${MUTED}">no data</text>`
  );
}
