/**
 * The stylesheet of rendered reports: light, print-first (A4, PDF via Chromium), readable on
 * screen too. Only system fonts: the page may load nothing (SPEC §8).
 */
export const REPORT_CSS = `
@page { size: A4; }
:root { color-scheme: light; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0; background: #ffffff; color: #1f2328;
  font-family: 'Liberation Sans', 'DejaVu Sans', Arial, Helvetica, sans-serif;
  font-size: 10pt; line-height: 1.5;
  -webkit-font-smoothing: antialiased; text-rendering: optimizeLegibility;
}
.report { max-width: 182mm; margin: 0 auto; }
@media screen { .report { padding: 28px 24px 48px; } }

h1, h2, h3, h4, h5, h6 { color: #0f172a; line-height: 1.25; break-after: avoid; page-break-after: avoid; }
h1 { font-size: 19pt; margin: 0 0 10pt; padding-bottom: 6pt; border-bottom: 2.5px solid #0f172a; letter-spacing: -0.2pt; }
h2 { font-size: 13.5pt; margin: 18pt 0 6pt; padding-bottom: 3pt; border-bottom: 1px solid #cbd5e1; }
h3 { font-size: 11.5pt; margin: 14pt 0 4pt; }
h4, h5, h6 { font-size: 10pt; margin: 12pt 0 4pt; text-transform: uppercase; letter-spacing: 0.3pt; color: #334155; }
p { margin: 0 0 7pt; orphans: 3; widows: 3; }
strong { color: #0f172a; }
a { color: #0b57d0; text-decoration: none; overflow-wrap: anywhere; }
del { color: #6b7280; }
ul, ol { margin: 0 0 8pt; padding-left: 17pt; }
li { margin: 1.5pt 0; }
li > p { margin: 0 0 3pt; }
hr { border: 0; border-top: 1px solid #cbd5e1; margin: 14pt 0; }

blockquote {
  margin: 0 0 9pt; padding: 5pt 10pt; border-left: 3px solid #2563eb;
  background: #f1f5fd; color: #1e293b; break-inside: avoid; page-break-inside: avoid;
}
blockquote > :last-child { margin-bottom: 0; }

code, pre { font-family: 'DejaVu Sans Mono', 'Liberation Mono', 'Courier New', monospace; }
code {
  font-size: 0.86em; background: #f1f5f9; border: 1px solid #e2e8f0; border-radius: 3px;
  padding: 0 0.25em; overflow-wrap: anywhere;
}
pre {
  font-size: 7.8pt; line-height: 1.45; background: #f8fafc; border: 1px solid #d8dee4;
  border-left: 3px solid #94a3b8; border-radius: 3px; padding: 6pt 8pt; margin: 0 0 10pt;
  white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word; tab-size: 4;
}
pre code { background: none; border: 0; padding: 0; font-size: inherit; border-radius: 0; }
pre.raw-html { border-left-color: #f59e0b; }

table {
  width: 100%; border-collapse: collapse; margin: 2pt 0 11pt; font-size: 8.8pt;
  line-height: 1.35; font-variant-numeric: tabular-nums;
}
thead { display: table-header-group; }
/* Key/value tables are written with an empty header row ("| | |"); do not print it. */
thead:not(:has(th:not(:empty))) { display: none; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td {
  border: 1px solid #d8dee4; padding: 3.5pt 6pt; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; word-break: break-word;
}
th { background: #eef2f6; color: #0f172a; font-weight: bold; }
tbody tr:nth-child(even) td { background: #f8fafc; }
th[align="right"], td[align="right"] { text-align: right; }
th[align="center"], td[align="center"] { text-align: center; }
td code, th code { font-size: 0.92em; }

img { max-width: 100%; }
img.chart {
  display: block; width: 100%; height: auto; margin: 4pt 0 12pt; border: 1px solid #e5e7eb;
  border-radius: 4px; break-inside: avoid; page-break-inside: avoid;
}
.omitted, .unsafe-link { color: #6b7280; font-style: italic; overflow-wrap: anywhere; }
.task { font-family: 'DejaVu Sans', sans-serif; }
.render-fallback { color: #b45309; font-weight: bold; }
`;
