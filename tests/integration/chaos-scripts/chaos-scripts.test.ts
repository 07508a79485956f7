// The chaos scripts, run for real on this host: real stress-ng, real files on a real tmpfs, a
// real network namespace, a real PostgreSQL, real pid-file daemons. Nothing is mocked. Each test
// gets its own CHAOS_RUN_DIR so it never sees (or touches) a sandbox target sharing this machine.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ChaosRunDir,
  CleanupSummary,
  PG_BIN,
  environOf,
  isAlive,
  parseStatus,
  requireBinary,
  requireRoot,
  rssMb,
  runCommand,
  sleep,
  waitFor,
} from './harness.js';

const T = 30_000;
let host: ChaosRunDir;

beforeEach(() => {
  host = new ChaosRunDir();
});
afterEach(async () => {
  await host.dispose();
});

const gone = (scenario: string) => () => ({ procs: host.processes(), files: host.runFiles(scenario) });
const nothingLeft = (v: { procs: unknown[]; files: unknown[] }) => v.procs.length === 0 && v.files.length === 0;

describe('chaos-scripts: arguments and the status contract', () => {
  const cases: [string, string[], string][] = [
    ['cpu_spike', ['start', '0', '2'], 'duration_s'],
    ['cpu_spike', ['start', '10', 'lots'], 'workers'],
    ['cpu_spike', ['start', '10', '100000'], 'workers'],
    ['cpu_spike', ['start', '10'], 'exactly 2 arguments'],
    ['cpu_spike', ['start', '--lease', '1', '10', '1'], 'lease'],
    ['cpu_spike', ['start', '--max-runtime', '0', '10', '1'], 'max-runtime'],
    ['cpu_spike', ['start', '--frobnicate', '10', '1'], '--frobnicate'],
    ['cpu_spike', ['explode'], 'unknown command'],
    ['cpu_spike', ['status', 'now'], 'status takes no arguments'],
    ['memory_leak', ['start', '9999999', '10'], 'target_mb'],
    ['memory_leak', ['start', '10', '0'], 'duration_s'],
    ['disk_fill', ['start', '10', '/etc'], "path '/etc'"],
    ['disk_fill', ['start', '10', '/'], "path '/'"],
    ['disk_fill', ['start', '10', 'relative/dir'], 'path'],
    ['disk_fill', ['start', '10', '/tmp/x/../../etc'], 'path'],
    ['disk_fill', ['start', '10', '/usr/lib/fill'], 'path'],
    ['disk_fill', ['start', '-5'], 'size_mb'],
    ['net_latency', ['start', 'eth0;reboot', '100', '1'], 'iface'],
    ['net_latency', ['start', 'lo', '100', '1'], "iface 'lo'"],
    ['net_latency', ['start', 'nosuchif0', '100', '1'], "iface 'nosuchif0'"],
    ['service_kill', ['start', 'sshd'], "service_name 'sshd'"],
    ['service_kill', ['start', 'ssh.service'], "service_name 'ssh'"],
    ['service_kill', ['start', 'web;reboot'], 'service_name'],
    ['service_kill', ['start', 'no-such-service'], "service_name 'no-such-service'"],
    ['db_conn_exhaust', ['start', 'host=db;rm -rf /', '3'], 'conn_string'],
    ['db_conn_exhaust', ['start', 'host=$(id)', '3'], 'conn_string'],
    ['db_conn_exhaust', ['start', 'host=/tmp user=app evil=1', '3'], 'conn_string'],
    ['db_conn_exhaust', ['start', 'host=/tmp', '0'], 'clients'],
  ];

  it('when start gets bad arguments, then it exits 2 naming the argument and leaves nothing behind', async () => {
    const servicesDir = mkdtempSync(path.join(os.tmpdir(), 'chaos-svc-empty-'));
    try {
      const results = await Promise.all(cases.map(([script, args]) => host.run(script, args, { CHAOS_SERVICES_DIR: servicesDir })));
      results.forEach((result, i) => {
        const [script, args, named] = cases[i]!;
        expect({ script, args, code: result.code, named: result.stderr.includes(named) }).toEqual({ script, args, code: 2, named: true });
        expect(result.stderr).toMatch(/usage: \w+\.sh /);
      });
      expect(host.processes()).toEqual([]);
      expect(readdirSync(host.dir).filter((f) => /\.(pid|state|lease)$/.test(f))).toEqual([]);
    } finally {
      rmSync(servicesDir, { recursive: true, force: true });
    }
  }, T);

  it('when --help is asked, then usage, exit codes and files are printed and it exits 0', async () => {
    for (const script of ['cpu_spike', 'memory_leak', 'disk_fill', 'net_latency', 'service_kill', 'db_conn_exhaust']) {
      const result = await host.run(script, ['--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`usage: ${script}.sh {start [--max-runtime S] [--lease S]`);
      expect(result.stdout).toContain('exit codes: 0 ok, 1 failure, 2 bad arguments, 3 already running, 4 unsupported');
    }
    expect((await host.run('cleanup_all', ['--help'])).code).toBe(0);
  }, T);

  it('when nothing runs, then status prints one stopped JSON line and stop is a no-op that exits 0 (twice)', async () => {
    expect(await host.status('cpu_spike')).toEqual({
      scenario: 'cpu_spike',
      state: 'stopped',
      pid: null,
      started_at: null,
      deadline: null,
      lease_expires_at: null,
      detail: 'not running',
    });
    for (let i = 0; i < 2; i++) {
      const stop = await host.run('cpu_spike', ['stop']);
      expect(stop.code).toBe(0);
      expect(parseStatus(stop.stdout).state).toBe('stopped');
    }
    const renew = await host.run('cpu_spike', ['renew']);
    expect(renew.code).toBe(1);
    expect(renew.stderr).toContain('not running; nothing to renew');
  }, T);
});

describe('chaos-scripts: cpu_spike and the watchdog (dead man\'s switch)', () => {
  beforeAll(() => {
    requireBinary('stress-ng', 'stress-ng');
  });

  it('when cpu_spike starts, then status is running and real stress-ng workers exist; when stopped, then no process and no pid/state file is left', async () => {
    const start = await host.run('cpu_spike', ['start', '30', '2']);
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    // The start returned although the fault runs on: nothing detached kept our stdout open.
    expect(start.elapsedMs).toBeLessThan(5_000);
    const started = parseStatus(start.stdout);
    expect(started).toMatchObject({ scenario: 'cpu_spike', state: 'running' });
    expect(started.pid).not.toBeNull();
    expect(Date.parse(started.deadline!) - Date.parse(started.started_at!)).toBe(300_000);
    // The lease counts from the moment start returned, not from when it began: a slow start must
    // not hand back a run whose lease is already spent.
    const leasedFrom = Date.parse(started.lease_expires_at!) - 30_000;
    expect(leasedFrom).toBeGreaterThanOrEqual(Date.parse(started.started_at!));
    expect(leasedFrom).toBeLessThanOrEqual(Date.parse(started.started_at!) + Math.ceil(start.elapsedMs / 1000) * 1000);
    expect(readFileSync(path.join(host.dir, 'chaos-cpu_spike.pid'), 'utf8').trim()).toBe(String(started.pid));

    const workers = await waitFor(
      () => host.processes().filter((p) => p.comm.startsWith('stress-ng')),
      (w) => w.length >= 3,
      3_000,
    );
    expect(workers.length).toBeGreaterThanOrEqual(3); // the stress-ng parent and 2 cpu workers
    const status = await host.status('cpu_spike');
    expect(status).toMatchObject({ state: 'running', pid: started.pid });
    expect(status.detail).toContain('2 cpu workers (stress-ng)');
    expect(status.detail).toContain('watchdog pid');
    expect(host.processes().some((p) => p.comm === 'bash')).toBe(true); // the watchdog

    const stop = await host.run('cpu_spike', ['stop']);
    expect(stop.code).toBe(0);
    expect(parseStatus(stop.stdout)).toMatchObject({ state: 'stopped', pid: null });
    expect(host.processes()).toEqual([]);
    expect(host.runFiles('cpu_spike')).toEqual([]);
    expect((await host.status('cpu_spike')).detail).toContain('stop requested');
    expect((await host.run('cpu_spike', ['stop'])).code).toBe(0);
  }, T);

  it('when cpu_spike is already running, then a second start exits 3 and the first keeps running', async () => {
    const first = parseStatus((await host.run('cpu_spike', ['start', '30', '1'])).stdout);
    const second = await host.run('cpu_spike', ['start', '30', '1']);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain('already running');
    expect(await host.status('cpu_spike')).toMatchObject({ state: 'running', pid: first.pid });
  }, T);

  it('when the lease is not renewed, then the host reverts the fault by itself within seconds', async () => {
    const start = await host.run('cpu_spike', ['start', '--lease', '3', '60', '1']);
    expect(start.code).toBe(0);
    const t0 = Date.now();
    const after = await waitFor(gone('cpu_spike'), nothingLeft, 9_000);
    expect(after).toEqual({ procs: [], files: [] });
    expect(Date.now() - t0).toBeGreaterThan(1_500);
    expect(await host.status('cpu_spike')).toMatchObject({ state: 'stopped', pid: null });
    expect((await host.status('cpu_spike')).detail).toContain('watchdog: lease expired');
  }, T);

  it('when the lease is renewed every second, then the fault outlives its lease, and renew reports the new expiry', async () => {
    const start = parseStatus((await host.run('cpu_spike', ['start', '--lease', '3', '60', '1'])).stdout);
    let last = start.lease_expires_at!;
    for (let i = 0; i < 5; i++) {
      await sleep(1_000);
      const renew = await host.run('cpu_spike', ['renew']);
      expect(renew.code).toBe(0);
      const renewed = parseStatus(renew.stdout);
      expect(renewed.state).toBe('running');
      expect(Date.parse(renewed.lease_expires_at!)).toBeGreaterThanOrEqual(Date.parse(last));
      last = renewed.lease_expires_at!;
    }
    const status = await host.status('cpu_spike');
    expect(status).toMatchObject({ state: 'running', pid: start.pid });
    expect(isAlive(start.pid!)).toBe(true);
  }, T);

  it('when max-runtime passes, then the watchdog reverts the fault although the lease is still fresh', async () => {
    expect((await host.run('cpu_spike', ['start', '--max-runtime', '3', '--lease', '60', '60', '1'])).code).toBe(0);
    const after = await waitFor(gone('cpu_spike'), nothingLeft, 9_000);
    expect(after).toEqual({ procs: [], files: [] });
    expect((await host.status('cpu_spike')).detail).toContain('watchdog: max-runtime 3s reached');
  }, T);

  it('when the watchdog itself is killed, then the load still ends by itself at max-runtime, and stop cleans up after it', async () => {
    expect((await host.run('cpu_spike', ['start', '--max-runtime', '3', '60', '1'])).code).toBe(0);
    process.kill(Number(host.stateValue('cpu_spike', 'watchdog_pid')), 'SIGKILL');
    const procs = await waitFor(() => host.processes(), (p) => p.length === 0, 8_000);
    expect(procs).toEqual([]);
    const status = await host.status('cpu_spike');
    expect(status).toMatchObject({ state: 'stopped', pid: null });
    expect(status.detail).toContain('fault ended by itself');
    expect((await host.run('cpu_spike', ['stop'])).code).toBe(0);
    expect(host.runFiles('cpu_spike')).toEqual([]);
  }, T);

  it('when the duration passes, then awk busy loops (CHAOS_CPU_ENGINE=loops) end by themselves and status says stopped', async () => {
    requireBinary('awk', 'mawk');
    const start = await host.run('cpu_spike', ['start', '2', '2'], { CHAOS_CPU_ENGINE: 'loops' });
    expect(start.code).toBe(0);
    expect(parseStatus(start.stdout).detail).toContain('(loops)');
    expect(host.processes().filter((p) => p.comm === 'awk')).toHaveLength(2);
    const after = await waitFor(gone('cpu_spike'), nothingLeft, 7_000);
    expect(after).toEqual({ procs: [], files: [] });
    expect((await host.status('cpu_spike')).detail).toContain('fault process ended');
  }, T);

  it('when the state file is lost, then stop still kills every process of the scenario', async () => {
    expect((await host.run('cpu_spike', ['start', '30', '1'])).code).toBe(0);
    rmSync(path.join(host.dir, 'chaos-cpu_spike.state'));
    expect(host.processes().length).toBeGreaterThan(0);
    expect((await host.run('cpu_spike', ['stop'])).code).toBe(0);
    expect(await waitFor(() => host.processes(), (p) => p.length === 0, 3_000)).toEqual([]);
  }, T);
});

describe('chaos-scripts: memory_leak', () => {
  beforeAll(() => {
    requireBinary('python3', 'python3');
  });

  it('when memory_leak runs, then the RSS of its process really grows toward the target, and stop frees it', async () => {
    const start = await host.run('memory_leak', ['start', '200', '6']);
    expect(start.code).toBe(0);
    const pid = parseStatus(start.stdout).pid!;
    const early = rssMb(pid);
    await sleep(3_000);
    const later = rssMb(pid);
    expect(later).toBeGreaterThan(early + 60);
    const full = await waitFor(() => rssMb(pid), (mb) => mb >= 190, 2_000);
    expect(full).toBeGreaterThanOrEqual(190);
    expect((await host.status('memory_leak')).detail).toMatch(/rss now \d+ MB/);
    expect((await host.run('memory_leak', ['stop'])).code).toBe(0);
    expect(isAlive(pid)).toBe(false);
    expect(host.processes()).toEqual([]);
  }, T);

  it('when the target exceeds MemAvailable - 256 MB, then start refuses with exit 2 naming target_mb', async () => {
    const available = Number(/^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024;
    const target = Math.floor(available - 200);
    expect(target).toBeLessThanOrEqual(65536); // else the syntax bound, not the host check, would answer
    const result = await host.run('memory_leak', ['start', String(target), '5']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`target_mb ${target} is too large`);
    expect(host.processes()).toEqual([]);
  }, T);
});

describe('chaos-scripts: disk_fill on a tmpfs of our own', () => {
  let mnt: string;
  beforeAll(async () => {
    requireRoot('it mounts a 128 MB tmpfs to fill');
    mnt = mkdtempSync(path.join(os.tmpdir(), 'chaos-fill-mnt-'));
    const mount = await runCommand('mount', ['-t', 'tmpfs', '-o', 'size=128m', 'tmpfs', mnt]);
    if (mount.code !== 0) throw new Error(`mount tmpfs failed: ${mount.stderr}`);
  });
  afterAll(async () => {
    await runCommand('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  const usedMb = () => {
    const s = statfsSync(mnt);
    return ((s.blocks - s.bfree) * s.bsize) / 1048576;
  };

  it('when disk_fill starts, then real files take the space; when stopped, then exactly those files and the directory it created are gone', async () => {
    const target = path.join(mnt, 'fill');
    writeFileSync(path.join(mnt, 'keep.txt'), 'not ours');
    const start = await host.run('disk_fill', ['start', '40', target]);
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    expect(parseStatus(start.stdout).detail).toContain(`40/40 MB written under ${target}`);
    expect(readdirSync(target).filter((f) => f.endsWith('.bin'))).toEqual(['chaos_fill_0001.bin']);
    expect(usedMb()).toBeGreaterThanOrEqual(40);

    expect((await host.run('disk_fill', ['stop'])).code).toBe(0);
    expect(existsSync(target)).toBe(false);
    expect(readFileSync(path.join(mnt, 'keep.txt'), 'utf8')).toBe('not ours');
    expect(usedMb()).toBeLessThan(1);
    expect(host.runFiles('disk_fill')).toEqual([]);
  }, T);

  it('when the lease of a disk_fill expires, then the watchdog removes the files by itself', async () => {
    expect((await host.run('disk_fill', ['start', '--lease', '3', '20', mnt])).code).toBe(0);
    expect(usedMb()).toBeGreaterThanOrEqual(20);
    const after = await waitFor(gone('disk_fill'), nothingLeft, 9_000);
    expect(after).toEqual({ procs: [], files: [] });
    expect(readdirSync(mnt).filter((f) => f.startsWith('chaos_fill_') || f === '.chaos_fill_owner')).toEqual([]);
    expect(existsSync(mnt)).toBe(true); // it existed before: not ours to remove
  }, T);

  it('when the watchdog itself is killed, then the holder process removes the files at max-runtime (second failsafe)', async () => {
    expect((await host.run('disk_fill', ['start', '--max-runtime', '2', '10', mnt])).code).toBe(0);
    process.kill(Number(host.stateValue('disk_fill', 'watchdog_pid')), 'SIGKILL');
    expect(usedMb()).toBeGreaterThanOrEqual(10);
    const after = await waitFor(gone('disk_fill'), nothingLeft, 9_000);
    expect(after).toEqual({ procs: [], files: [] });
    expect(usedMb()).toBeLessThan(1);
    expect((await host.status('disk_fill')).detail).toContain('holder: max-runtime 2s reached');
  }, T);

  it('when the fill would leave less than 64 MB free, then start refuses with exit 2 naming size_mb', async () => {
    const result = await host.run('disk_fill', ['start', '100', path.join(mnt, 'fill')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('size_mb 100 is too large');
    expect(result.stderr).toContain('at least 64 MB must stay free');
    expect(existsSync(path.join(mnt, 'fill'))).toBe(false);
  }, T);
});

describe('chaos-scripts: net_latency in a network namespace of our own', () => {
  const ns = `chaos-scripts-test-${process.pid}`;
  const inNs = ['ip', 'netns', 'exec', ns];
  beforeAll(async () => {
    requireRoot('it creates a network namespace and a veth pair');
    requireBinary('ip', 'iproute2');
    requireBinary('tc', 'iproute2');
    for (const args of [['netns', 'add', ns], ['-n', ns, 'link', 'add', 'cst0', 'type', 'veth', 'peer', 'name', 'cst1'], ['-n', ns, 'link', 'set', 'cst0', 'up']]) {
      const r = await runCommand('ip', args);
      if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr}`);
    }
  });
  afterAll(async () => {
    await runCommand('ip', ['netns', 'del', ns]);
  });
  const rootQdisc = async () => (await runCommand('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'show', 'dev', 'cst0', 'root'])).stdout.trim();

  it('when asked for a bad delay, loss, lo or a missing interface inside the namespace, then it exits 2 naming the argument', async () => {
    const cases: [string[], string][] = [
      [['cst0', '0', '1'], 'delay_ms'],
      [['cst0', '100', '101'], 'loss_pct'],
      [['lo', '100', '1'], "iface 'lo'"],
      [['eth0', '100', '1'], "iface 'eth0'"], // exists outside, not in this namespace
    ];
    for (const [args, named] of cases) {
      const r = await host.run('net_latency', ['start', ...args], {}, inNs);
      expect({ args, code: r.code, named: r.stderr.includes(named) }).toEqual({ args, code: 2, named: true });
    }
  }, T);

  it('when started on a veth, then it installs netem with an SSH bypass and stop removes it, or on a kernel without netem (like this one) exits 4 naming sch_netem and changes nothing', async () => {
    const before = await rootQdisc();
    const probe = await runCommand('unshare', ['--net', 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
    const start = await host.run('net_latency', ['start', 'cst0', '100', '1'], {}, inNs);
    if (probe.stderr.includes('qdisc kind is unknown')) {
      expect(start.code).toBe(4);
      expect(start.stderr).toContain('net_latency: the kernel has no netem qdisc (sch_netem); cannot inject latency on this host');
      expect(await rootQdisc()).toBe(before);
      expect(host.runFiles('net_latency')).toEqual([]);
      expect(host.processes()).toEqual([]);
      return;
    }
    expect(start.code).toBe(0);
    expect(await rootQdisc()).toContain('qdisc prio cafe:');
    const filters = (await runCommand('ip', ['netns', 'exec', ns, 'tc', 'filter', 'show', 'dev', 'cst0'])).stdout;
    expect(filters).toContain('flowid cafe:1');
    expect((await host.run('net_latency', ['stop'], {}, inNs)).code).toBe(0);
    expect(await rootQdisc()).toBe(before);
  }, T);
});

describe('chaos-scripts: service_kill with a pid-file service (no systemd here)', () => {
  let servicesDir: string;
  let pidDir: string;
  const env = () => ({ CHAOS_SERVICES_DIR: servicesDir, CHAOS_SERVICES_PID_DIR: pidDir });
  const servicePid = () => Number(readFileSync(path.join(pidDir, 'shop-api.pid'), 'utf8').trim());
  const service = (action: string) => runCommand(path.join(servicesDir, 'shop-api.sh'), [action]);

  beforeAll(async () => {
    if (existsSync('/run/systemd/system')) throw new Error('this test exercises the pid-file fallback and expects a host without systemd running');
    servicesDir = mkdtempSync(path.join(os.tmpdir(), 'chaos-svc-'));
    pidDir = mkdtempSync(path.join(os.tmpdir(), 'chaos-svc-pid-'));
    // A real daemon (sleep) in the contract's shape: {start|stop|status}, pid in <pid dir>/NAME.pid.
    const script = path.join(servicesDir, 'shop-api.sh');
    writeFileSync(
      script,
      `#!/usr/bin/env bash
set -euo pipefail
pidfile=${pidDir}/shop-api.pid
running() {
  local pid state
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}
case \${1:-} in
  start) running && exit 0; setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $! >"$pidfile" ;;
  stop) if running; then kill "$(cat "$pidfile")"; fi; rm -f "$pidfile" ;;
  status) running ;;
  *) echo "usage: $0 {start|stop|status}" >&2; exit 2 ;;
esac
`,
    );
    chmodSync(script, 0o755);
  });
  beforeEach(async () => {
    expect((await service('start')).code).toBe(0);
  });
  afterEach(async () => {
    // Revert first (the state remembers the services dir), then stop the daemon for good.
    await host.run('service_kill', ['stop']);
    await service('stop');
  });
  afterAll(() => {
    rmSync(servicesDir, { recursive: true, force: true });
    rmSync(pidDir, { recursive: true, force: true });
  });

  it('when service_kill starts, then the service pid is killed; when stopped, then the service runs again under a new, untagged pid', async () => {
    const original = servicePid();
    const start = await host.run('service_kill', ['start', 'shop-api'], env());
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    expect(parseStatus(start.stdout).detail).toContain(`service shop-api killed (pid ${original} (sleep) SIGTERM)`);
    expect(isAlive(original)).toBe(false);
    expect((await service('status')).code).not.toBe(0);

    expect((await host.run('service_kill', ['stop'], env())).code).toBe(0);
    expect((await service('status')).code).toBe(0);
    const restarted = servicePid();
    expect(restarted).not.toBe(original);
    expect(isAlive(restarted)).toBe(true);
    // Restarted outside our tags: no later sweep (cleanup_all) may mistake it for chaos.
    const tags = ['CHAOS_OWNER', 'CHAOS_SCENARIO_TAG', 'CHAOS_RUN_TAG', 'CHAOS_WATCHDOG_TAG', 'CHAOS_RUN_DIR'];
    expect(environOf(restarted).filter((e) => tags.includes(e.split('=')[0]!))).toEqual([]);
    expect(host.processes()).toEqual([]);
  }, T);

  it('when the lease of a service_kill expires, then the watchdog starts the service again by itself', async () => {
    const original = servicePid();
    expect((await host.run('service_kill', ['start', '--lease', '3', 'shop-api'], env())).code).toBe(0);
    expect(isAlive(original)).toBe(false);
    const status = await waitFor(() => service('status'), (r) => r.code === 0, 9_000);
    expect(status.code).toBe(0);
    expect(await waitFor(gone('service_kill'), nothingLeft, 3_000)).toEqual({ procs: [], files: [] });
    expect(isAlive(servicePid())).toBe(true);
  }, T);
});

describe('chaos-scripts: db_conn_exhaust against a real PostgreSQL', () => {
  let pgRoot: string;
  let conn: string;
  const pgctl = () => path.join(PG_BIN, 'pg_ctl');
  const asPostgres = (cmd: string, args: string[]) => runCommand('runuser', ['-u', 'postgres', '--', cmd, ...args]);
  const sql = (query: string) => runCommand('psql', [`--dbname=${conn}`, '-X', '-A', '-t', '-c', query]);
  const heldConnections = async () => {
    const r = await sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'report-batch'");
    return r.code === 0 ? Number(r.stdout.trim()) : -1;
  };

  beforeAll(async () => {
    requireRoot('it runs initdb and the server as the postgres user');
    requireBinary('initdb', 'postgresql-15', [PG_BIN]);
    requireBinary('psql', 'postgresql-client');
    requireBinary('runuser', 'util-linux');
    pgRoot = mkdtempSync(path.join(os.tmpdir(), 'chaos-pg-'));
    mkdirSync(path.join(pgRoot, 'sock'));
    const chown = await runCommand('chown', ['-R', 'postgres:postgres', pgRoot]);
    if (chown.code !== 0) throw new Error(`chown failed (is there a postgres user? apt-get install postgresql-15): ${chown.stderr}`);
    const init = await asPostgres(path.join(PG_BIN, 'initdb'), ['-D', path.join(pgRoot, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    if (init.code !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    // Unix socket in our temp dir only: no TCP listener at all.
    const opts = `-c listen_addresses='' -k ${path.join(pgRoot, 'sock')} -p 5432 -c max_connections=20 -c fsync=off`;
    const start = await asPostgres(pgctl(), ['-D', path.join(pgRoot, 'data'), '-l', path.join(pgRoot, 'server.log'), '-w', '-o', opts, 'start']);
    if (start.code !== 0) throw new Error(`pg_ctl start failed: ${start.stderr} ${start.stdout}`);
    conn = `host=${path.join(pgRoot, 'sock')} port=5432 user=postgres dbname=postgres`;
  }, T);
  afterAll(async () => {
    if (pgRoot === undefined) return;
    await asPostgres(pgctl(), ['-D', path.join(pgRoot, 'data'), '-m', 'immediate', 'stop']);
    rmSync(pgRoot, { recursive: true, force: true });
  }, T);

  it('when db_conn_exhaust holds 6 clients, then pg_stat_activity shows 6 report-batch connections, and stop releases them', async () => {
    const start = await host.run('db_conn_exhaust', ['start', conn, '6']);
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    expect(parseStatus(start.stdout).detail).toContain('6/6 clients connected as application_name=report-batch');
    expect(await heldConnections()).toBe(6);
    expect(host.processes().filter((p) => p.comm === 'psql')).toHaveLength(6);

    expect((await host.run('db_conn_exhaust', ['stop'])).code).toBe(0);
    expect(host.processes()).toEqual([]);
    expect(await waitFor(heldConnections, (n) => n === 0, 5_000)).toBe(0);
  }, T);

  it('when more clients than max_connections are asked, then the server refuses everyone else until stop', async () => {
    const start = await host.run('db_conn_exhaust', ['start', conn, '25']);
    expect(start.code).toBe(0);
    expect(parseStatus(start.stdout).detail).toContain('20/25 clients connected');
    const refused = await sql('SELECT 1');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('too many clients already');

    expect((await host.run('db_conn_exhaust', ['stop'])).code).toBe(0);
    expect(await waitFor(heldConnections, (n) => n === 0, 5_000)).toBe(0);
  }, T);

  it('when the server cannot be reached, then start exits 1 with psql\'s reason and leaves nothing behind', async () => {
    const result = await host.run('db_conn_exhaust', ['start', `host=${path.join(pgRoot, 'nosock')} user=postgres`, '2']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot connect to PostgreSQL');
    expect(host.processes()).toEqual([]);
    expect(host.runFiles('db_conn_exhaust')).toEqual([]);
  }, T);
});

describe('chaos-scripts: cleanup_all', () => {
  it('when several faults are active, then cleanup_all reverts all of them, prints one JSON summary, and a second run finds nothing', async () => {
    requireBinary('stress-ng', 'stress-ng');
    const fillDir = path.join(host.dir, 'fill');
    expect((await host.run('cpu_spike', ['start', '30', '1'])).code).toBe(0);
    expect((await host.run('memory_leak', ['start', '32', '30'])).code).toBe(0);
    expect((await host.run('disk_fill', ['start', '4', fillDir])).code).toBe(0);
    expect(existsSync(fillDir)).toBe(true);

    const first = await host.run('cleanup_all', []);
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n')).toHaveLength(1);
    const summary = CleanupSummary.parse(JSON.parse(first.stdout));
    expect(summary).toMatchObject({ ok: true, failed: [], orphans_killed: 0 });
    expect([...summary.stopped].sort()).toEqual(['cpu_spike', 'disk_fill', 'memory_leak']);
    expect(host.processes()).toEqual([]);
    expect(existsSync(fillDir)).toBe(false);

    const second = CleanupSummary.parse(JSON.parse((await host.run('cleanup_all', [])).stdout));
    expect(second).toMatchObject({ ok: true, stopped: [], failed: [] });
  }, T);
});
