import { MASK, maskVariables } from '../../../../../src/agents/log/mining/masking.js';

describe('maskVariables', () => {
  it.each([
    ['IPv4 with a port', 'connect to 10.250.15.240:50010 failed', 'connect to <*> failed'],
    ['IPv4 with a leading slash', 'Served block to /10.251.203.80', 'Served block to <*>'],
    ['IPv6', 'listening on [fe80::1ff:fe23:4567:890a]:8080 now', 'listening on <*> now'],
    ['compressed IPv6', 'peer ::1 closed', 'peer <*> closed'],
    ['an integer', 'retry 3 of 5', 'retry <*> of <*>'],
    ['a signed number', 'mod_jk child init 1 -2', 'mod_jk child init <*>'],
    ['a float', 'Progress is : 0.023958297', 'Progress is : <*>'],
    ['a hex literal', 'session 0x14ed93111f20005 closed', 'session <*> closed'],
    ['a long hex id', 'commit 9fceb02d0ae598e95dc970b74767f19372d61af8 pushed', 'commit <*> pushed'],
    ['a UUID', 'request 02c802d7-c570-4089-a3a3-4bd83441aabe done', 'request <*> done'],
    ['a MAC address', 'link 00:1a:2b:3c:4d:5e up', 'link <*> up'],
    ['a path', 'open /var/log/syslog failed', 'open <*> failed'],
    ['a quoted path', "creating device node '/udev/vcs2'", "creating device node '<*>'"],
    ['a Windows path', 'extract to C:\\Users\\me\\Temp done', 'extract to <*> done'],
    ['a URL', 'GET https://example.com/a?b=1 ok', 'GET <*> ok'],
    ['a duration in ms', 'took 12ms', 'took <*>'],
    ['a duration in seconds', 'slept 3.5s then', 'slept <*> then'],
    ['a duration in words', 'timed out after 900 seconds at noon', 'timed out after <*> at noon'],
    ['a size', 'allocated 512MB and 4KiB', 'allocated <*> and <*>'],
    ['a size with its human form', 'close, 18846 bytes (18.4 KB) received', 'close, <*> received'],
    ['a block id', 'Deleting block blk_-1781953582842324563 now', 'Deleting block <*> now'],
    ['a Hadoop attempt id', 'Launching attempt_1445144423722_0020_m_000000_0', 'Launching <*>'],
    ['a textual timestamp', 'at Fri Jun 17 07:07:00 2005', 'at <*>'],
    ['an ISO timestamp', 'since 2015-10-18 18:01:47,978 ok', 'since <*> ok'],
    ['a clock', 'lifetime 00:01', 'lifetime <*>'],
    ['a key=value number', 'logname= uid=0 euid=0 tty=ssh', 'logname= uid=<*> euid=<*> tty=ssh'],
    ['a number list', 'steps = 1514038440000##6993##548365', 'steps = <*>'],
    ['a boolean', 'isScreenOn true', 'isScreenOn <*>'],
    ['a host name', 'reverse mapping for ns.marryaldkfaczcz.com failed', 'reverse mapping for <*> failed'],
    ['a host with a port', 'open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS', 'open through proxy <*> HTTPS'],
    ['consecutive values', 'ask to delete blk_101 blk_-202 blk_303', 'ask to delete <*>'],
  ])('when the message has %s, then it is masked', (_name, input, expected) => {
    expect(maskVariables(input)).toBe(expected);
  });

  it.each([
    ['a Java class name', 'Adding protocol org.apache.hadoop.mapreduce.v2.api.MRClientProtocolPB to the server'],
    ['a file name with a digit', 'workerEnv.init() ok workers2.properties'],
    ['an enum value', 'onReceive action: android.intent.action.SCREEN_ON'],
    ['a word with a digit', 'Accepted password for fztu port ssh2'],
    ['a word key=value', 'tty=NODEVssh ruser= rhost='],
  ])('when the message has %s, then it is left alone', (_name, input) => {
    expect(maskVariables(input)).toBe(input);
  });

  it('when white space is irregular, then it is normalized to single spaces', () => {
    expect(maskVariables('  a \t b   c ')).toBe('a b c');
  });

  it('when a message is masked twice, then the second pass changes nothing', () => {
    const once = maskVariables('Received block blk_123 of size 67108864 from /10.251.42.84 in 12ms');
    expect(maskVariables(once)).toBe(once);
    expect(once).toContain(MASK);
  });

  it('when a line is long and hostile, then masking stays fast', () => {
    const hostile = `${'a-'.repeat(20_000)}x ${'1_'.repeat(20_000)} ${'9.'.repeat(20_000)}`;
    const started = performance.now();
    maskVariables(hostile);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
