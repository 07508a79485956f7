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

describe('TemplateMiner.addBatch (a window of lines)', () => {
  const ids = (miner: TemplateMiner, lines: string[]): string[] => miner.addBatch(lines).map((r) => r.templateId);

  it('when a word differs with only two values in the window, each on two lines, then it is a constant and the events stay apart', () => {
    const miner = new TemplateMiner();
    const lines = ['usbfs', 'hub', 'usbfs', 'hub'].map((driver) => `usbcore: registered new driver ${driver}`);
    const [usbfs, hub, usbfsAgain, hubAgain] = ids(miner, lines);
    expect(hub).not.toBe(usbfs);
    expect([usbfsAgain, hubAgain]).toEqual([usbfs, hub]);
  });

  it('when each of two words is seen once, then that is no evidence and the similarity decides', () => {
    const miner = new TemplateMiner();
    const [alice, bob] = ids(miner, ['Accepted publickey for alice from 10.0.0.1 port 22 ssh2', 'Accepted publickey for bob from 10.0.0.2 port 22 ssh2']);
    expect(bob).toBe(alice);
  });

  it('when a word takes three values or more in the window, then it is a variable', () => {
    const miner = new TemplateMiner();
    const result = miner.addBatch(['session opened for user news', 'session opened for user cyrus', 'session opened for user test']);
    expect(new Set(result.map((r) => r.templateId)).size).toBe(1);
    expect(result[2]?.template).toBe('session opened for user <*>');
  });

  it('when two-valued words split a template, then each part keeps its own lines and template', () => {
    const miner = new TemplateMiner();
    const lines = ['failures;', 'failure;', 'failures;', 'failure;'].map((word, i) => `PAM ${i + 2} more authentication ${word} rhost=h${i}.example.com`);
    const result = miner.addBatch(lines);
    expect(result[2]?.templateId).toBe(result[0]?.templateId);
    expect(result[3]?.templateId).toBe(result[1]?.templateId);
    expect(result[1]?.templateId).not.toBe(result[0]?.templateId);
    expect(result[0]?.template).toBe('PAM <*> more authentication failures; rhost=<*>');
    expect(result[1]?.template).toBe('PAM <*> more authentication failure; rhost=<*>');
  });

  it('when templates differ only by a word of their own each, seen once each, then they merge (variables)', () => {
    const miner = new TemplateMiner();
    const classes = ['JobEventType', 'TaskEventType', 'TaskAttemptEventType', 'JobFinishEvent', 'SpeculatorEvent'];
    const result = miner.addBatch(classes.map((c, i) => `Registering class ${c} for class Handler${'ABCDE'.charAt(i)}x`));
    expect(new Set(result.map((r) => r.templateId)).size).toBe(1);
    expect(result[4]?.template).toBe('Registering class <*> for class <*>');
  });

  it('when the differing word is an event word repeated many times, then the events stay apart', () => {
    const miner = new TemplateMiner();
    const lines: string[] = [];
    for (let i = 0; i < 20; i++) for (const verb of ['started', 'stopped', 'reloaded']) lines.push(`Service ${verb}`);
    expect(new Set(ids(miner, lines)).size).toBe(3);
  });

  it('when states in capitals differ, then the events stay apart even with many values', () => {
    const miner = new TemplateMiner();
    const states = ['NEW', 'UNASSIGNED', 'ASSIGNED', 'RUNNING', 'SUCCEEDED'];
    const lines = states.slice(1).map((to, i) => `TaskAttempt Transitioned from ${states[i]} to ${to}`);
    expect(new Set(ids(miner, lines)).size).toBe(4);
  });

  it('when a later window repeats a template, then its lines get the id the first window gave', () => {
    const miner = new TemplateMiner();
    const [first] = ids(miner, ['Accepted publickey for alice from 10.0.0.1 port 22 ssh2', 'unrelated line here']);
    const [again] = ids(miner, ['Accepted publickey for bob from 10.0.0.9 port 2222 ssh2']);
    expect(again).toBe(first);
  });

  it('when a window splits a template from an earlier window, then the old lines keep their id and template', () => {
    const miner = new TemplateMiner();
    const [alpha] = ids(miner, ['job alpha finished in time', 'job alpha finished in time']);
    const result = miner.addBatch(['job alpha finished in time', 'job beta finished in time', 'job alpha finished in time', 'job beta finished in time']);
    expect(result.map((r) => r.templateId)).toEqual([alpha, result[1]?.templateId, alpha, result[1]?.templateId]);
    expect(result[1]?.templateId).not.toBe(alpha);
    expect(result[0]?.template).toBe('job alpha finished in time');
    expect(result[1]?.template).toBe('job beta finished in time');
  });

  it('when a window is mined, then one result per line comes back and only founding lines are new', () => {
    const miner = new TemplateMiner();
    const result = miner.addBatch(['job 1 done', 'job 2 done', 'disk full on /dev/sda1', 'job 3 done']);
    expect(result).toHaveLength(4);
    expect(result.map((r) => r.isNew)).toEqual([true, false, true, false]);
    expect(miner.stats().lines).toBe(4);
    expect(miner.templates().map((t) => t.count)).toEqual([3, 1]);
  });

  it('when lines are mined one by one, then the window rules do not apply (online)', () => {
    const miner = new TemplateMiner();
    const a = miner.add('usbcore: registered new driver usbfs');
    const b = miner.add('usbcore: registered new driver hub');
    expect(b.templateId).toBe(a.templateId);
  });

  it('when the same message comes back after masking, then it joins the same template', () => {
    const miner = new TemplateMiner();
    const a = miner.add('worker 12 took 5ms');
    miner.add('worker 13 took 7ms on host alpha');
    expect(miner.add('worker 99 took 120ms').templateId).toBe(a.templateId);
  });
});
