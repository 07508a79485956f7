const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes every HTML-significant character; safe in element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * Like escapeHtml, but leaves well-formed character references (`&amp;`, `&#60;`) alone so
 * markdown text keeps CommonMark's meaning. Safe: a reference in element content always decodes
 * to text, never to markup.
 */
export function escapeHtmlText(text: string): string {
  return text.replace(/[<>"']|&(?!(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)/g, (c) => HTML_ESCAPES[c] ?? c);
}
