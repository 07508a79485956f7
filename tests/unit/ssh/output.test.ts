import { BoundedOutput, LineSplitter } from '../../../src/ssh/output.js';

describe('BoundedOutput', () => {
  it('when output fits, then it is kept whole and not truncated', () => {
    const out = new BoundedOutput(100);
    out.push(Buffer.from('hello '));
    out.push(Buffer.from('world'));
    expect(out.text()).toBe('hello world');
    expect(out.truncated).toBe(false);
  });

  it('when output overflows, then head and tail are kept with a marker counting what was dropped', () => {
    const out = new BoundedOutput(10);
    for (const c of 'abcdefghijklmnopqrstuvwxyz') out.push(Buffer.from(c));
    expect(out.truncated).toBe(true);
    expect(out.totalBytes).toBe(26);
    expect(out.text()).toBe('abcde\n[... 16 bytes omitted ...]\nvwxyz');
    expect(out.tailText(3)).toBe('xyz');
  });

  it('when one huge chunk arrives, then memory stays bounded and the tail is its end', () => {
    const out = new BoundedOutput(1024);
    out.push(Buffer.alloc(10 * 1024 * 1024, 'a'));
    out.push(Buffer.from('END'));
    expect(out.text().endsWith('aEND')).toBe(true);
    expect(out.text().length).toBeLessThan(1100);
  });

  it('when many chunks stream through, then the kept tail never grows past the cap plus one chunk', () => {
    const out = new BoundedOutput(4096);
    for (let i = 0; i < 10_000; i++) out.push(Buffer.from(`line ${i}\n`));
    expect(out.text().endsWith('line 9999\n')).toBe(true);
    expect(Buffer.byteLength(out.text())).toBeLessThan(4096 + 64);
  });
});

describe('LineSplitter', () => {
  it('when lines are split across chunks, then whole lines are delivered with CR removed', () => {
    const lines: string[] = [];
    const s = new LineSplitter(100, (l) => lines.push(l));
    s.push(Buffer.from('{"a":1}\r\n{"b"'));
    s.push(Buffer.from(':2}\n\n{"c":3}'));
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '']);
    s.flush();
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '', '{"c":3}']);
  });

  it('when a multi-byte character is split across chunks, then it is decoded whole', () => {
    const lines: string[] = [];
    const s = new LineSplitter(100, (l) => lines.push(l));
    const bytes = Buffer.from('héllo\n');
    s.push(bytes.subarray(0, 2));
    s.push(bytes.subarray(2));
    expect(lines).toEqual(['héllo']);
  });

  it('when a line exceeds the limit, then it is dropped whole and counted', () => {
    const lines: string[] = [];
    const s = new LineSplitter(8, (l) => lines.push(l));
    s.push(Buffer.from('ok\n0123456789ab'));
    s.push(Buffer.from('cdef\nnext\n'));
    expect(lines).toEqual(['ok', 'next']);
    expect(s.dropped).toBe(1);
    expect(s.delivered).toBe(2);
  });
});
