import { readBundle } from '../../../src/evidence/bundle.js';
import { buildNarrativeRequest, knownHostData } from '../../../src/narrative/build-request.js';
import { parseReply } from '../../../src/narrative/narrator.js';
import { redactHostData } from '../../../src/narrative/redact.js';
import path from 'node:path';
import { EXAMPLES_DIR } from '../../fixtures/paths.js';
import { diagnose } from '../../../src/agents/fixer/diagnose.js';

const none = { hosts: [], users: [] };

describe('redactHostData', () => {
  it.each([
    ['IPv4 addresses, with or without a port', 'connect to 10.213.7.2:5432 failed, peer 192.168.1.20', 'connect to [ip] failed, peer [ip]'],
    ['IPv6 addresses', 'listening on fe80::1ff:fe23:4567:890a and 2001:db8::8a2e:370:7334 and ::1 at 10:21:33', 'listening on [ip] and [ip] and [ip] at 10:21:33'],
    ['MAC addresses', 'eth0 link 52:54:00:ab:cd:ef up', 'eth0 link [mac] up'],
    ['domain-shaped host names', 'upstream db-1.prod.example.com and api.internal timed out', 'upstream [host] and [host] timed out'],
    ['URLs and the DSNs they carry', 'DSN postgresql://app:s3cr3t@db.local:5432/shop failed', 'DSN [url] failed'],
    ['paths under /home and /root', 'wrote /home/alice/.cache/big.bin and /root/.bash_history', 'wrote [home-path] and [home-path]'],
    ['key=value secrets', 'password=hunter2 api_key: "abc def" token=xyz', 'password=[secret] api_key: [secret] token=[secret]'],
    ['bearer tokens', 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig', 'Authorization: Bearer [secret]'],
    ['cloud and API keys', 'key AKIAIOSFODNN7EXAMPLE and sk-proj-abcdefghijklmnop', 'key [secret] and [secret]'],
    ['long random strings', 'session 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 expired', 'session [secret] expired'],
    ['e-mail addresses', 'mail to ops@acme.io bounced', 'mail to [email] bounced'],
    ['user@host', 'sre-demo@sandbox ran it', '[user]@[host] ran it'],
    ['user names a log line names', 'Failed password for invalid user admin from 1.2.3.4; session opened for user alice', 'Failed password for invalid user [user] from [ip]; session opened for user [user]'],
    ['private keys', 'key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----', 'key: [secret]'],
  ])('when text holds %s, then they are blanked', (_what, text, expected) => {
    expect(redactHostData(text, none)).toBe(expected);
  });

  it('when the host and its users are known, then their names go wherever they appear, also inside hyphenated names', () => {
    const out = redactHostData('chaos-sandbox-init on chaos-sandbox, started by sre-demo; SANDBOX', { hosts: ['chaos-sandbox', 'sandbox'], users: ['sre-demo'] });
    expect(out).toBe('[host]-init on [host], started by [user]; [host]');
  });

  it('when text holds no host data, then it is left as it is (file names, metrics and prose survive)', () => {
    const text = 'CPU busy rose from 3.1 % to 99.0 %; fix.sh stops the process stress-ng (pid 4242); see report.md';
    expect(redactHostData(text, { hosts: ['db'], users: ['me'] })).toBe(text);
  });

  it('when redacted twice, then the second pass changes nothing', () => {
    const once = redactHostData('10.0.0.1 /home/bob/x password=1 user bob db.example.com', { hosts: ['web-1'], users: ['bob'] });
    expect(redactHostData(once, { hosts: ['web-1'], users: ['bob'] })).toBe(once);
  });
});

describe('the narrative request', () => {
  it.each(['cpu_spike', 'disk_fill', 'db_conn_exhaust', 'foreign_service_down'])('when built from the %s recording, then none of its host data is in it', async (bundle) => {
    const { evidence } = await readBundle(path.join(EXAMPLES_DIR, bundle));
    const diagnosis = diagnose(evidence, undefined, undefined);
    const target = { kind: 'ssh' as const, name: 'shop-db-1', host: '203.0.113.9', port: 22, user: 'deploy' };
    const messages = buildNarrativeRequest({ evidence, findings: { FixerAgent: diagnosis }, target });
    const body = JSON.stringify(messages);
    const known = knownHostData({ evidence, findings: {}, target });
    for (const name of [...known.hosts, ...known.users].filter((n) => n.length > 2)) expect(body).not.toMatch(new RegExp(`(?<![\\w.])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?!\\w)`, 'i'));
    expect(body).not.toMatch(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/);
    expect(body).not.toContain('/home/');
    expect(messages[1]!.content).toContain(`Diagnosis: ${diagnosis.root_cause.category}`);
    for (const literal of ['chaos-sandbox', '10.213.7.2', 'sre-demo', 'shop-db-1', '203.0.113.9', 'deploy']) expect(body).not.toContain(literal);
  });
});

describe('parseReply', () => {
  it('when the model answers with the JSON asked for, then its narrative is taken, and its hypotheses only for unknown', () => {
    const reply = '```json\n{"narrative": "CPU ran hot.\\n\\nThe fix stops it.", "hypotheses": [{"category": "cpu_saturation", "rationale": "load"}]}\n```';
    expect(parseReply(reply, 'm', false)).toEqual({ model: 'm', text: 'CPU ran hot.\n\nThe fix stops it.', hypotheses: [] });
    expect(parseReply(reply, 'm', true).hypotheses).toEqual([{ category: 'cpu_saturation', rationale: 'load' }]);
  });

  it('when the model answers in prose, or with JSON of another shape, then the text is the narrative and there are no hypotheses', () => {
    expect(parseReply('  The disk filled up.  ', 'm', true)).toEqual({ model: 'm', text: 'The disk filled up.', hypotheses: [] });
    expect(parseReply('{"story": 1}', 'm', true)).toEqual({ model: 'm', text: '{"story": 1}', hypotheses: [] });
  });

  it('when a suggested category is healthy, unknown or not ours, then the reply is not taken as the JSON asked for', () => {
    const text = '{"narrative": "n", "hypotheses": [{"category": "aliens", "rationale": "r"}]}';
    expect(parseReply(text, 'm', true)).toEqual({ model: 'm', text, hypotheses: [] });
  });
});
