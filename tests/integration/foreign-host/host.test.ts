import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureForeignHost, FOREIGN_HOST, sshForeignHost } from '../../fixtures/foreign-host.js';
import { clearAllForeignFaults, FOREIGN_FAULTS, foreignHostProblems, type FaultName } from '../../fixtures/foreign-host-faults.js';

const run = promisify(execFile);
const { address, sshPort, services } = FOREIGN_HOST;

/** Runs `command` as ops over SSH and fails the test, with its stderr, unless it exits 0. */
async function ops(command: string): Promise<string> {
  const res = await sshForeignHost(command);
  if (res.code !== 0) throw new Error(`ssh ops@${address}: \`${command}\` exited ${res.code}: ${res.stderr.trim()}`);
  return res.stdout;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

/**
 * The foreign test host: a host of the tests' own, with its own services, user and ports, provisioned
 * as a user's host would be (no victim stack), and the faults the tests make on it themselves.
 */
describe('the foreign test host (shop-db-01)', () => {
  beforeAll(async () => {
    await ensureForeignHost();
    // A run that died mid-test leaves its fault behind.
    await clearAllForeignFaults();
  }, 600_000);
  afterAll(async () => {
    await clearAllForeignFaults();
  }, 120_000);

  it('when it is up, then ops logs in on port 2222 with the host key checked, and a different host key opens no session', async () => {
    expect((await ops('echo "$(id -un)@$(hostname)"')).trim()).toBe('ops@shop-db-01');

    const dir = await mkdtemp(path.join(os.tmpdir(), 'chaos-ownhost-wrongkey-'));
    try {
      const wrong = path.join(dir, 'key');
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrong]);
      const known = path.join(dir, 'known_hosts');
      const { stdout: pub } = await run('cat', [`${wrong}.pub`]);
      await writeFile(known, `[${address}]:${sshPort} ${pub.split(' ').slice(0, 2).join(' ')}\n`);
      const refused = await run('ssh', [
        '-p', String(sshPort), '-i', FOREIGN_HOST.keyFile, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
        '-o', `UserKnownHostsFile=${known}`, '-o', 'GlobalKnownHostsFile=/dev/null', `${FOREIGN_HOST.user}@${address}`, 'true',
      ], { timeout: 20_000 }).then(() => 'logged in', (error: { stderr?: string }) => error.stderr ?? '');
      expect(refused).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('when ops uses sudo, then the collectors and scenarios are allowed and nothing else is', async () => {
    const out = await ops(
      [
        'sudo -n /opt/chaos-scripts/collect/snapshot.py --help >/dev/null && echo collectors-allowed',
        'sudo -n -l /opt/chaos-scripts/cpu_spike.sh >/dev/null && echo scenarios-allowed',
        'sudo -n id >/dev/null 2>&1 || echo id-refused',
        'sudo -n /bin/bash -c true >/dev/null 2>&1 || echo shell-refused',
      ].join('; '),
    );
    expect(out.split('\n').filter(Boolean)).toEqual(['collectors-allowed', 'scenarios-allowed', 'id-refused', 'shell-refused']);
  }, 30_000);

  it('when it is up, then its own services answer: nginx on 8088 (pages and /api/), ledger on 7070, PostgreSQL on 6543 as shopapp through ~ops/.pgpass', async () => {
    const home = await get(services.nginx.url);
    expect(home.status).toBe(200);
    expect(home.body).toContain('Corner Shop');
    expect((await get(`${services.nginx.url}api/balance?account=3`)).body).toMatch(/"balance": -?\d+/);
    expect(await get(services.ledger.url)).toMatchObject({ status: 200 });

    const out = await ops(
      [
        'stat -c %a ~/.pgpass',
        // No password anywhere but ~/.pgpass: psql reads it there.
        `psql -X -At -h 127.0.0.1 -p ${services.postgres.port} -U shopapp -d shop -c 'SELECT count(*) FROM orders'`,
        `psql -X -At -h ${address} -p ${services.postgres.port} -U shopmon -d postgres -c "SELECT pg_has_role('pg_monitor', 'member'), current_setting('max_connections')"`,
      ].join(' && '),
    );
    expect(out.trim().split('\n')).toEqual(['600', '500', `t|${services.postgres.maxConnections}`]);
  }, 30_000);

  it('when it is up, then none of the victim stack is there, and the host is in its own memory cgroup', async () => {
    const out = await ops(
      [
        'test -x /opt/chaos-scripts/collect/snapshot.py && echo scripts-installed',
        'test ! -e /etc/chaos-handler && echo no-service-scripts',
        'id victim >/dev/null 2>&1 || echo no-victim-user',
        'id sre-demo >/dev/null 2>&1 || echo no-sre-demo-user',
        "ss -Hltn | awk '{print $4}' | grep -Ec ':(8080|5432)$' || echo no-victim-ports",
        "ps -eo args | grep -c '[v]ictim_api' || echo no-victim-api",
        'cut -d: -f3 /proc/self/cgroup | grep -x /chaos-ownhost | head -n 1',
        'cat /sys/fs/cgroup/memory/chaos-ownhost/memory.limit_in_bytes',
      ].join('; '),
    );
    expect(out.split('\n').filter(Boolean)).toEqual([
      'scripts-installed',
      'no-service-scripts',
      'no-victim-user',
      'no-sre-demo-user',
      '0',
      'no-victim-ports',
      '0',
      'no-victim-api',
      '/chaos-ownhost',
      String(FOREIGN_HOST.memoryLimitBytes),
    ]);
    expect(await foreignHostProblems()).toEqual([]);
  }, 30_000);

  /** What ops (the coordinator's login) sees of each fault, checked independently of apply(). */
  const SEEN_BY_OPS: Record<FaultName, { command: string; check: (out: string) => void }> = {
    cpu: {
      // One runaway per CPU, ps showing argv0 shop-indexer while comm stays python3.
      command: "nproc; ps -eo comm=,args= | awk '$2 == \"shop-indexer\" {print $1, $2}' | sort | uniq -c",
      check: (out) => {
        const [cpus, seen] = out.split('\n');
        expect(seen?.trim()).toBe(`${cpus} python3 shop-indexer`);
      },
    },
    memory: {
      command: "ps -eo args= | grep -c '^cache-warmer '; awk '$1 == \"oom_kill\" {print ($2 > 0) ? \"oom-killed\" : \"none\"}' /sys/fs/cgroup/memory/chaos-ownhost/memory.oom_control",
      check: (out) => expect(out).toBe('1\noom-killed'),
    },
    disk: {
      command: 'df --output=pcent /srv/cache | tail -n 1; ls -S /srv/cache/thumbs | head -n 2',
      check: (out) => expect(out.split('\n').map((l) => l.trim())).toEqual(['100%', 'originals-export-2024-q3.tar', 'originals-export-2024-q4.tar']),
    },
    disk_inodes: { command: 'df --output=ipcent /srv/cache | tail -n 1', check: (out) => expect(out).toBe('100%') },
    network: {
      command: "/sbin/tc -s qdisc show dev eth0 | grep -A1 '^qdisc tbf'",
      check: (out) => expect(out).toMatch(/^qdisc tbf 20: parent 1:2 rate 32Kbit[^\n]*\n\s*Sent \d+ bytes \d+ pkt \(dropped \d+, overlimits \d+/),
    },
    service_down: {
      command: "ss -Hltn 'sport = :8088' | wc -l; tail -n 3 /srv/shop/logs/error.log | grep -c 'emerg.*unknown directive'",
      check: (out) => expect(out).toMatch(/^0\n[1-9]$/),
    },
    db_connections: {
      command: `psql -X -At -h 127.0.0.1 -p ${services.postgres.port} -U shopmon -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'report-builder' AND state = 'idle'"`,
      check: (out) => expect(out).toBe('38'),
    },
    resource_limit: {
      command: "tail -n 20 /srv/ledger/log/ledger.log | grep -c 'ERROR .*Too many open files'",
      check: (out) => expect(Number(out)).toBeGreaterThan(0),
    },
    healthy_noisy: { command: "ps -eo args= | grep -c '^shop-sync '", check: (out) => expect(out).toBe('1') },
  };

  it.each(Object.keys(FOREIGN_FAULTS) as FaultName[])(
    'when the %s fault is applied, then it is in place as ops sees it; when it is cleared, then the host is healthy again',
    async (name) => {
      const fault = FOREIGN_FAULTS[name];
      try {
        await fault.apply();
        const seen = SEEN_BY_OPS[name];
        seen.check((await ops(seen.command)).trim());
        if (name === 'service_down') {
          await expect(fetch(services.nginx.url, { signal: AbortSignal.timeout(3000) })).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
        }
        if (name === 'healthy_noisy') {
          const problems = await foreignHostProblems();
          expect(problems.filter((p) => !/shop-sync|fault job noise/.test(p))).toEqual([]);
        }
      } finally {
        await fault.clear();
      }
      expect(await foreignHostProblems()).toEqual([]);
      // apply and clear are idempotent: clearing again changes nothing.
      await fault.clear();
    },
    120_000,
  );
});
