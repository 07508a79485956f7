/**
 * A second, independent line of defence: checks the HTML our renderer produced against the exact
 * set of tags and attributes it is supposed to emit. Because all text is escaped, every `<` in
 * the output must open one of these tags; anything else means a renderer bug or a marked change
 * we did not anticipate, and the caller falls back to plain text.
 */

const ATTRIBUTE_RULES: Record<string, RegExp> = {
  href: /^(?:https?:\/\/[^\s"'<>`]+|#[A-Za-z0-9._~:%-]*)$/i,
  src: /^data:image\/(?:png|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}$/,
  alt: /^[^"<>]*$/,
  title: /^[^"<>]*$/,
  class: /^[a-z0-9 _-]*$/,
  align: /^(?:left|center|right)$/,
  start: /^\d{1,9}$/,
};

const ALLOWED: Record<string, readonly string[]> = {
  p: [],
  h1: [],
  h2: [],
  h3: [],
  h4: [],
  h5: [],
  h6: [],
  ul: [],
  ol: ['start'],
  li: [],
  blockquote: [],
  pre: ['class'],
  code: ['class'],
  em: [],
  strong: [],
  del: [],
  a: ['href', 'title'],
  img: ['src', 'alt', 'title', 'class'],
  table: [],
  thead: [],
  tbody: [],
  tr: [],
  th: ['align'],
  td: ['align'],
  hr: [],
  br: [],
  span: ['class'],
};

const TAG = /<(\/?)([a-z][a-z0-9]*)((?:\s+[a-z-]+="[^"]*")*)\s*\/?>/y;
const ATTRIBUTE = /\s+([a-z-]+)="([^"]*)"/g;

/** Every way `html` departs from the allowed markup; empty when it is clean. */
export function findUnsafeMarkup(html: string): string[] {
  const problems: string[] = [];
  let index = html.indexOf('<');
  while (index !== -1 && problems.length < 20) {
    TAG.lastIndex = index;
    const match = TAG.exec(html);
    if (!match) {
      problems.push(`unexpected markup at ${index}: ${JSON.stringify(html.slice(index, index + 40))}`);
      index = html.indexOf('<', index + 1);
      continue;
    }
    const [whole, closing, name = '', attributes = ''] = match;
    const allowed = Object.hasOwn(ALLOWED, name) ? ALLOWED[name] : undefined;
    if (!allowed) problems.push(`tag <${name}> is not allowed`);
    else if (closing && attributes) problems.push(`closing tag </${name}> has attributes`);
    else {
      for (const [, attribute = '', value = ''] of attributes.matchAll(ATTRIBUTE)) {
        const rule = Object.hasOwn(ATTRIBUTE_RULES, attribute) ? ATTRIBUTE_RULES[attribute] : undefined;
        if (!allowed.includes(attribute) || !rule) problems.push(`attribute ${attribute} on <${name}> is not allowed`);
        else if (!rule.test(value)) problems.push(`attribute ${attribute} on <${name}> has a disallowed value`);
      }
    }
    index = html.indexOf('<', index + whole.length);
  }
  return problems;
}
