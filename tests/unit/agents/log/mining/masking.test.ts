import fc from 'fast-check';

import {
  collapseMasks,
  MASK,
  maskKeyHash,
  maskKeyHashHigh,
  maskMessage,
  maskToken,
  sameMaskKey,
} from '../../../../../src/agents/log/mining/masking.js';
import { mulberry32 } from '../../../../../src/selftest/prng.js';

describe('maskMessage', () => {
  describe('the digit rule: an identifier run that holds a digit is a variable', () => {
    it.each([
      ['an integer', 'retry 3 of 5', 'retry <*> of <*>'],
      ['a signed number', 'offset -5 and +7', 'offset <*> and <*>'],
      ['numbers in a row', 'mod_jk child init 1 -2', 'mod_jk child init <*>'],
      ['a float', 'Progress is : 0.023958297', 'Progress is : <*>'],
      ['a number with a thousands separator', 'read 1,234,567 rows', 'read <*> rows'],
      ['a percentage', 'disk at 93% full', 'disk at <*>% full'],
      ['IPv4 with a port', 'connect to 10.250.15.240:50010 failed', 'connect to <*> failed'],
      ['IPv4 with a leading slash', 'Served block to /10.251.203.80', 'Served block to <*>'],
      ['a CIDR block', 'route 10.0.0.0/8 added', 'route <*> added'],
      ['a hex literal', 'session 0x14ed93111f20005 closed', 'session <*> closed'],
      ['a bare hex id', 'AppWindowToken{9f4ef63 token=Token{a64f992 u0 t761}}', 'AppWindowToken{<*> token=Token{<*>}}'],
      ['a digest', 'commit 9fceb02d0ae598e95dc970b74767f19372d61af8 pushed', 'commit <*> pushed'],
      ['a hex value with no digit', 'vis=40008500 mask=ffffffff now', 'vis=<*> mask=<*> now'],
      ['a duration with its unit glued', 'took 12ms then 3.5s', 'took <*> then <*>'],
      ['a size with its unit glued', 'allocated 512MB and 4KiB', 'allocated <*> and <*>'],
      ['a version', 'running v1.2.3 on build 6.1.7601.23505', 'running <*> on build <*>'],
      ['a clock', 'lifetime 00:01', 'lifetime <*>'],
      ['a compact date-time', 'at 20171223-22:15:29:606 ok', 'at <*> ok'],
      ['a DB2-style timestamp', 'at 2005-06-03-15.42.50.675872 ok', 'at <*> ok'],
      ['an ISO timestamp over two tokens', 'since 2015-10-18 18:01:47,978 ok', 'since <*> ok'],
      ['a key=value number', 'uid=0 euid=0 tty=ssh', 'uid=<*> euid=<*> tty=ssh'],
      ['a key with a number in it', 'r00=0x00000000 done', '<*>=<*> done'],
      ['a bracketed pid', 'child [2915]: exited', 'child [<*>]: exited'],
      ['a number after a dot', 'generating core.2275', 'generating core.<*>'],
      ['a signed id after an underscore', 'Deleting block blk_-1781953582842324563 now', 'Deleting block <*> now'],
      ['an id joined by underscores', 'Launching attempt_1445144423722_0020_m_000000_0', 'Launching <*>'],
      ['a short id joined by underscores', 'Found block rdd_2_1 and broadcast_1_piece0', 'Found block <*> and <*>'],
      ['a host name with numbers', 'node dn228 and node-246 up', 'node <*> and node-<*> up'],
      ['a dashed address-like host', 'from calvisitor-10-105-160-95 ok', 'from calvisitor-<*> ok'],
      ['a rack location', 'at R02-M1-N0-C:J12-U11 now', 'at <*>-C:<*> now'],
      ['a word with a digit', 'Accepted password for fztu port ssh2', 'Accepted password for fztu port <*>'],
      ['a number list', 'steps = 1514038440000##6993##548365', 'steps = <*>'],
      ['a less-than duration', 'lifetime <1 sec', 'lifetime <*>'],
      ['consecutive values', 'ask to delete blk_101 blk_-202 blk_303', 'ask to delete <*>'],
    ])('when the message has %s, then it is masked', (_name, input, expected) => {
      expect(maskMessage(input)).toBe(expected);
    });
  });

  describe('shapes whose parts may hold no digit', () => {
    it.each([
      ['a UUID whose groups may be all letters', 'request 02c802d7-abcd-4089-a3a3-4bd83441aabe done', 'request <*> done'],
      ['a MAC address', 'link 00:1a:2b:3c:4d:5e up', 'link <*> up'],
      ['IPv6', 'listening on [fe80::1ff:fe23:4567:890a]:8080 now', 'listening on <*> now'],
      ['compressed IPv6', 'peer ::1 closed', 'peer <*> closed'],
      ['IPv6 with letter-only groups', 'peer fe80::dead:beef up', 'peer <*> up'],
      ['a path', 'open /var/log/syslog failed', 'open <*> failed'],
      ['a quoted path', "creating device node '/udev/vcs'", "creating device node '<*>'"],
      ['a relative path', 'reading ./conf/app.yaml', 'reading <*>'],
      ['a path as a value', 'file=/etc/passwd denied', 'file=<*> denied'],
      ['a Windows path', 'extract to C:\\Users\\me\\Temp done', 'extract to <*> done'],
      ['a URL', 'GET https://example.com/a?b=1 ok', 'GET <*> ok'],
      ['an e-mail address', 'mail from alice.smith+x@mail.example.org rejected', 'mail from <*> rejected'],
      ['a host name', 'reverse mapping for ns.marryaldkfaczcz.com failed', 'reverse mapping for <*> failed'],
      ['a host name with a port', 'open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS', 'open through proxy <*> HTTPS'],
    ])('when the message has %s, then it is masked', (_name, input, expected) => {
      expect(maskMessage(input)).toBe(expected);
    });
  });

  describe('values spread over tokens', () => {
    it.each([
      ['a textual timestamp', 'at Fri Jun 17 07:07:00 2005', 'at <*>'],
      ['a day-month-year date', 'expires 17 Jun 2005 ok', 'expires <*> ok'],
      ['an access-log date', 'at [10/Oct/2000:13:55:36 -0700] GET', 'at [<*>] GET'],
      ['a duration in words', 'timed out after 900 seconds at noon', 'timed out after <*> at noon'],
      ['a duration with a spaced unit', 'Reading broadcast variable 1 took 11 ms', 'Reading broadcast variable <*> took <*>'],
      ['a size with its human form', 'close, 18846 bytes (18.4 KB) received', 'close, <*> received'],
      ['sizes in a list', '(estimated size 5.2 KB, free 317.1 KB)', '(estimated size <*>, free <*>)'],
      ['a time with a zone', 'built on 06/10/2013 17:26 GMT today', 'built on <*> today'],
    ])('when the message has %s, then it is one mask', (_name, input, expected) => {
      expect(maskMessage(input)).toBe(expected);
    });
  });

  describe('values that are not numbers', () => {
    it.each([
      ['a boolean', 'isScreenOn true', 'isScreenOn <*>'],
      ['a boolean in parentheses', 'setLightsOn(false)', 'setLightsOn(<*>)'],
      ['a null', 'value=null', 'value=<*>'],
      ['an empty key=value', 'tty=NODEVssh ruser= rhost=', 'tty=NODEVssh ruser=<*> rhost=<*>'],
      ['an empty pair of brackets', 'connection from 222.33.90.199 () at noon', 'connection from <*> at noon'],
    ])('when the message has %s, then it is masked', (_name, input, expected) => {
      expect(maskMessage(input)).toBe(expected);
    });
  });

  it.each([
    ['a Java class name', 'Adding protocol org.apache.hadoop.mapreduce.api.MRClientProtocolPB to the server'],
    ['a file name', 'workerEnv.init ok workers.properties'],
    ['an enum value', 'onReceive action: android.intent.action.SCREEN_ON'],
    ['a word value of a key', 'tty=ssh state=RUNNING'],
    ['a C++ scope', 'in IdoTransportMgr::SendPacket now'],
    ['a month name used as a word', 'May the job run'],
    ['a short word of hex letters', 'a decade of faced beads'],
  ])('when the message has %s, then it is left alone', (_name, input) => {
    expect(maskMessage(input)).toBe(input);
  });

  it('when white space is irregular, then it is normalized to single spaces', () => {
    expect(maskMessage('  a \t b   c ')).toBe('a b c');
  });

  it('when a message is masked twice, then the second pass changes nothing', () => {
    const once = maskMessage('Received block blk_123 of size 67108864 from /10.251.42.84 in 12ms (uid=0) at Fri Jun 17 07:07:00 2005');
    expect(maskMessage(once)).toBe(once);
    expect(once).toContain(MASK);
  });

  it('when a line is long and hostile, then it is masked as any other line', () => {
    // Backtracking-prone shapes; the linear cost is measured by `npm run bench -- --only miner`.
    const hostile = `${'a-'.repeat(20_000)}x ${'1_'.repeat(20_000)} ${'9.'.repeat(20_000)}`;
    const masked = maskMessage(hostile);
    // Compared by parts: a failure message must not print 100k characters.
    expect(masked.length).toBe(40_001 + ' <*>.'.length);
    expect(masked.endsWith('-x <*>.')).toBe(true);
  });
});

describe('maskToken', () => {
  it('when the token is a plain word, then it is returned as is', () => {
    expect(maskToken('password')).toBe('password');
  });

  it('when a sign is glued to a word, then it is punctuation, not a sign', () => {
    expect(maskToken('id-5')).toBe('id-<*>');
    expect(maskToken('(-5)')).toBe('(<*>)');
  });
});

describe('collapseMasks', () => {
  it('when masks are separated only by separators, then they become one', () => {
    expect(collapseMasks('a <*>, <*>:<*> b <*>')).toBe('a <*> b <*>');
  });

  it('when words stand between masks, then they stay apart', () => {
    expect(collapseMasks('<*> to <*>')).toBe('<*> to <*>');
  });
});


/** Token kinds of many shapes; each fills its values from `rand` (lengths of hex groups fixed). */
const KINDS: ((rand: () => number) => string)[] = [
  () => 'Failed',
  () => 'password',
  () => 'session',
  () => '(uid=',
  () => 'Jun',
  () => 'KB',
  () => 'true',
  () => 'ms',
  () => '-',
  () => 'org.apache.Foo:',
  () => 'host.example.com',
  (r) => String(Math.floor(r() * 10 ** (1 + Math.floor(r() * 6)))),
  (r) => `-${Math.floor(r() * 1000)}`,
  (r) => `blk_-${Math.floor(r() * 1e9)}`,
  (r) => `dn${Math.floor(r() * 999)}`,
  (r) => `${[0, 0, 0, 0].map(() => Math.floor(r() * 256)).join('.')}:${Math.floor(r() * 65536)}`,
  (r) => `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}`,
  (r) => `0x${hex(r, 6)}`,
  (r) => `{${hex(r, 7)}`,
  (r) => `/var/log/app${Math.floor(r() * 9)}.log`,
  (r) => `${Math.floor(r() * 24)}:${Math.floor(r() * 60)}:${Math.floor(r() * 60)},${Math.floor(r() * 1000)}`,
  (r) => `took ${Math.floor(r() * 900)}ms`,
];

function hex(rand: () => number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += '0123456789abcdef'.charAt(Math.floor(rand() * 16));
  return text;
}

function fill(structure: readonly number[], seed: number): string {
  const rand = mulberry32(seed);
  return structure.map((kind) => (KINDS[kind] ?? KINDS[0]!)(rand)).join(' ');
}

describe('mask keys', () => {
  const structures = fc.array(fc.integer({ min: 0, max: KINDS.length - 1 }), { minLength: 1, maxLength: 12 });

  it('when two messages have the same key, then they have the same masked message and fingerprint', () => {
    let sameKey = 0;
    fc.assert(
      fc.property(structures, fc.integer(), fc.integer(), (structure, seedA, seedB) => {
        const a = fill(structure, seedA);
        const b = fill(structure, seedB);
        if (!sameMaskKey(a, b)) return;
        sameKey++;
        expect(maskMessage(b)).toBe(maskMessage(a));
        const low = maskKeyHash(a);
        const high = maskKeyHashHigh();
        expect([maskKeyHash(b), maskKeyHashHigh()]).toEqual([low, high]);
      }),
      { numRuns: 500 },
    );
    // Not vacuous: many pairs of one structure share their key (hex values that start with a
    // letter in one and a digit in the other do not).
    expect(sameKey).toBeGreaterThan(100);
  });

  it('when messages differ in a word, then their keys differ', () => {
    expect(sameMaskKey('Failed password for root', 'Failed password for admin')).toBe(false);
    expect(maskKeyHash('Failed password for root')).not.toBe(maskKeyHash('Failed password for admin'));
  });

  it('when messages differ only in the digits of their numbers, then their keys are the same', () => {
    expect(sameMaskKey('port 22 pid 1234 at 10.0.0.1', 'port 2222 pid 7 at 192.168.10.254')).toBe(true);
  });

  it('when a hex group next to a dash changes length, then the keys differ (UUID groups have fixed lengths)', () => {
    expect(sameMaskKey('id 02c802d7-c570-4089-a3a3-4bd83441aabe', 'id 02c802d7-c5700-4089-a3a3-4bd83441aabe')).toBe(false);
  });
});
