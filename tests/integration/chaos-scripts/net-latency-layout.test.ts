// net_latency.sh's SSH bypass layout, run for real: the real script, the real kernel's qdiscs and
// u32 filters, a real sshd and real TCP traffic across a veth into a network namespace of our own.
//
// The kernel these tests run on has neither netem nor prio, so the script exits 4 at its preflight
// and its layout had never run. Where that is so, `tc` is found first in PATH as tc-shim.sh, which
// passes every call to the real tc unchanged except the two qdiscs this kernel lacks: prio becomes
// an htb with one class per band, netem becomes a slow tbf (see the shim's header). The shim does
// not fake the fault or the filters: the script's own u32 filters decide, in the kernel, which
// packets reach the slow qdisc, and the tests measure that with real transfers. On a kernel that
// has netem and prio the shim is not used and the same tests run the script as is.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestNetns, type TestNetns } from '../../fixtures/netns.js';
import { startSshd, type SshdFixture } from '../../fixtures/sshd/sshd.js';
import { ChaosRunDir, parseStatus, requireBinary, requireRoot, runCommand } from './harness.js';

const T = 60_000;
const NS = 'chnetlat';
/** The namespace's veth end, its address, the SSH client's (in SSH_CONNECTION) and another client's. */
let IF_NS: string;
let NS_ADDR: string;
let SSH_CLIENT: string;
let OTHER_CLIENT: string;
let netns: TestNetns | undefined;
/** A real sshd inside the namespace (port 2222), logging in as root with its own client key. */
let sshd: SshdFixture | undefined;
let SSHD_PORT: number;
/** Bytes each test transfer moves: ~1.6 s through the shim's 1 Mbit/s tbf, milliseconds on a bare veth. */
const BULK = 200_000;
const SHIM = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tc-shim.sh');
const inNs = ['ip', 'netns', 'exec', NS];

/** Sends BULK bytes to whoever connects, on every port given: what a download looks like. */
const BULK_SERVER = `
import socket, sys, threading
size = int(sys.argv[1])
def send(c):
    try:
        c.sendall(b"x" * size)
    finally:
        c.close()
def serve(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=send, args=(c,), daemon=True).start()
for port in sys.argv[3:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[2], int(port)))
    s.listen(16)
    threading.Thread(target=serve, args=(s,), daemon=True).start()
print("listening", flush=True)
threading.Event().wait()
`;

let shimDir: string | null = null;
let work: string;
const children: ChildProcess[] = [];
let host: ChaosRunDir;

/** The script's environment: the shim first in PATH where needed, and an SSH session's variable. */
function scriptEnv(): NodeJS.ProcessEnv {
  return { PATH: shimDir ? `${shimDir}:${process.env.PATH ?? ''}` : process.env.PATH, SSH_CONNECTION: `${SSH_CLIENT} 40022 ${NS_ADDR} 22` };
}

/** The real tc (never the shim), inside the namespace: what the kernel really holds. */
async function realTc(...args: string[]): Promise<string> {
  const r = await runCommand('ip', ['netns', 'exec', NS, 'tc', ...args]);
  if (r.code !== 0) throw new Error(`tc ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Milliseconds to download BULK bytes from NS_ADDR:port, connecting from `from`. */
function download(port: number, from: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let bytes = 0;
    const socket = net.connect({ host: NS_ADDR, port, localAddress: from });
    socket.setTimeout(20_000, () => socket.destroy(new Error(`download from :${port} stalled at ${bytes} bytes`)));
    socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    socket.on('error', reject);
    socket.on('close', () => (bytes === BULK ? resolve(performance.now() - t0) : reject(new Error(`got ${bytes} of ${BULK} bytes from :${port}`))));
  });
}

/** ssh to the namespace's sshd as root from address `from`, the host key checked. */
function sshArgs(from: string): string[] {
  return [
    ...['ssh', '-p', String(SSHD_PORT), '-b', from, '-i', sshd!.clientKey.privatePath],
    ...['-o', `UserKnownHostsFile=${path.join(work, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=error'],
    `root@${NS_ADDR}`,
  ];
}

/** Milliseconds for a real SSH session to the namespace's sshd that downloads BULK bytes. */
async function sshDownload(from: string): Promise<number> {
  const t0 = performance.now();
  const [file, ...args] = sshArgs(from);
  const r = await runCommand(file!, [...args, `head -c ${BULK} /dev/zero`]);
  if (r.code !== 0 || r.stdout.length !== BULK) throw new Error(`ssh download failed (${r.code}, ${r.stdout.length} bytes): ${r.stderr}`);
  return performance.now() - t0;
}

function startChild(args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (ready.test(out)) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${out}`)));
  });
}

async function kernelLacks(kind: string, ...params: string[]): Promise<boolean> {
  const probe = await runCommand('unshare', ['--net', 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', kind, ...params]);
  return probe.stderr.includes('qdisc kind is unknown');
}

beforeAll(async () => {
  requireRoot('it creates a network namespace, a veth pair and an sshd');
  for (const [bin, pkg] of [['ip', 'iproute2'], ['tc', 'iproute2'], ['ss', 'iproute2'], ['unshare', 'util-linux'], ['python3', 'python3'], ['ssh', 'openssh-client'], ['ssh-keygen', 'openssh-client']] as const) requireBinary(bin, pkg);
  requireBinary('sshd', 'openssh-server', ['/usr/sbin']);
  work = mkdtempSync(path.join(os.tmpdir(), 'chaos-netlat-'));
  if ((await kernelLacks('netem', 'delay', '1ms')) || (await kernelLacks('prio'))) {
    shimDir = path.join(work, 'bin');
    mkdirSync(shimDir);
    symlinkSync(SHIM, path.join(shimDir, 'tc'));
  }

  netns = createTestNetns(NS, 2);
  ({ iface: IF_NS, address: NS_ADDR, hostAddress: SSH_CLIENT, otherHostAddress: OTHER_CLIENT } = netns);

  // A plain TCP service on 22 (the port the script always spares) and on 8080 (one it must not).
  await startChild([...inNs, 'python3', '-c', BULK_SERVER, String(BULK), NS_ADDR, '22', '8080'], /listening/);
  // A real sshd on another port: the script must find it with ss and spare it too.
  sshd = await startSshd({ netns: NS, listenAddress: NS_ADDR, user: 'root' });
  SSHD_PORT = sshd.port;
  writeFileSync(path.join(work, 'known_hosts'), `[${NS_ADDR}]:${SSHD_PORT} ${sshd.hostKey.publicLine}\n`);
}, T);

afterAll(async () => {
  // Everything below is ours: the children we spawned and the namespace (its veth pair goes with it).
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await sshd?.stop();
  netns?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  host = new ChaosRunDir();
});
afterEach(async () => {
  await host.run('net_latency', ['stop'], scriptEnv(), inNs);
  await host.dispose();
});

const start = (...args: string[]) => host.run('net_latency', ['start', IF_NS, ...args], scriptEnv(), inNs);

/**
 * As the coordinator runs it: over a real SSH session (to the namespace's sshd, from SSH_CLIENT),
 * `sudo -n net_latency.sh start`. sudo's env_reset (the default) drops the session's
 * SSH_CONNECTION from the script's environment. `env` passes on only what the test needs: the
 * shim's PATH (sudo's secure_path would hide it) and the run directory.
 */
const startOverSsh = (...args: string[]) =>
  host.run('net_latency', ['start', IF_NS, ...args], {}, [
    ...sshArgs(SSH_CLIENT),
    ...['sudo', '-n', 'env', `PATH=${scriptEnv().PATH ?? ''}`, `CHAOS_RUN_DIR=${host.dir}`],
  ]);

describe('net_latency.sh: the SSH bypass layout on a real veth', () => {
  it('when started over SSH through sudo -n, as the coordinator does, then the classifying root, the SSH filters (22, the sshd port, the session\'s client) and the slow band are in the kernel, and status prints one running line', async () => {
    requireBinary('sudo', 'sudo');
    const started = await startOverSsh('200', '5');
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });

    const root = await realTc('qdisc', 'show', 'dev', IF_NS, 'root');
    const qdiscs = await realTc('qdisc', 'show', 'dev', IF_NS);
    if (shimDir) {
      expect(root).toMatch(/^qdisc htb cafe: root .*r2q 37 default 0x4/); // the shim's prio, everything to band 4
      expect(qdiscs).toMatch(/qdisc tbf \w+: parent cafe:4 rate 1Mbit .*lat 200ms/);
    } else {
      expect(root).toMatch(/^qdisc prio cafe: root .*bands 4 priomap 3 3 3 3/);
      expect(qdiscs).toMatch(/qdisc netem \w+: parent cafe:4 .*delay 200ms loss 5%/);
    }
    // u32 keys as the kernel holds them: TCP source and destination port at offset 20 (IPv4) and
    // 40 (IPv6) for 22 and the sshd port, the SSH client as destination address, all to cafe:1.
    const filters = await realTc('filter', 'show', 'dev', IF_NS);
    for (const port of [22, SSHD_PORT]) {
      const hex = port.toString(16).padStart(4, '0');
      for (const at of [20, 40]) {
        expect(filters).toContain(`match ${hex}0000/ffff0000 at ${at}`);
        expect(filters).toContain(`match 0000${hex}/0000ffff at ${at}`);
      }
    }
    const client = SSH_CLIENT.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');
    expect(filters).toContain(`match ${client}/ffffffff at 16`);
    expect(filters.match(/flowid cafe:1/g)).toHaveLength(9);
    expect(host.log('net_latency')).toMatch(new RegExp(`SSH ports spared: 22 ${SSHD_PORT}\\s+client ${SSH_CLIENT.replace(/\./g, '\\.')}\n`));

    const status = await host.run('net_latency', ['status'], scriptEnv(), inNs);
    expect(status.code).toBe(0);
    expect(parseStatus(status.stdout)).toMatchObject({
      scenario: 'net_latency',
      state: 'running',
      pid: expect.any(Number),
      detail: expect.stringMatching(new RegExp(`^netem delay 200ms loss 5% on ${IF_NS} egress \\(installed\\), SSH spared; watchdog pid \\d+ armed$`)),
    });
  }, T);

  it('when traffic crosses the veth, then SSH (port 22, the sshd port, the SSH client) keeps full speed and everything else is slowed', async () => {
    const bare = await download(8080, OTHER_CLIENT);
    const bareSsh = await sshDownload(OTHER_CLIENT);
    expect((await start('200', '0')).code).toBe(0);

    const slowed = await download(8080, OTHER_CLIENT);
    const port22 = await download(22, OTHER_CLIENT);
    const client = await download(8080, SSH_CLIENT);
    const ssh = await sshDownload(OTHER_CLIENT);
    const timings = { bare, bareSsh, slowed, port22, client, ssh };
    // Through the slow band: ~1.6 s for 200 KB at the shim's 1 Mbit/s, ~1 s of 200 ms netem RTTs.
    expect({ ...timings, slowedEnough: slowed > 600 && slowed > 10 * bare }).toMatchObject({ slowedEnough: true });
    // Spared: as fast as the bare link, give or take scheduling noise.
    for (const [what, ms] of [['port22', port22], ['client', client]] as const) {
      expect({ ...timings, what, spared: ms < 300 && ms < slowed / 5 }).toMatchObject({ spared: true });
    }
    expect({ ...timings, sshSpared: ssh < bareSsh + 500 && ssh < slowed }).toMatchObject({ sshSpared: true });
  }, T);

  it('when stopped, then the root qdisc is gone, and stopping again changes nothing', async () => {
    const before = await realTc('qdisc', 'show', 'dev', IF_NS, 'root');
    expect((await start('200', '5')).code).toBe(0);
    expect(await realTc('qdisc', 'show', 'dev', IF_NS, 'root')).toMatch(/ cafe: root /);

    for (let i = 0; i < 2; i++) {
      const stop = await host.run('net_latency', ['stop'], scriptEnv(), inNs);
      expect({ i, code: stop.code }).toEqual({ i, code: 0 });
      expect(parseStatus(stop.stdout)).toMatchObject({ state: 'stopped', pid: null });
      expect(await realTc('qdisc', 'show', 'dev', IF_NS, 'root')).toBe(before);
      expect(await realTc('filter', 'show', 'dev', IF_NS)).toBe('');
    }
    expect(before).toMatch(/^qdisc noqueue 0: root/);
    expect(parseStatus((await host.run('net_latency', ['status'], scriptEnv(), inNs)).stdout)).toMatchObject({ state: 'stopped', detail: expect.stringMatching(/^not running; last run .* stop requested$/) });
    expect(host.runFiles('net_latency')).toEqual([]);
    expect(host.processes()).toEqual([]);
  }, T);

  it('when the interface already has a configured root qdisc, then start refuses to replace it and leaves it as it was', async () => {
    await realTc('qdisc', 'add', 'dev', IF_NS, 'root', 'handle', '7:', 'tbf', 'rate', '100mbit', 'burst', '32kb', 'latency', '50ms');
    try {
      const foreign = await realTc('qdisc', 'show', 'dev', IF_NS, 'root');
      const started = await start('200', '5');
      expect(started.code).toBe(1);
      expect(started.stderr).toContain(`net_latency: ${IF_NS} already has a configured root qdisc (qdisc tbf 7: root`);
      expect(started.stderr).toContain('refusing to replace it');
      // stop (run by afterEach too) must not take it either: it is not ours.
      expect((await host.run('net_latency', ['stop'], scriptEnv(), inNs)).code).toBe(0);
      expect(await realTc('qdisc', 'show', 'dev', IF_NS, 'root')).toBe(foreign);
      expect(host.runFiles('net_latency')).toEqual([]);
      expect(host.processes()).toEqual([]);
    } finally {
      await realTc('qdisc', 'del', 'dev', IF_NS, 'root');
    }
  }, T);
});
