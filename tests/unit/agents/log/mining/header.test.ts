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
    [
      'Android logcat (month-day, pid and tid, one-letter level)',
      '03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs opening app',
      'printFreezingDisplayLogs opening app',
    ],
    [
      'a label and epoch before a dotted date, a node, a DB2-style time, facility words and a level',
      '- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected',
      'instruction cache parity error corrected',
    ],
    [
      'a relayed syslog line after a label, an epoch and a date',
      '- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: session closed for user root',
      'session closed for user root',
    ],
    [
      'a relayed syslog line whose tag has no pid',
      '- 1131566461 2005.11.09 an706 Nov 9 12:01:01 an706/an706 kernel: Losing some ticks...',
      'Losing some ticks...',
    ],
    [
      'a Python/oslo layout: file name, time, pid, level, logger and request context',
      'nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-38101a0b-2096-447d-96ea-a692162415ae 113d3a99 54fadb41 - - -] 10.11.10.1 "GET /v2/servers HTTP/1.1" status: 200',
      '10.11.10.1 "GET /v2/servers HTTP/1.1" status: 200',
    ],
    [
      'a slashed short date and a component',
      '17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers for [TERM, HUP, INT]',
      'Registered signal handlers for [TERM, HUP, INT]',
    ],
    [
      'a column-aligned layout (comma after the time, padded level and component)',
      '2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505 with Core',
      'Loaded Servicing Stack v6.1.7601.23505 with Core',
    ],
    [
      'a BSD syslog tag with a parenthesized sub-service',
      'Jul  1 09:01:06 calvisitor-10-105-160-95 com.apple.xpc.launchd[1] (com.apple.xpc.launchd.domain.pid.WebContent.35963): Service exited due to signal: Killed: 9',
      'Service exited due to signal: Killed: 9',
    ],
    [
      'a logback layout (thread, level, logger, dash)',
      '2024-05-01 10:00:00.123 [main] INFO  com.example.Foo - started in 12 ms',
      'started in 12 ms',
    ],
  ])('when the line is %s, then only the message is kept', (_name, line, message) => {
    expect(stripHeader(line)).toBe(message);
  });

  it('when the line does not start with a timestamp, then it is kept whole', () => {
    expect(stripHeader('  Failed password for root from 1.2.3.4 ')).toBe('Failed password for root from 1.2.3.4');
  });

  it.each([
    ['a sequence number and a node with no timestamp', '134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change'],
    ['a message starting with a capitalised level-like word', 'Error reading /etc/app.conf at 12:00:01'],
    ['a message starting with a label and a number', 'ALERT 3 exited abnormally'],
  ])('when the line has %s, then nothing is taken for a header', (_name, line) => {
    expect(stripHeader(line)).toBe(line);
  });

  it('when the line is only a header, then the message is empty', () => {
    expect(stripHeader('Jun 14 15:16:01 combo kernel:')).toBe('');
  });
});
