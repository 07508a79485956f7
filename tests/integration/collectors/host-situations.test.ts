import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { HostInventory } from '../../../src/evidence/inventory.js';
import { HostSnapshot, MetricSample, ProbeResult } from '../../../src/evidence/schema.js';
import { REPO_ROOT } from '../../fixtures/paths.js';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const PYTHON = '/usr/bin/python3';
const T = 120_000;

type Run = { code: number; stdout: string; stderr: string };

/** Runs a program without a shell and resolves with its exit code whatever it is. */
async function runAny(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await run(file, args, { env: opts.env ?? process.env, timeout: opts.timeout ?? 60_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const connects = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

const openFds = (pid: number) => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
};

/**
 * Situations a real host is in, built on this machine (root), and what the collectors say about
 * them: a process renamed with `exec -a`, a full tmpfs, a tmpfs out of inodes, a loopback
 * listener, a process at its open-files limit, a PostgreSQL cluster with its slots nearly used up
 * by idle clients, a memory cgroup that OOM-killed a process, a service that is down with a
 * config error in its log.
 */
describe('the host-side collectors on a host in trouble', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  const mounts: string[] = [];
  let pgData: string | undefined;
  let cgroupDir: string | undefined;
  const tool = (name: string) => path.join(dir, 'collect', name);

  let indexer: ChildProcess;
  let indexerLog: string;
  let httpServer: ChildProcess;
  let httpPort: number;
  let fdHolder: ChildProcess;
  let fullMount: string;
  let inodeMount: string;
  let pgPort: number;
  let postmasterPid: number;
  const psqls: ChildProcess[] = [];
  let inventory: HostInventory;
  let samples: MetricSample[];
  let probes: ProbeResult[];
  let snapshot: HostSnapshot;
  let downPort: number;

  /** A process in its own process group (so that cleanup takes its children too). */
  const start = (file: string, args: string[], env: NodeJS.ProcessEnv = process.env, keepStdin = false) => {
    const child = spawn(file, args, { detached: true, env, stdio: [keepStdin ? 'pipe' : 'ignore', 'ignore', 'ignore'] });
    children.push(child);
    return child;
  };

  const parseSampler = (stdout: string) => {
    const lines = stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
    return {
      samples: lines.filter((l) => l.type === 'sample').map((l) => MetricSample.parse({ ...l.data, phase: 'incident' })),
      probes: lines.filter((l) => l.type === 'probe').map((l) => ProbeResult.parse({ ...l.data, phase: 'incident' })),
    };
  };

  const mountTmpfs = async (name: string, options: string) => {
    const target = path.join(dir, name);
    await mkdir(target);
    await run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target]);
    mounts.push(target);
    return target;
  };

  const startPostgres = async () => {
    const root = path.join(dir, 'pg');
    await mkdir(root);
    pgData = path.join(root, 'data');
    await chown(root, ...(await pgIds()));
    const asPg = (file: string, args: string[]) => runAny('runuser', ['-u', 'postgres', '--', file, ...args]);
    const init = await asPg(path.join(PG_BIN, 'initdb'), ['-D', pgData, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    if (init.code !== 0) throw new Error(`initdb failed (apt-get install postgresql-15): ${init.stderr}`);
    // max_connections comes through an include_dir, the port from the command line: discovery
    // must follow the configuration chain the way the server does.
    await mkdir(path.join(pgData, 'conf.d'));
    await writeFile(path.join(pgData, 'conf.d', '10-limits.conf'), 'max_connections = 20  # the slots the clients use up\n');
    await writeFile(path.join(pgData, 'postgresql.conf'), `${readFileSync(path.join(pgData, 'postgresql.conf'), 'utf8')}\ninclude_dir = 'conf.d'\n`);
    // Over TCP a password is needed (the sampler must take it from a password file, never argv).
    await writeFile(path.join(pgData, 'pg_hba.conf'), `host all all 127.0.0.1/32 scram-sha-256\n${readFileSync(path.join(pgData, 'pg_hba.conf'), 'utf8')}`);
    await run('chown', ['-R', 'postgres:postgres', root]);
    pgPort = await freePort();
    const opts = `-p ${pgPort} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`;
    const started = await asPg(path.join(PG_BIN, 'pg_ctl'), ['-D', pgData, '-l', path.join(root, 'server.log'), '-w', '-o', opts, 'start']);
    if (started.code !== 0) throw new Error(`pg_ctl start failed: ${started.stderr} ${started.stdout}`);
    postmasterPid = Number(readFileSync(path.join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const setPw = await asPg(path.join(PG_BIN, 'psql'), ['-h', root, '-p', String(pgPort), '-U', 'postgres', '-qXc', "ALTER ROLE postgres PASSWORD 'pg-s3cret'"]);
    if (setPw.code !== 0) throw new Error(`setting the password failed: ${setPw.stderr}`);
    // 18 idle clients of 20 slots, over TCP, with their stdin held open so that they stay.
    const env = { ...process.env, PGAPPNAME: 'report-builder', PGPASSWORD: 'pg-s3cret' };
    for (let i = 0; i < 18; i += 1) psqls.push(start(path.join(PG_BIN, 'psql'), ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-qX'], env, true));
    const count = async () => {
      const r = await runAny(path.join(PG_BIN, 'psql'), ['-h', root, '-p', String(pgPort), '-U', 'postgres', '-XAtc', "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'report-builder'"]);
      return r.code === 0 && Number(r.stdout.trim()) === 18;
    };
    await waitFor('18 report-builder connections', count, 20_000);
  };

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('these tests must run as root: they mount tmpfs and run PostgreSQL as the postgres user');
    dir = await mkdtemp(path.join(os.tmpdir(), 'chaos-situations-'));
    await chmod(dir, 0o755);
    await cp(path.join(REPO_ROOT, 'chaos-scripts', 'collect'), path.join(dir, 'collect'), { recursive: true });

    // A batch job renamed with exec -a, burning CPU and appending to its own log.
    await mkdir(path.join(dir, 'shop', 'log'), { recursive: true });
    indexerLog = path.join(dir, 'shop', 'log', 'indexer.log');
    indexer = start('bash', ['-c', 'exec -a shop-indexer perl -e \'open(my $f, ">>", $ARGV[0]) or die; 1 while 1\' "$1"', 'bash', indexerLog]);
    const indexerStarted = Date.now();

    httpPort = await freePort();
    httpServer = start(PYTHON, ['-m', 'http.server', String(httpPort), '--bind', '127.0.0.1', '--directory', dir]);

    fdHolder = start('bash', ['-c', `ulimit -n 64; exec ${PYTHON} -c 'import time; fs = [open("/dev/null") for _ in range(60)]; time.sleep(600)'`]);

    fullMount = await mountTmpfs('cache', 'size=16m');
    // dd stops at ENOSPC: the filesystem is full, which is the point.
    await runAny('dd', ['if=/dev/zero', `of=${path.join(fullMount, 'blob.bin')}`, 'bs=1M', 'count=32']);
    inodeMount = await mountTmpfs('spool', 'size=16m,nr_inodes=64');
    await mkdir(path.join(inodeMount, 'queue'));
    for (let i = 0; i < 70; i += 1) await writeFile(path.join(inodeMount, 'queue', `msg-${i}`), '').catch(() => undefined);

    await startPostgres();
    downPort = await freePort();
    await writeFile(
      path.join(dir, 'shop', 'log', 'web-error.log'),
      [
        '2026/11/30 10:00:00 [notice] 812#812: signal process started',
        '2026/11/30 10:05:00 [emerg] 901#901: unknown directive "lisen" in /etc/nginx/sites-enabled/shop:3',
        'nginx: configuration file /etc/nginx/nginx.conf test failed',
      ].join('\n') + '\n',
    );

    await waitFor('the http server to listen', () => connects(httpPort));
    await waitFor('the fd holder to open its files', () => openFds(fdHolder.pid!) >= 60);
    await waitFor('the indexer to open its log', () => existsSync(indexerLog));

    const sampler = await runAny(PYTHON, [tool('sampler.py'), '--interval', '1', '--max-seconds', '2.5', '--no-stdin-watch', '--probe', `tcp=127.0.0.1:${httpPort}`, '--probe', `tcp=127.0.0.1:${downPort}`, '--probe', `http=http://127.0.0.1:${httpPort}/`]);
    if (sampler.code !== 0) throw new Error(`sampler failed: ${sampler.stderr}`);
    ({ samples, probes } = parseSampler(sampler.stdout));
    // Discovery counts a process that only writes a log as a service once it has run 3 s.
    await new Promise((r) => setTimeout(r, Math.max(0, indexerStarted + 3500 - Date.now())));
    const discovered = await runAny(PYTHON, [tool('discover.py')]);
    if (discovered.code !== 0) throw new Error(`discover failed: ${discovered.stderr}`);
    inventory = HostInventory.parse(JSON.parse(discovered.stdout));
    const snap = await runAny(PYTHON, [
      tool('snapshot.py'),
      '--time-budget',
      '5',
      '--expect',
      `shop-web=${downPort}:${path.join(dir, 'shop', 'log', 'web-error.log')}`,
      '--expect',
      `http.server=${httpPort}`,
      '--expect',
      'shop-indexer=:' + indexerLog,
    ]);
    if (snap.code !== 0) throw new Error(`snapshot failed: ${snap.stderr}`);
    snapshot = HostSnapshot.parse(JSON.parse(snap.stdout));
  }, T);

  afterAll(async () => {
    for (const child of children) {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (pgData) await runAny('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, 'pg_ctl'), '-D', pgData, '-m', 'immediate', 'stop']);
    for (const m of mounts) await runAny('umount', ['-l', m]);
    if (cgroupDir) await waitFor('the test cgroup to empty', async () => (await rmdir(cgroupDir!).then(() => true, () => false)), 10_000).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }, T);

  it('when a process was started with exec -a, then discovery and the sampler show that name with its executable', () => {
    const top = samples.at(-1)!.top.find((p) => p.pid === indexer.pid);
    expect(top).toMatchObject({ argv0: 'shop-indexer', exe: '/usr/bin/perl', user: 'root' });
    expect(top!.cpu_pct).toBeGreaterThan(30);
    const svc = inventory.services.find((s) => s.pids.includes(indexer.pid!));
    expect(svc).toMatchObject({ name: 'shop-indexer', manager: 'process', active: true, argv0: 'shop-indexer', exe: '/usr/bin/perl' });
    expect(svc!.log_files).toContain(indexerLog);
    expect(inventory.log_files).toContainEqual(expect.objectContaining({ path: indexerLog, service: 'shop-indexer' }));
  });

  it('when a tmpfs is full, then the sampler reports it at 100 % and the snapshot lists its largest file', () => {
    const disk = samples.at(-1)!.disks.find((d) => d.mount === fullMount);
    expect(disk).toMatchObject({ fstype: 'tmpfs', size_mb: 16 });
    expect(disk!.used_pct).toBeGreaterThanOrEqual(99);
    expect(inventory.mounts.find((m) => m.mount === fullMount)?.used_pct).toBeGreaterThanOrEqual(99);
    const files = snapshot.largest_files.find((l) => l.mount === fullMount)?.files ?? [];
    expect(files[0]?.path).toBe(path.join(fullMount, 'blob.bin'));
    expect(files[0]!.size_mb).toBeGreaterThan(15);
  });

  it('when a tmpfs has no inodes left, then its inodes are at 100 % and the snapshot names the crowded directory', () => {
    const disk = samples.at(-1)!.disks.find((d) => d.mount === inodeMount);
    expect(disk).toMatchObject({ fstype: 'tmpfs', inodes_total: 64, inodes_used_pct: 100 });
    expect(disk!.used_pct).toBeLessThan(5);
    expect(inventory.mounts.find((m) => m.mount === inodeMount)).toMatchObject({ inodes_total: 64, inodes_used_pct: 100 });
    const files = snapshot.largest_files.find((l) => l.mount === inodeMount)?.files ?? [];
    // 64 inodes: the root, queue/ and the files in it (how many exactly depends on the kernel's own accounting).
    expect(files[0]).toEqual({ path: expect.stringMatching(new RegExp(`^${path.join(inodeMount, 'queue')} \\((6\\d) files\\)$`)), size_mb: 0 });
  });

  it('when a server listens on loopback, then discovery names its process and service, and the snapshot lists it', () => {
    const listener = inventory.listeners.find((l) => l.proto === 'tcp' && l.port === httpPort);
    expect(listener).toMatchObject({ address: '127.0.0.1', pid: httpServer.pid, comm: expect.stringMatching(/^python3/), argv0: PYTHON, service: 'http.server' });
    const svc = inventory.services.find((s) => s.name === 'http.server');
    expect(svc).toMatchObject({ manager: 'process', active: true, pids: [httpServer.pid], ports: [httpPort] });
    expect(snapshot.listeners).toContainEqual(expect.stringMatching(new RegExp(`^tcp 127\\.0\\.0\\.1:${httpPort} python3[^(]*\\(${httpServer.pid}\\)$`)));
  });

  it('when probes run, then each has its kind and name: a listening port and page pass, a closed port is refused', () => {
    const byTarget = (t: string) => probes.filter((p) => p.target === t);
    expect(byTarget(`tcp 127.0.0.1:${httpPort}`).every((p) => p.kind === 'tcp' && p.ok && p.latency_ms !== null)).toBe(true);
    expect(byTarget(`http://127.0.0.1:${httpPort}/`).every((p) => p.kind === 'http' && p.ok && p.status === 200)).toBe(true);
    const closed = byTarget(`tcp 127.0.0.1:${downPort}`);
    expect(closed.length).toBeGreaterThanOrEqual(2);
    expect(closed.every((p) => p.kind === 'tcp' && !p.ok && p.latency_ms === null && /connection refused/i.test(p.error ?? ''))).toBe(true);
  });

  it('when a process holds 60 files under ulimit -n 64, then the snapshot puts it under fd pressure', () => {
    const pressed = snapshot.fd_pressure.find((p) => p.pid === fdHolder.pid);
    expect(pressed).toMatchObject({ limit: 64, argv0: PYTHON });
    expect(pressed!.open_fds).toBeGreaterThanOrEqual(60);
  });

  it('when an expected service is down with a config error in its log, then the snapshot says so and cites the error lines', () => {
    expect(snapshot.services.find((s) => s.name === 'shop-web')).toMatchObject({ active: false, manager: 'process', detail: expect.stringContaining(`not listening on ${downPort}`) });
    expect(snapshot.services.find((s) => s.name === 'http.server')).toMatchObject({ active: true, pid: httpServer.pid });
    expect(snapshot.services.find((s) => s.name === 'shop-indexer')).toMatchObject({ active: true, pid: indexer.pid });
    const errors = snapshot.service_errors.filter((e) => e.service === 'shop-web');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.lines).toEqual([
      '2026/11/30 10:05:00 [emerg] 901#901: unknown directive "lisen" in /etc/nginx/sites-enabled/shop:3',
      'nginx: configuration file /etc/nginx/nginx.conf test failed',
    ]);
    expect(snapshot.service_errors.some((e) => e.service !== 'shop-web')).toBe(false); // services that run have nothing to cite
  });

  it('when a PostgreSQL cluster runs, then discovery finds its port, data directory, version, max_connections and log', () => {
    const pg = inventory.postgres.find((p) => p.pid === postmasterPid);
    expect(pg).toEqual({ port: pgPort, pid: postmasterPid, data_dir: pgData, version: '15', max_connections: 20, log_files: [path.join(dir, 'pg', 'server.log')] });
    const svc = inventory.services.find((s) => s.pids[0] === postmasterPid);
    expect(svc).toMatchObject({ name: expect.stringMatching(/^postgresql/), ports: [pgPort], user: 'postgres' });
    expect(svc!.pids.length).toBeGreaterThanOrEqual(18 + 4); // the backends belong to it
    expect(svc!.log_files).toContain(path.join(dir, 'pg', 'server.log'));
  });

  it('when 18 of 20 connection slots are held and no database is probed, then the sampler counts them against max_connections by client', () => {
    const db = samples.at(-1)!.db;
    expect(db?.max_connections).toBe(20);
    expect(db!.connections).toBeGreaterThanOrEqual(18);
    expect(db!.by_application).toContainEqual({ application: 'psql', state: 'idle', count: 18 });
  });

  it('when the db probe has no password on argv, then it reads it from a 0600 password file, and ignores a file others can read', async () => {
    const passfile = path.join(dir, 'pgpass');
    await writeFile(passfile, `# host:port:database:username:password\n127.0.0.1:${pgPort}:*:postgres:pg-s3cret\n`, { mode: 0o600 });
    const env = { ...process.env, PGPASSFILE: passfile, PGPASSWORD: '' };
    const args = [tool('sampler.py'), '--interval', '0.5', '--max-seconds', '1.6', '--no-stdin-watch', '--probe', `db=postgresql://postgres@127.0.0.1:${pgPort}/postgres`];
    const good = await runAny(PYTHON, args, { env });
    const ok = parseSampler(good.stdout);
    expect(ok.probes.length).toBeGreaterThanOrEqual(2);
    expect(ok.probes.every((p) => p.kind === 'db' && p.target === `db postgres@127.0.0.1:${pgPort}/postgres` && p.ok)).toBe(true);
    // Through SQL the application names are the clients' own.
    expect(ok.samples.at(-1)!.db?.by_application).toContainEqual(expect.objectContaining({ application: 'report-builder', count: 18 }));
    expect(good.stdout).not.toContain('pg-s3cret');

    await chmod(passfile, 0o644);
    const loose = await runAny(PYTHON, args, { env });
    expect(loose.stderr).toContain('has group or world access');
    const refused = parseSampler(loose.stdout).probes;
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused.every((p) => !p.ok && /no password supplied/.test(p.error ?? ''))).toBe(true);
  }, T);

  it('when two more clients take the last slots over the Unix socket, then the sampler still counts every connection and names those clients', async () => {
    // exec -a: the clients' own name, as ps shows it, is what a person recognises.
    const extra = [0, 1].map(() =>
      start('bash', ['-c', `exec -a nightly-export ${path.join(PG_BIN, 'psql')} -h ${path.join(dir, 'pg')} -p ${pgPort} -U postgres -qX`], { ...process.env, PGAPPNAME: 'nightly-export' }, true),
    );
    try {
      await waitFor('20 of 20 slots taken', async () => {
        const r = await runAny('ps', ['-o', 'args=', '--ppid', String(postmasterPid)]);
        return r.stdout.split('\n').filter((l) => / idle$/.test(l)).length === 20;
      }, 20_000);
      const passfile = path.join(dir, 'pgpass-full');
      await writeFile(passfile, `127.0.0.1:${pgPort}:*:postgres:pg-s3cret\n`, { mode: 0o600 });
      const r = await runAny(PYTHON, [tool('sampler.py'), '--interval', '0.5', '--max-seconds', '1.6', '--no-stdin-watch', '--probe', `db=postgresql://postgres@127.0.0.1:${pgPort}/postgres`], { env: { ...process.env, PGPASSFILE: passfile } });
      const { samples: full, probes: refused } = parseSampler(r.stdout);
      expect(refused.length).toBeGreaterThanOrEqual(2);
      expect(refused.every((p) => !p.ok && /too many clients/.test(p.error ?? ''))).toBe(true);
      const db = full.at(-1)!.db!;
      expect(db.max_connections).toBe(20);
      expect(db.connections / db.max_connections).toBeGreaterThanOrEqual(0.95);
      expect(db.by_application).toEqual(expect.arrayContaining([{ application: 'psql', state: 'idle', count: 18 }, { application: 'nightly-export', state: 'idle', count: 2 }]));
    } finally {
      for (const child of extra) if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }
  }, T);

  it('when a DSN carries a password, then the sampler refuses it without repeating it', async () => {
    for (const dsn of [`postgresql://postgres:pg-s3cret@127.0.0.1:${pgPort}/postgres`, `host=127.0.0.1 port=${pgPort} user=postgres password=pg-s3cret`]) {
      const r = await runAny(PYTHON, [tool('sampler.py'), '--max-seconds', '1', '--probe', `db=${dsn}`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/password.*~\/\.pgpass/);
      expect(r.stderr + r.stdout).not.toContain('pg-s3cret');
    }
  }, T);

  it('when logs.py is given a service log file, then it reads the window from it, and refuses what is not a log', async () => {
    const log = path.join(dir, 'shop', 'log', 'app.log');
    const now = new Date().toISOString();
    const old = new Date(Date.now() - 3600_000).toISOString();
    await writeFile(log, [`${old} INFO before the window`, `${now} ERROR payment gateway timeout`, 'Traceback (most recent call last):', `${now} GET /opt/chaos-scripts/collect/sampler.py`].join('\n') + '\n');
    await symlink('/etc/passwd', path.join(dir, 'shop', 'log', 'passwd.log'));
    const since = new Date(Date.now() - 60_000).toISOString();
    const r = await runAny(PYTHON, [tool('logs.py'), '--since', since, '--file', `shop.app=${log}`, '--file', `sneaky=${path.join(dir, 'shop', 'log', 'passwd.log')}`]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { stream: string; line: string });
    expect(lines.filter((l) => l.stream === 'shop.app').map((l) => l.line)).toEqual([`${now} ERROR payment gateway timeout`, 'Traceback (most recent call last):']);
    expect(lines.some((l) => l.stream === 'sneaky')).toBe(false);
    expect(r.stderr).toContain('resolves to /etc/passwd');
    for (const bad of ['x=/etc/shadow', 'Upper=/var/log/syslog', `x=${dir}/shop/log/../../pgpass`, 'x=relative/app.log']) {
      expect((await runAny(PYTHON, [tool('logs.py'), '--since', since, '--file', bad])).code).toBe(2);
    }
  }, T);

  it('when the sampler runs in a memory cgroup that OOM-killed a process, then memory is judged against that limit with the kill counted', async () => {
    cgroupDir = await memoryCgroup(64);
    const inCgroup = (cmd: string) => runAny('sh', ['-c', `echo $$ > ${cgroupDir}/cgroup.procs && exec ${cmd}`], { timeout: 60_000 });
    // Touching 256 MiB in a 64 MiB cgroup without swap: the kernel's OOM killer ends it.
    const hog = await inCgroup(`${PYTHON} -c "b = b'x' * (256 << 20)"`);
    expect(hog.code).not.toBe(0);
    const r = await inCgroup(`${PYTHON} ${tool('sampler.py')} --interval 0.5 --max-seconds 1.2 --no-stdin-watch`);
    const mem = parseSampler(r.stdout).samples.at(-1)!.mem;
    expect(mem).toMatchObject({ scope: 'cgroup', total_mb: 64 });
    expect(mem.oom_kills).toBeGreaterThanOrEqual(1);
  }, T);
});

/** postgres's uid and gid. */
async function pgIds(): Promise<[number, number]> {
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return [Number(stdout.trim()), Number(gid.trim())];
}

/**
 * A memory cgroup of the test's own with a limit and no swap: under the cgroup v1 memory
 * controller when the host mounts it, else under cgroup v2 (enabling the memory controller for
 * the root's children when it is not yet).
 */
async function memoryCgroup(limitMb: number): Promise<string> {
  const limit = String(limitMb * 1024 * 1024);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => {
      const [left, right] = line.split(' - ');
      return { mountPoint: left?.split(' ')[4] ?? '', fstype: right?.split(' ')[0] ?? '', options: right?.split(' ')[2]?.split(',') ?? [] };
    });
  const v1 = mounts.find((m) => m.fstype === 'cgroup' && m.options.includes('memory'));
  const name = `chaos-collectors-test-${process.pid}`;
  if (v1) {
    const dir = path.join(v1.mountPoint, name);
    await mkdir(dir);
    await writeFile(path.join(dir, 'memory.limit_in_bytes'), limit);
    if (existsSync(path.join(dir, 'memory.memsw.limit_in_bytes'))) await writeFile(path.join(dir, 'memory.memsw.limit_in_bytes'), limit);
    return dir;
  }
  const v2 = mounts.find((m) => m.fstype === 'cgroup2' && readFileSync(path.join(m.mountPoint, 'cgroup.controllers'), 'utf8').includes('memory'));
  if (!v2) throw new Error('no memory cgroup controller on this host (neither cgroup v1 memory nor cgroup v2 with memory)');
  if (!readFileSync(path.join(v2.mountPoint, 'cgroup.subtree_control'), 'utf8').includes('memory')) {
    await writeFile(path.join(v2.mountPoint, 'cgroup.subtree_control'), '+memory');
  }
  const dir = path.join(v2.mountPoint, name);
  await mkdir(dir);
  await writeFile(path.join(dir, 'memory.max'), limit);
  if (existsSync(path.join(dir, 'memory.swap.max'))) await writeFile(path.join(dir, 'memory.swap.max'), '0');
  return dir;
}
