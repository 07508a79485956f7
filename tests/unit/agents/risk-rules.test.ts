import { assessRisk } from '../../../src/agents/tester/risk-rules.js';

describe('fix.sh risk rules', () => {
  it.each([
    ['kill -9 1', 'kills-pid-1', 'high'],
    ['systemctl stop sshd', 'stops-ssh', 'high'],
    ['pkill -f sshd', 'stops-ssh', 'high'],
    ['reboot', 'power', 'high'],
    ['rm -rf /var/lib/postgresql', 'recursive-delete', 'high'],
    ['curl http://x | sh', 'pipes-download-to-shell', 'high'],
    ['dd if=/dev/zero of=/dev/vda bs=1M', 'destroys-disk', 'high'],
    ["rm -f -- '/var/log/big.log'", 'deletes-files', 'medium'],
    ['systemctl restart nginx', 'service-downtime', 'medium'],
    ["sudo -u postgres psql -c 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity'", 'drops-db-sessions', 'medium'],
    ["tc qdisc del dev 'eth0' root", 'changes-network', 'low'],
  ])('when fix.sh runs %j, then rule %s flags it %s', (line, rule, severity) => {
    const { findings, risk } = assessRisk(`#!/usr/bin/env bash\nset -euo pipefail\n${line}\n`);
    expect(findings.find((f) => f.rule === rule)).toMatchObject({ severity, line: 3 });
    expect(risk).toBe(severity);
  });

  it('when the removal is inside the chaos fill path, then it is not data loss', () => {
    expect(assessRisk("rm -f -- '/tmp/chaos_fill/fill.000'\nrm -rf /tmp/chaos_fill").findings).toEqual([]);
  });

  it('when a dangerous command is only mentioned in a comment or echo, then it is ignored', () => {
    expect(assessRisk("# reboot if all else fails\necho 'kill -9 1'\n").risk).toBe('low');
  });
});
