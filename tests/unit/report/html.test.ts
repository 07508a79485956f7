import fc from 'fast-check';
import { barChart } from '../../../src/report/charts/index.js';
import { findUnsafeMarkup } from '../../../src/report/render/check-markup.js';
import { markdownToSafeFragment, markdownToSafeHtml, MAX_MARKDOWN_CHARS } from '../../../src/report/render/html.js';
import { safeImageSrc, safeLinkHref } from '../../../src/report/render/safe-url.js';

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** The tags of a fragment (escaped text is not a tag, so its "<" does not count). */
function tags(html: string): string[] {
  return html.match(/<[a-zA-Z][^>]*>/g) ?? [];
}

/** The properties every rendering of hostile input must have. */
function expectInert(fragment: string): void {
  expect(findUnsafeMarkup(fragment)).toEqual([]);
  expect(fragment).not.toContain('render-fallback');
  for (const tag of tags(fragment)) {
    expect(tag).not.toMatch(/^<(script|svg|iframe|object|embed|style|link|meta|base|form|input|math|template)\b/i);
    expect(tag).not.toMatch(/\son[a-z]+\s*=/i);
    expect(tag).not.toMatch(/(href|src)="\s*(javascript|vbscript|file|data:text)/i);
  }
}

describe('markdownToSafeHtml', () => {
  it('when rendering, then it returns a complete standalone document with the strict CSP before any content', () => {
    const html = markdownToSafeHtml('# Postmortem\n\nAll good.', { title: 'inc-20250101-abc' });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${CSP}`);
    expect(html.indexOf('Content-Security-Policy')).toBeLessThan(html.indexOf('<style>'));
    expect(html).toContain('<title>inc-20250101-abc</title>');
    expect(html).toContain('<h1>Postmortem</h1>');
    expect(html).not.toMatch(/<script|<link|@import|url\(/i);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });

  it('when styling for print, then code blocks wrap, tables repeat their header and headings do not end a page', () => {
    const html = markdownToSafeHtml('x', { title: 't' });
    expect(html).toMatch(/pre \{[^}]*white-space: pre-wrap/);
    expect(html).toContain('thead { display: table-header-group; }');
    expect(html).toMatch(/break-after: avoid; page-break-after: avoid/);
    expect(html).toMatch(/tr \{ break-inside: avoid; page-break-inside: avoid; \}/);
    expect(html).toContain('@page { size: A4; }');
  });

  it('when the title holds markup, then it is escaped', () => {
    const html = markdownToSafeHtml('x', { title: '</title><script>alert(1)</script>' });
    expect(html).toContain('<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>');
  });
});

describe('markdownToSafeFragment with hostile input', () => {
  it('when the markdown holds a <script> block, then it is shown as text', () => {
    const html = markdownToSafeFragment('<script>document.title="pwned"</script>');
    expectInert(html);
    expect(html).toContain('&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;');
  });

  it('when a log line holds an inline <script>, then the text after it is escaped too', () => {
    // marked marks text after an inline <script> as "already escaped"; it must not be trusted.
    const html = markdownToSafeFragment('boom <script> <img src=x onerror=alert(1)// tail');
    expectInert(html);
    expect(html).toContain('&lt;img src=x onerror=alert(1)// tail');
  });

  it('when the markdown holds <img onerror> and <svg onload>, then no element is created', () => {
    for (const input of ['<img src=x onerror=alert(1)>', 'text <img src=x onerror="alert(1)"> text', '<svg onload=alert(1)>', 'a <svg><script>alert(1)</script></svg> b']) {
      const html = markdownToSafeFragment(input);
      expectInert(html);
      expect(html).toContain('&lt;');
    }
  });

  it.each([
    '[click](javascript:alert(1))',
    '[click](JaVaScRiPt:alert(1))',
    '[click](java\tscript:alert(1))',
    '[click]( javascript:alert(1))',
    '[click](&#106;avascript:alert(1))',
    '[click](<javascript:alert(1)>)',
    '<javascript:alert(1)>',
    '[ref]: javascript:alert(1)\n\n[click][ref]',
    '[click](vbscript:msgbox(1))',
    '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
    '[click](//evil.example/x)',
    '[click](\\\\evil.example\\x)',
    '[click](https://bank.example@evil.example/)',
    '<a href="javascript:alert(1)">click</a>',
  ])('when a link is %j, then it becomes plain text', (input) => {
    const html = markdownToSafeFragment(input);
    expectInert(html);
    expect(html).not.toContain('<a ');
  });

  it('when links point to file:///etc/passwd, as link or image, then neither is emitted as one', () => {
    const html = markdownToSafeFragment('[pw](file:///etc/passwd) ![pw](file:///etc/passwd) <file:///etc/passwd>');
    expectInert(html);
    expect(html).not.toMatch(/<a |<img /);
    expect(html).toContain('file:///etc/passwd');
  });

  it('when links are http(s) or anchors, then they are kept, with quotes and ampersands escaped', () => {
    const html = markdownToSafeFragment('[docs](https://example.com/a?b=1&c=2 "say \\"hi\\"") [top](#summary) https://example.org/x');
    expectInert(html);
    expect(html).toContain('<a href="https://example.com/a?b=1&amp;c=2" title="say &quot;hi&quot;">docs</a>');
    expect(html).toContain('<a href="#summary">top</a>');
    expect(html).toContain('<a href="https://example.org/x">https://example.org/x</a>');
  });

  it('when images are remote, file, or non-image data, then they become text; inline PNG and SVG data URIs stay images', () => {
    const html = markdownToSafeFragment(
      '![a](https://evil.example/track.png) ![b](data:text/html;base64,PHNjcmlwdD4=) ![c](data:image/svg+xml,<svg onload=alert(1)>) ' +
        '![ok](data:image/png;base64,iVBORw0KGgo=) ![svg](data:image/svg+xml;base64,PHN2Zy8+)',
    );
    expectInert(html);
    expect(tags(html).filter((t) => t.startsWith('<img'))).toEqual([
      '<img src="data:image/png;base64,iVBORw0KGgo=" alt="ok">',
      '<img src="data:image/svg+xml;base64,PHN2Zy8+" alt="svg">',
    ]);
    expect(html).toContain('[image not embedded: a (https://evil.example/track.png)]');
  });

  it('when a table cell holds markup, links or pipes, then the cell stays one escaped cell', () => {
    const md = [
      '| process | message |',
      '|---|---|',
      '| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |',
      '| a \\| b | `<b>bold</b>` |',
      '| </td></tr></table><script>alert(1)</script> | ok |',
    ].join('\n');
    const html = markdownToSafeFragment(md);
    expectInert(html);
    expect(html.match(/<tr>/g)).toHaveLength(4);
    expect(html).toContain('<td>&lt;img src=x onerror=alert(1)&gt;</td>');
    expect(html).toContain('<td>a | b</td>');
    expect(html).toContain('<td><code>&lt;b&gt;bold&lt;/b&gt;</code></td>');
    expect(html).toContain('&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;');
  });

  it('when the text holds HTML entities, then they stay text and never decode into markup', () => {
    const html = markdownToSafeFragment('&lt;script&gt;alert(1)&lt;/script&gt; &#x3C;img src=x onerror=alert(1)&#x3E; &#60;svg&#62; AT&T');
    expectInert(html);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('AT&amp;T');
  });

  it('when a code fence has a hostile info string or body, then the body is escaped and the language dropped', () => {
    const html = markdownToSafeFragment('```bash" onmouseover="alert(1)\n<script>alert(1)</script>\n```\n\n```log\nok\n```');
    expectInert(html);
    expect(html).toContain('<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>');
    expect(html).toContain('<pre><code class="language-log">ok</code></pre>');
  });

  it('when task lists are used, then checkboxes are text, not form inputs', () => {
    const html = markdownToSafeFragment('- [x] reverted\n- [ ] verified');
    expectInert(html);
    expect(html).toContain('☑');
    expect(html).toContain('☐');
  });

  it('when text holds control or bidi-override characters, then they show as U+FFFD', () => {
    const html = markdownToSafeFragment('evil\u202Egnp.exe and bell\u0007');
    expect(html).toContain('evil\uFFFDgnp.exe and bell\uFFFD');
  });

  it('when the markdown is larger than the cap, then it is cut and the cut is said', () => {
    const html = markdownToSafeFragment('a'.repeat(MAX_MARKDOWN_CHARS + 10));
    expect(html).toContain('[report truncated: 10 characters omitted]');
  });

  it('when fed any mix of hostile fragments, then the output only ever contains the allowed markup', () => {
    const fragment = fc.constantFrom(
      '<script>alert(1)</script>', '<script>', '</script>', '<img src=x onerror=alert(1)>', '<svg onload=alert(1)>',
      '[a](javascript:alert(1))', '![b](file:///etc/passwd)', '<javascript:x>', '&lt;', '&#60;', '&', '"', "'",
      '`', '```', '\n', '\n\n', '|', '| a | b |\n|---|---|\n', '*', '_', '[', ']', '(', ')', '<', '>', '!', '#',
      '<!--', '-->', '<![CDATA[', ']]>', '<pre>', '</pre>', '<style>', '\\', ' ', 'x', 'https://ok.example/',
      '<a href="javascript:alert(1)">', '</a>', '<iframe src=x>', '\u0000', '- [ ] ',
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 40 }), (parts) => {
        expectInert(markdownToSafeFragment(parts.join('')));
      }),
      { numRuns: 400 },
    );
  });
});

describe('trusted embeds', () => {
  const svg = barChart({ title: 'p95 latency', unit: 'ms', bars: [{ label: 'baseline', value: 40 }] });

  it('when the markdown references an embed by path, then our SVG is inlined as a base64 image, not as markup', () => {
    const html = markdownToSafeFragment('![Latency](artifacts/latency.svg)', {
      'artifacts/latency.svg': { kind: 'svg', svg },
    });
    expectInert(html);
    const src = /<img class="chart" src="data:image\/svg\+xml;base64,([^"]+)" alt="Latency">/.exec(html)?.[1];
    expect(src).toBeDefined();
    expect(Buffer.from(src ?? '', 'base64').toString('utf8')).toBe(svg);
  });

  it('when a PNG embed is referenced, then it is inlined as a PNG data URI', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47]);
    const html = markdownToSafeFragment('![cpu](cpu.png)', { 'cpu.png': { kind: 'png', png } });
    expect(html).toContain('<img class="chart" src="data:image/png;base64,iVBORw==" alt="cpu">');
  });

  it('when host text references an unknown embed or an Object prototype key, then nothing is embedded', () => {
    const embeds = { 'artifacts/cpu.svg': { kind: 'svg', svg } } as const;
    const html = markdownToSafeFragment('![x](artifacts/mem.svg) ![y](__proto__) ![z](constructor) ![w](toString)', embeds);
    expectInert(html);
    expect(html).not.toContain('<img');
  });

  it('when host text writes raw SVG next to an embed, then only the embed becomes an image', () => {
    const html = markdownToSafeFragment('<svg onload=alert(1)><circle/></svg>\n\n![cpu](cpu.svg)', { 'cpu.svg': { kind: 'svg', svg } });
    expectInert(html);
    expect(tags(html).filter((t) => t.startsWith('<img'))).toHaveLength(1);
  });
});

describe('URL policy', () => {
  it('when a link is http(s) without credentials or an anchor, then it is accepted (hosts in punycode)', () => {
    expect(safeLinkHref('https://example.com/a b')).toBeNull();
    expect(safeLinkHref('https://example.com/x?y=1')).toBe('https://example.com/x?y=1');
    expect(safeLinkHref('HTTP://Example.COM')).toBe('http://example.com/');
    expect(safeLinkHref('https://exаmple.com/')).toBe('https://xn--exmple-4nf.com/');
    expect(safeLinkHref('#section-2')).toBe('#section-2');
  });

  it('when a link uses another scheme, credentials or tricks, then it is refused', () => {
    for (const href of ['javascript:alert(1)', 'file:///etc/passwd', 'ftp://x', '//evil.example', 'http:evil', 'https://u:p@x.example', '#"onclick', ' https://x.example', 'https://x.example/\u0000']) {
      expect(safeLinkHref(href)).toBeNull();
    }
  });

  it('when an image is a base64 PNG or SVG data URI, then it is accepted; anything else is refused', () => {
    expect(safeImageSrc('data:image/png;base64,iVBORw0KGgo=')).not.toBeNull();
    expect(safeImageSrc('data:image/svg+xml;base64,PHN2Zy8+')).not.toBeNull();
    for (const src of ['data:image/svg+xml,<svg onload=alert(1)>', 'data:image/jpeg;base64,AAAA', 'data:text/html;base64,AAAA', 'https://x/a.png', 'data:image/png;base64,AA"AA']) {
      expect(safeImageSrc(src)).toBeNull();
    }
  });
});

describe('findUnsafeMarkup', () => {
  it('when the markup holds anything but the tags and attributes the renderer emits, then it is reported', () => {
    expect(findUnsafeMarkup('<p>ok <a href="https://x.example/">x</a></p>')).toEqual([]);
    expect(findUnsafeMarkup('<script>alert(1)</script>')).not.toEqual([]);
    expect(findUnsafeMarkup('<img src="x" onerror="alert(1)">')).not.toEqual([]);
    expect(findUnsafeMarkup('<a href="javascript:alert(1)">x</a>')).not.toEqual([]);
    expect(findUnsafeMarkup('<p>a <b</p>')).not.toEqual([]);
    expect(findUnsafeMarkup('<constructor>')).not.toEqual([]);
  });
});
