/**
 * Markdown → one standalone, inert HTML document.
 *
 * The markdown carries text from the host (log lines, process and service names), so it is
 * attacker-controlled (SPEC §8). The defence has four layers, each sufficient against script
 * injection on its own:
 *  1. every marked renderer that emits text or attributes is ours: raw HTML is escaped and shown,
 *     links and images pass an allow-list (safe-url.ts);
 *  2. the output is re-checked against the exact markup we emit (check-markup.ts), falling back
 *     to plain text on any surprise;
 *  3. a CSP meta forbids scripts, frames, fonts and any load but inline `data:` images;
 *  4. the PDF page runs with JavaScript disabled and every request aborted (pdf.ts).
 *
 * Our own charts are trusted SVG, but they never enter as markup: the caller passes them in
 * `embeds`, keyed by the path the markdown uses (`![CPU](artifacts/cpu.svg)`), and they are
 * emitted as `<img src="data:image/svg+xml;base64,…">`. An SVG loaded as an image runs no script
 * and loads nothing, and host text can only ever reference an embed the caller supplied.
 */
import { Marked, type RendererObject, type Tokens } from 'marked';
import { findUnsafeMarkup } from './check-markup.js';
import { escapeHtml, escapeHtmlText } from './escape.js';
import { REPORT_CSS } from './report-css.js';
import { safeImageSrc, safeLinkHref } from './safe-url.js';

/** A chart or image produced by our own code, embedded by reference from the markdown. */
export type TrustedEmbed = { kind: 'svg'; svg: string } | { kind: 'png'; png: Uint8Array };

export type MarkdownToHtmlOptions = {
  /** Document title (browser tab, PDF metadata and footer). */
  title: string;
  /** Trusted images by the exact href the markdown uses for them. */
  embeds?: Readonly<Record<string, TrustedEmbed>>;
};

export const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/** Bigger markdown is cut: a report is read by people, and marked's cost grows with input. */
export const MAX_MARKDOWN_CHARS = 2 * 1024 * 1024;

/** C0 controls (but tab/LF/CR) and bidi overrides, shown as U+FFFD so they cannot disguise text. */
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u202A-\u202E\u2066-\u2069]/g;

const EMBED_CLASS = 'chart';

function embedSrc(embed: TrustedEmbed): string {
  if (embed.kind === 'svg') return `data:image/svg+xml;base64,${Buffer.from(embed.svg, 'utf8').toString('base64')}`;
  return `data:image/png;base64,${Buffer.from(embed.png).toString('base64')}`;
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function createRenderer(embeds: Readonly<Record<string, TrustedEmbed>>): RendererObject {
  return {
    // Raw HTML is shown as what it is: text. Block HTML keeps its line breaks.
    html(token: Tokens.HTML | Tokens.Tag): string {
      if (token.block) return `<pre class="raw-html"><code>${escapeHtml(token.text.replace(/\n+$/, ''))}</code></pre>\n`;
      return escapeHtml(token.text);
    },
    // marked passes text after an inline <script>/<pre> tag through unescaped (`escaped: true`,
    // meant for trusted HTML); with raw HTML escaped that text must be escaped like any other.
    text(token: Tokens.Text | Tokens.Escape): string {
      if ('tokens' in token && token.tokens) return this.parser.parseInline(token.tokens);
      if ('escaped' in token && token.escaped) return escapeHtml(token.text);
      return escapeHtmlText(token.text);
    },
    code(token: Tokens.Code): string {
      const lang = /^[A-Za-z0-9_-]{1,24}$/.test(token.lang ?? '') ? ` class="language-${(token.lang ?? '').toLowerCase()}"` : '';
      return `<pre><code${lang}>${escapeHtml(token.text.replace(/\n$/, ''))}</code></pre>\n`;
    },
    codespan(token: Tokens.Codespan): string {
      return `<code>${escapeHtml(token.text)}</code>`;
    },
    checkbox(token: Tokens.Checkbox): string {
      return `<span class="task">${token.checked ? '☑' : '☐'}</span> `;
    },
    link(token: Tokens.Link): string {
      // Autolinks carry literal text (no character references resolved).
      const inner = token.autolink ? escapeHtml(token.text) : this.parser.parseInline(token.tokens);
      const href = safeLinkHref(token.href);
      if (href === null) {
        const shown = token.autolink || token.text === token.href ? '' : ` (${escapeHtml(shorten(token.href, 200))})`;
        return `<span class="unsafe-link">${inner}${shown}</span>`;
      }
      const title = token.title ? ` title="${escapeHtml(token.title)}"` : '';
      return `<a href="${escapeHtml(href)}"${title}>${inner}</a>`;
    },
    image(token: Tokens.Image): string {
      const alt = escapeHtml(this.parser.parseInline(token.tokens, this.parser.textRenderer));
      const title = token.title ? ` title="${escapeHtml(token.title)}"` : '';
      // Own property only: an href of "__proto__" or "constructor" must not find Object's.
      if (Object.hasOwn(embeds, token.href)) {
        const embed = embeds[token.href] as TrustedEmbed;
        return `<img class="${EMBED_CLASS}" src="${embedSrc(embed)}" alt="${alt}"${title}>`;
      }
      const src = safeImageSrc(token.href);
      if (src !== null) return `<img src="${src}" alt="${alt}"${title}>`;
      return `<span class="omitted">[image not embedded: ${alt || 'untitled'} (${escapeHtml(shorten(token.href, 200))})]</span>`;
    },
  };
}

/** The body markup for `markdown`, before the document shell is added. */
export function markdownToSafeFragment(markdown: string, embeds: Readonly<Record<string, TrustedEmbed>> = {}): string {
  const cleaned = markdown.replace(INVISIBLE, '\uFFFD');
  const omitted = Math.max(0, cleaned.length - MAX_MARKDOWN_CHARS);
  const source = omitted > 0 ? cleaned.slice(0, MAX_MARKDOWN_CHARS) : cleaned;
  const note = omitted > 0 ? `<p class="omitted">[report truncated: ${omitted} characters omitted]</p>\n` : '';
  // A private instance: marked.use() elsewhere in the process cannot change our renderers.
  const marked = new Marked({ gfm: true, breaks: false, pedantic: false, silent: false });
  marked.use({ renderer: createRenderer(embeds) });
  const html = marked.parse(source, { async: false });
  if (findUnsafeMarkup(html).length === 0) return html + note;
  return (
    '<p class="render-fallback">This report could not be rendered safely as formatted text; it is shown verbatim.</p>\n' +
    `<pre><code>${escapeHtml(source)}</code></pre>\n${note}`
  );
}

/**
 * A complete standalone HTML document for `markdown`: inline print CSS, a strict CSP, no script,
 * nothing loaded from anywhere.
 */
export function markdownToSafeHtml(markdown: string, options: MarkdownToHtmlOptions): string {
  const body = markdownToSafeFragment(markdown, options.embeds);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title.replace(INVISIBLE, '\uFFFD'))}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main class="report">
${body}</main>
</body>
</html>
`;
}
