import { checkProbe, hostCommandLine, metricValue, tolerance, type HostExec } from '../../../src/experiments/probes.js';
import { SteadyStateProbe } from '../../../src/experiments/schema.js';

const probe = (p: unknown) => SteadyStateProbe.parse(p);

/** A host that answers every command with the given result, and remembers the command lines. */
function fakeHost(result: { exitCode: number | null; outcome?: string; stdout?: string; stderr?: string }) {
  const commands: string[] = [];
  const exec: HostExec = async (_target, command) => {
    commands.push(command);
    return { outcome: 'exited', stdout: '', stderr: '', ...result };
  };
  return { exec, commands };
}

describe('steady-state probes', () => {
  it('when a probe carries a weight, then its check does too (the resilience score counts it so)', async () => {
    const host = fakeHost({ exitCode: 0 });
    const check = await checkProbe(probe({ name: 'svc', type: 'command', command: { run: 'service_active', service: 'nginx' }, weight: 3 }), 'before', { exec: host.exec, defaultTarget: 'box' });
    expect(check).toMatchObject({ probe: 'svc', kind: 'command', phase: 'before', ok: true, weight: 3, value: 0 });
    expect(host.commands).toEqual(["systemctl is-active --quiet 'nginx'"]);
  });

  it('when a SQL probe runs, then the session is read-only, the query is one quoted argument, and the expectation is checked on the first value and the rows', async () => {
    const host = fakeHost({ exitCode: 0, stdout: '7\tx\n8\ty\n' });
    const p = probe({ name: 'rows', type: 'sql', db: 'postgresql://app@127.0.0.1:5432/app', query: "select n, 'it''s' from t", expect: { min: 5, rows_max: 1 } });
    const check = await checkProbe(p, 'after', { exec: host.exec, defaultTarget: 'box' });
    expect(host.commands[0]).toMatch(/^PGOPTIONS='-c default_transaction_read_only=on' psql -X -q -A -t /);
    expect(host.commands[0]).toContain(`-c 'select n, '\\''it'\\'''\\''s'\\'' from t'`);
    expect(check).toMatchObject({ ok: false, value: 7, detail: '2 rows, more than 1', tolerance: '>= 5, rows <= 1' });
  });

  it('when a command probe names values, then each is single-quoted after a fixed program', () => {
    expect(hostCommandLine({ run: 'path_exists', path: "/srv/it's" })).toBe("test -e '/srv/it'\\''s'");
    expect(hostCommandLine({ run: 'service_status', service: 'victim-api' })).toBe("'/etc/chaos-handler/services/victim-api.sh' status");
    expect(hostCommandLine({ run: 'pg_isready', db: 'postgresql://u@h:5432/d' })).toBe("pg_isready -d 'postgresql://u@h:5432/d' -t 3");
  });

  it('when the host cannot run the probe, then the check is out of tolerance with the reason', async () => {
    const exec: HostExec = async () => {
      throw new Error('connection refused');
    };
    const check = await checkProbe(probe({ name: 'm', type: 'metric', metric: 'load1', max: 4 }), 'during', { exec, defaultTarget: 'box' });
    expect(check).toMatchObject({ ok: false, value: null, detail: 'could not be checked: connection refused', tolerance: 'load1 <= 4' });
  });

  it('when a metric is read from a sample, then disks use the named mount or the fullest, and DB connections become a share', () => {
    const sample = { disks: [{ mount: '/', used_pct: 40 }, { mount: '/tmp', used_pct: 91.256, inodes_used_pct: 3 }], db: { connections: 30, max_connections: 40 } };
    expect(metricValue(sample, { metric: 'disk.used_pct' })).toBe(91.26);
    expect(metricValue(sample, { metric: 'disk.used_pct', mount: '/' })).toBe(40);
    expect(metricValue(sample, { metric: 'disk.inodes_used_pct', mount: '/' })).toBeNull();
    expect(metricValue(sample, { metric: 'db.connections_pct' })).toBe(75);
    expect(metricValue({}, { metric: 'cpu.busy_pct' })).toBeNull();
  });

  it('when a db.* metric is probed, then the sampler is given the instance as a db probe (quoted), and the first sample with a count is used', async () => {
    const sample = (db: unknown) => JSON.stringify({ type: 'sample', data: { cpu: { busy_pct: 3 }, db } });
    const host = fakeHost({ exitCode: 0, stdout: `${sample(null)}\n${sample({ connections: 45, max_connections: 50 })}\n` });
    const p = probe({ name: 'slots', type: 'metric', metric: 'db.connections_pct', db: 'postgresql://victim@127.0.0.1:5432/victim', max: 80 });
    const check = await checkProbe(p, 'before', { exec: host.exec, defaultTarget: 'box' });
    // Under sudo where the login may, as the pipeline runs it: a full instance is then still
    // counted from the process table; as the login elsewhere.
    const args = `'--interval' '1' '--max-seconds' '2' '--no-stdin-watch' '--probe' 'db=postgresql://victim@127.0.0.1:5432/victim'`;
    const sampler = `'/opt/chaos-scripts/collect/sampler.py'`;
    expect(host.commands[0]).toBe(`if sudo -n -l -- ${sampler} >/dev/null 2>&1; then sudo -n -- ${sampler} ${args}; else python3 ${sampler} ${args}; fi`);
    expect(check).toMatchObject({ ok: false, value: 90, detail: 'db.connections_pct = 90' });
  });

  it('when the instance is full and refuses the sampler too, then the check says so instead of "not measured"', async () => {
    const lines = [
      JSON.stringify({ type: 'probe', data: { kind: 'db', ok: false, error: 'FATAL: sorry, too many clients already' } }),
      JSON.stringify({ type: 'sample', data: { cpu: { busy_pct: 3 }, db: null } }),
    ];
    const host = fakeHost({ exitCode: 0, stdout: `${lines.join('\n')}\n` });
    const p = probe({ name: 'slots', type: 'metric', metric: 'db.connections_pct', db: 'postgresql://victim@127.0.0.1:5432/victim', max: 80 });
    const check = await checkProbe(p, 'during', { exec: host.exec, defaultTarget: 'box' });
    expect(check).toMatchObject({ ok: false, value: null, detail: 'db.connections_pct not measured: the sampler could not connect to the instance: FATAL: sorry, too many clients already' });
  });

  it('when a db.* metric names no instance, then the file is refused: the sampler would measure nothing', () => {
    const parsed = SteadyStateProbe.safeParse({ name: 'slots', type: 'metric', metric: 'db.connections', max: 40 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['db'], message: 'db.* metrics need db: the PostgreSQL instance to count connections of' });
  });

  it('when tolerances are shown, then they read as a person writes them', () => {
    expect(tolerance(probe({ name: 'h', type: 'http', url: 'http://127.0.0.1/', expect_status: [200, 204], latency_ms: { p: 99, max: 250 } }))).toBe('status 200|204, p99 <= 250 ms');
    expect(tolerance(probe({ name: 'c', type: 'command', command: { run: 'path_exists', path: '/x' }, expect_exit: 1 }))).toBe('exit 1');
  });
});
