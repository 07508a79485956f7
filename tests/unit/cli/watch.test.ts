import { runWatch } from '../../../src/cli/watch.js';

function capture() {
  let text = '';
  return { out: { write: (t: string) => (text += t) }, text: () => text };
}

describe('chaos-handler watch, refused before anything starts', () => {
  it('when --target is missing or a flag is unknown, then it exits 2 with the usage', async () => {
    const err = capture();
    expect(await runWatch([], {}, capture().out, err.out)).toBe(2);
    expect(err.text()).toMatch(/^chaos-handler watch: --target is required\n\nUsage: chaos-handler watch --target/);
    const err2 = capture();
    expect(await runWatch(['--target', 'sandbox', '--every', '2'], {}, capture().out, err2.out)).toBe(2);
    expect(err2.text()).toContain("Unknown option '--every'");
  });
});
