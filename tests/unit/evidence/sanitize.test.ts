import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { hostileText } from '../../fixtures/hostile-text.js';
import { bashWord, hasInvisibleControl, jsonVisible, sanitizeEvidence, sanitizeHostText, visible, visibleLine } from '../../../src/evidence/sanitize.js';

describe('sanitizing host text', () => {
  it('when host text holds NUL or lone surrogates, then they become U+FFFD and nothing else changes', () => {
    expect(sanitizeHostText('a\u0000b\ud800c\udfffd😀')).toBe('a\ufffdb\ufffdc\ufffdd😀');
    fc.assert(
      fc.property(hostileText, (text) => {
        const clean = sanitizeHostText(text);
        expect(clean.length).toBe(text.length);
        // With the u flag a valid pair is one code point: only lone halves match.
        expect(/[\uD800-\uDFFF]/u.test(clean)).toBe(false);
        expect(clean.includes('\u0000')).toBe(false);
      }),
    );
  });

  it('when evidence is sanitized, then every string is reached, keys included, and clean values keep their identity', () => {
    const clean = { host: 'web-1', samples: [{ top: [{ comm: 'nginx', pid: 1 }] }] };
    expect(sanitizeEvidence(clean)).toBe(clean);
    const dirty = { host: 'web-1', samples: [{ top: [{ comm: 'a\u0000b', pid: 1 }] }], future_field: { 'k\ud800': ['\u0000'] } };
    expect(sanitizeEvidence(dirty)).toEqual({ host: 'web-1', samples: [{ top: [{ comm: 'a\ufffdb', pid: 1 }] }], future_field: { 'k\ufffd': ['\ufffd'] } });
    expect(dirty.samples[0]!.top[0]!.comm).toBe('a\u0000b');
  });

  it('when text is made visible, then no control, bidi or separator character is left raw and tab and newline stay', () => {
    expect(visible('\u001b[1Aa\tb\nc\u202e')).toBe('\\x1b[1Aa\tb\nc\\u202e');
    expect(visibleLine('a\nb\r')).toBe('a\\x0ab\\x0d');
    fc.assert(
      fc.property(hostileText, (text) => {
        expect(hasInvisibleControl(visible(text))).toBe(false);
        expect(hasInvisibleControl(visibleLine(text))).toBe(false);
        expect(visibleLine(text)).not.toMatch(/\n/);
        // Idempotent: escapes are plain text.
        expect(visible(visible(text))).toBe(visible(text));
      }),
    );
  });

  it('when JSON text holds C1 or bidi characters, then they are written as \\u escapes and the value is unchanged', () => {
    fc.assert(
      fc.property(fc.dictionary(hostileText, hostileText, { maxKeys: 4 }), (value) => {
        const well = sanitizeEvidence(value);
        const json = jsonVisible(JSON.stringify(well, null, 2));
        expect(hasInvisibleControl(json)).toBe(false);
        expect(JSON.parse(json)).toEqual(well);
      }),
    );
  });

  it('when a host string is quoted for fix.sh, then bash reads back exactly its bytes and the word shows no raw control', () => {
    fc.assert(
      fc.property(hostileText, (text) => {
        const word = bashWord(text);
        expect(hasInvisibleControl(word)).toBe(false);
        expect(word).not.toMatch(/\n/);
        const out = execFileSync('bash', ['-c', `printf '%s' ${word}`]);
        expect(out.equals(Buffer.from(sanitizeHostText(text), 'utf8'))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
