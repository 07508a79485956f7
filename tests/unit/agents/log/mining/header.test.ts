import { stripHeader } from '../../../../../src/agents/log/mining/header.js';

describe('stripHeader', () => {
  it.each([
    [
      'syslog with a pid',
      'Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown',
      'check pass; user unknown',
    ],
    ['syslog with a versioned tag', 'Jun 19 04:09:11 combo syslogd 1.4.1: restart.', 'restart.'],
    ['syslog with a double-dash tag', 'Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2', 'ROOT LOGIN ON tty2'],
    [
      'OpenSSH via syslog',
      'Dec 10 06:55:46 LabSZ sshd[24200]: error: Received disconnect from 1.2.3.4: 3: bye',
      'error: Received disconnect from 1.2.3.4: 3: bye',
    ],
    [
      'journalctl short-iso',
      '2024-05-01T10:00:00+0000 web-1 systemd[1]: Started nginx.service.',
      'Started nginx.service.',
    ],
    [
      'an Apache error log',
      '[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6',
      'mod_jk child workerEnv in error state 6',
    ],
    [
      'an Apache error log whose message starts with a bracket',
      '[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] Directory index forbidden by rule: /var/www/html/',
      '[client 1.2.3.4] Directory index forbidden by rule: /var/www/html/',
    ],
    [
      'HDFS',
      '081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_1 terminating',
      'PacketResponder 1 for block blk_1 terminating',
    ],
    [
      'Hadoop with a spaced thread',
      '2015-10-18 18:01:52,193 INFO [RMCommunicator Allocator] org.apache.hadoop.Foo: Kind: YARN, Service: x',
      'Kind: YARN, Service: x',
    ],
    [
      'Zookeeper',
      '2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification: 3 (n.leader)',
      'Notification: 3 (n.leader)',
    ],
    [
      'HealthApp pipes',
      '20171223-22:15:29:606|Step_LSC|30002312|onExtend:1514038530000 14 0 4',
      'onExtend:1514038530000 14 0 4',
    ],
    [
      'Proxifier',
      '[10.30 16:49:06] chrome.exe *64 - proxy.cse.cuhk.edu.hk:5070 open through proxy HTTPS',
      'proxy.cse.cuhk.edu.hk:5070 open through proxy HTTPS',
    ],
    [
      'PostgreSQL',
      '2024-05-01 10:00:00.123 UTC [1234] LOG:  duration: 12.3 ms  statement: SELECT 1',
      'duration: 12.3 ms  statement: SELECT 1',
    ],
    [
      'nginx error log',
      '2024/05/01 10:00:00 [error] 1234#0: *1 open() "/x" failed',
      '*1 open() "/x" failed',
    ],
  ])('when the line is %s, then only the message is kept', (_name, line, message) => {
    expect(stripHeader(line)).toBe(message);
  });

  it('when the line does not start with a timestamp, then it is kept whole', () => {
    expect(stripHeader('  Failed password for root from 1.2.3.4 ')).toBe('Failed password for root from 1.2.3.4');
  });

  it('when the line is only a header, then the message is empty', () => {
    expect(stripHeader('Jun 14 15:16:01 combo kernel:')).toBe('');
  });
});
