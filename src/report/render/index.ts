export {
  markdownToSafeFragment,
  markdownToSafeHtml,
  MAX_MARKDOWN_CHARS,
  REPORT_CSP,
  type MarkdownToHtmlOptions,
  type TrustedEmbed,
} from './html.js';
export {
  createPdfRenderer,
  type PageRequest,
  type PdfRenderer,
  type PdfRendererOptions,
  type PdfRendererStats,
  type RenderPdfOptions,
} from './pdf.js';
export { CHROMIUM_CANDIDATES, findChromium } from './find-chromium.js';
export { BrowserUnavailableError, type BrowserUnavailableReason } from './errors.js';
export { findUnsafeMarkup } from './check-markup.js';
export { safeImageSrc, safeLinkHref } from './safe-url.js';
