import { groupingAccuracy, maskVariables, stripHeader, TemplateMiner } from '../../../../src/agents/log/mining/index.js';

describe('variable masking', () => {
  it.each([
    ['Connection from 10.213.7.1 port 40882', 'Connection from <*> port <*>'],
    ['block blk_-1608999687919862906 of size 67108864', 'block <*> of size <*>'],
    ['request a1b2c3d4-e5f6-4789-abcd-ef0123456789 took 12ms', 'request <*> took <*>'],
    ['wrote 512MB to /var/lib/data/file.bin', 'wrote <*> to <*>'],
    ['mac 00:1a:2b:3c:4d:5e is up', 'mac <*> is up'],
  ])('when the message is %j, then variables are masked as %j', (message, masked) => {
    expect(maskVariables(message)).toBe(masked);
  });
});

describe('header stripping', () => {
  it('when a syslog line is given, then only the message remains', () => {
    expect(stripHeader('Nov 22 22:46:49 chaos-sandbox sshd[1234]: Accepted publickey for sre-demo')).toBe('Accepted publickey for sre-demo');
  });
});

describe('TemplateMiner', () => {
  it('when lines share a template, then they share an id; when they differ, then they do not', () => {
    const miner = new TemplateMiner();
    const a = miner.add('Accepted publickey for sre-demo from 10.0.0.1 port 4000 ssh2');
    const b = miner.add('Accepted publickey for root from 10.0.0.2 port 5000 ssh2');
    const c = miner.add('Disconnected from user sre-demo 10.0.0.1 port 4000');
    expect(b.templateId).toBe(a.templateId);
    expect(c.templateId).not.toBe(a.templateId);
    expect(b.template).toContain('<*>');
  });

  it('when many lines arrive, then ids stay stable for lines of the same kind', () => {
    const miner = new TemplateMiner();
    const first = miner.add('job 1 finished in 10 ms').templateId;
    for (let i = 2; i < 500; i++) expect(miner.add(`job ${i} finished in ${i * 3} ms`).templateId).toBe(first);
  });

  it('when every line is unique, then the cluster count stays within the cap (bounded memory)', () => {
    const miner = new TemplateMiner({ maxClusters: 50 });
    const words = (i: number) => Array.from({ length: 6 }, (_, k) => String.fromCharCode(97 + ((i * 7 + k * 13) % 26)).repeat(1 + ((i + k) % 5))).join(' ');
    for (let i = 0; i < 5000; i++) miner.add(`${words(i)} ${words(i * 31)}`);
    expect(miner.templates().length).toBeLessThanOrEqual(50);
  });

  it('when grouping accuracy is computed, then a line counts only if its whole group matches', () => {
    expect(groupingAccuracy(['a', 'a', 'b', 'c'], ['x', 'x', 'y', 'y'])).toBe(0.5);
    expect(groupingAccuracy(['a', 'a', 'b'], ['x', 'x', 'y'])).toBe(1);
  });
});
