/**
 * A small XML 1.0 well-formedness checker, enough for the SVG our charts emit: one root element,
 * balanced tags, quoted attributes without duplicates, entities only where they are valid, no
 * forbidden characters. Returns the problems found; empty means well-formed.
 */

// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*$/;
const BAD_AMPERSAND = /&(?!(?:amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9A-Fa-f]{1,6});)/;
const OPEN_TAG = /^<([A-Za-z_:][A-Za-z0-9_:.-]*)((?:\s+[A-Za-z_:][A-Za-z0-9_:.-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/;
const ATTRIBUTE = /([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

export function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const forbidden = FORBIDDEN_CHAR.exec(xml);
  if (forbidden) problems.push(`forbidden character U+${(forbidden[0].codePointAt(0) ?? 0).toString(16)} at ${forbidden.index}`);

  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  while (i < xml.length && problems.length < 10) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (BAD_AMPERSAND.test(text)) problems.push(`bad & in text near ${i}: ${JSON.stringify(text.slice(0, 40))}`);
    if (stack.length === 0 && text.trim() !== '') problems.push(`text outside the root near ${i}`);
    if (lt === -1) break;
    const rest = xml.slice(lt);
    if (rest.startsWith('<?')) {
      const end = xml.indexOf('?>', lt);
      if (end === -1) problems.push('unterminated processing instruction');
      i = end === -1 ? xml.length : end + 2;
      continue;
    }
    if (rest.startsWith('<!--')) {
      const end = xml.indexOf('-->', lt);
      if (end === -1) problems.push('unterminated comment');
      i = end === -1 ? xml.length : end + 3;
      continue;
    }
    const close = /^<\/([^\s>]+)\s*>/.exec(rest);
    if (close) {
      const expected = stack.pop();
      if (expected !== close[1]) problems.push(`</${close[1]}> closes <${expected ?? 'nothing'}>`);
      i = lt + close[0].length;
      continue;
    }
    const open = OPEN_TAG.exec(rest);
    if (!open) {
      problems.push(`malformed tag at ${lt}: ${JSON.stringify(rest.slice(0, 40))}`);
      break;
    }
    const [whole, name = '', attributes = '', selfClosing] = open;
    if (!NAME.test(name)) problems.push(`bad element name ${name}`);
    if (stack.length === 0) roots++;
    const seen = new Set<string>();
    for (const [, attribute = '', double, single] of attributes.matchAll(ATTRIBUTE)) {
      if (seen.has(attribute)) problems.push(`duplicate attribute ${attribute} on <${name}>`);
      seen.add(attribute);
      const value = double ?? single ?? '';
      if (value.includes('<') || BAD_AMPERSAND.test(value)) problems.push(`bad attribute value ${attribute} on <${name}>`);
    }
    if (!selfClosing) stack.push(name);
    i = lt + whole.length;
  }
  if (stack.length > 0) problems.push(`unclosed elements: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`expected one root element, found ${roots}`);
  return problems;
}
