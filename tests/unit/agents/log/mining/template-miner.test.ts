import { TemplateMiner } from '../../../../../src/agents/log/mining/template-miner.js';

describe('TemplateMiner', () => {
  it('when lines share a template, then they get one id and the template generalizes', () => {
    const miner = new TemplateMiner();
    const a = miner.add('Invalid user webmaster from 173.234.31.186');
    const b = miner.add('Invalid user chen from 202.100.179.208');
    expect(a.isNew).toBe(true);
    expect(b.isNew).toBe(false);
    expect(b.templateId).toBe(a.templateId);
    expect(b.template).toBe('Invalid user <*> from <*>');
  });

  it('when lines have different templates, then they get different ids', () => {
    const miner = new TemplateMiner();
    const ids = [
      'cupsd startup succeeded',
      'cupsd shutdown succeeded',
      'Connection closed by 1.2.3.4 [preauth]',
      'Failed password for root from 1.2.3.4 port 22 ssh2',
      'Failed password for invalid user bob from 1.2.3.4 port 22 ssh2',
    ].map((line) => miner.add(line).templateId);
    expect(new Set(ids).size).toBe(5);
  });

  it('when lines differ by a state word in capitals, then they stay apart', () => {
    const miner = new TemplateMiner();
    const a = miner.add('attempt_1_0020_m_000000_0 TaskAttempt Transitioned from NEW to UNASSIGNED');
    const b = miner.add('attempt_1_0020_m_000001_0 TaskAttempt Transitioned from RUNNING to FAILED');
    expect(b.templateId).not.toBe(a.templateId);
  });

  it('when a typed slot meets a plain word, then it is a difference', () => {
    const miner = new TemplateMiner();
    const a = miner.add('Client attempting to renew session 0x24ed93119420016 at /10.10.34.13:37115');
    const b = miner.add('Client attempting to establish new session at /10.10.34.19:33425');
    expect(b.templateId).not.toBe(a.templateId);
  });

  it('when a template generalizes, then earlier ids stay valid and stable', () => {
    const miner = new TemplateMiner();
    const first = miner.add('session opened for user alice by (uid=0)');
    for (const user of ['bob', 'carol', 'dave']) {
      expect(miner.add(`session opened for user ${user} by (uid=0)`).templateId).toBe(first.templateId);
    }
    expect(miner.resolve(first.templateId)).toBe(first.templateId);
    const [template] = miner.templates();
    expect(template).toMatchObject({ id: first.templateId, count: 4, firstSeenIndex: 0, lastSeenIndex: 3 });
  });

  it('when the same stream is mined twice, then the ids are the same (content-derived)', () => {
    const lines = ['a b 1', 'c d e', 'a b 2'];
    const run = (): string[] => {
      const miner = new TemplateMiner();
      return lines.map((line) => miner.add(line).templateId);
    };
    expect(run()).toEqual(run());
  });

  it('when headers differ but messages match, then the header is ignored', () => {
    const miner = new TemplateMiner();
    const a = miner.add('Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown');
    const b = miner.add('Jul 27 14:41:57 other sshd(pam_unix)[20882]: check pass; user unknown');
    expect(b.templateId).toBe(a.templateId);
    expect(a.template).toBe('check pass; user unknown');
  });

  it('when more distinct templates arrive than the cap, then clusters stay within the cap', () => {
    const miner = new TemplateMiner({ maxClusters: 50 });
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
    for (let i = 0; i < 5000; i++) {
      const a = words[i % 8] ?? '';
      const b = words[Math.floor(i / 8) % 8] ?? '';
      const c = words[Math.floor(i / 64) % 8] ?? '';
      miner.add(`${a} ${b} ${c} happened ${i}`);
      miner.add(`${a}${i} only`);
    }
    expect(miner.stats().clusters).toBeLessThanOrEqual(50);
    expect(miner.templates().length).toBeLessThanOrEqual(50);
    expect(miner.stats().evicted).toBeGreaterThan(0);
    expect(miner.stats().lines).toBe(10_000);
  });

  it('when a leaf overflows, then its least recently used cluster is evicted', () => {
    const miner = new TemplateMiner({ maxClustersPerLeaf: 3 });
    for (const word of ['one', 'two', 'three', 'four', 'five']) miner.add(`start x ${word} ${word}q zz`);
    expect(miner.stats().clusters).toBe(3);
  });

  it('when a message is very long, then its tokens are capped', () => {
    const miner = new TemplateMiner({ maxTokens: 10 });
    const tokens = miner.tokenize(Array.from({ length: 100 }, (_, i) => `w${String.fromCharCode(97 + (i % 26))}`).join(' '));
    expect(tokens).toHaveLength(10);
    expect(tokens[9]).toBe('<*>');
  });

  it('when options are invalid, then the constructor throws', () => {
    expect(() => new TemplateMiner({ similarity: 2 })).toThrow();
  });

  it('when the line is empty, then it gets the empty template', () => {
    const miner = new TemplateMiner();
    const a = miner.add('');
    const b = miner.add('   ');
    expect(b.templateId).toBe(a.templateId);
    expect(a.template).toBe('');
  });
});
