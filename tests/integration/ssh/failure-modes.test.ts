/**
 * Failure modes OpenSSH cannot be made to show on demand, played by an in-process ssh2 Server
 * (as ssh2's own tests do): a channel that closes without exit status, refused channel opens, a
 * refused exec request, an exit signal with no status.
 */
import { jest } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Server, utils, type ServerChannel } from 'ssh2';
import { RemoteCommandError } from '../../../src/errors.js';
import { SshConnection } from '../../../src/ssh/connection.js';
import { SshConnectionError } from '../../../src/ssh/errors.js';
import { parsePublicKeyLine } from '../../../src/ssh/host-key.js';

jest.setTimeout(30_000);

type Mode = { refuseOpens: number; refuseExec: boolean };
const mode: Mode = { refuseOpens: 0, refuseExec: false };
let sessionsRequested = 0;

const hostKey = utils.generateKeyPairSync('ed25519');
const clientKey = utils.generateKeyPairSync('ed25519');
let server: Server;
let port: number;

/** What the fake host does for each command. */
function run(command: string, channel: ServerChannel): void {
  switch (command) {
    case 'close-without-exit':
      channel.write('partial output\n');
      channel.stderr.write('no status follows\n');
      channel.end();
      return;
    case 'exit-signal':
      channel.exit('TERM', false, 'terminated');
      channel.end();
      return;
    case 'exit-0':
      channel.write('fine\n');
      channel.exit(0);
      channel.end();
      return;
    default:
      channel.exit(127);
      channel.end();
  }
}

beforeAll(async () => {
  server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
    client.on('session', (accept, reject) => {
      sessionsRequested += 1;
      if (mode.refuseOpens > 0) {
        mode.refuseOpens -= 1;
        reject();
        return;
      }
      const session = accept();
      session.on('exec', (acceptExec, rejectExec, info) => {
        if (mode.refuseExec) {
          rejectExec();
          return;
        }
        run(info.command, acceptExec());
      });
    });
    client.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let conn: SshConnection;
beforeEach(async () => {
  mode.refuseOpens = 0;
  mode.refuseExec = false;
  sessionsRequested = 0;
  conn = new SshConnection({
    target: {
      host: '127.0.0.1',
      address: '127.0.0.1',
      port,
      user: 'tester',
      privateKey: Buffer.from(clientKey.private),
      hostKeys: [parsePublicKeyLine(hostKey.public)],
    },
    logger: pino({ level: 'silent' }),
  });
  await conn.connect();
});

afterEach(async () => {
  await conn.close();
});

describe('failure modes from an in-process ssh2 server', () => {
  it('when a channel closes without exit status or signal, then the outcome is unknown, never success', async () => {
    const result = await conn.exec('close-without-exit');
    expect(result).toMatchObject({
      outcome: 'unknown',
      exitCode: null,
      signal: null,
      stdout: 'partial output\n',
      stderr: 'no status follows\n',
    });
    expect(conn.stats().failures).toBe(1);
  });

  it('when a channel closes without exit status, then execOrThrow throws RemoteCommandError', async () => {
    const error = await conn.execOrThrow('close-without-exit').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect(error).toMatchObject({
      message: 'remote command ended without an exit status',
      details: { exitCode: null, signal: null, stderrTail: 'no status follows\n' },
    });
  });

  it('when the host reports an exit signal, then the outcome is signalled with the signal name', async () => {
    await expect(conn.exec('exit-signal')).resolves.toMatchObject({ outcome: 'signalled', exitCode: null, signal: 'SIGTERM' });
  });

  it('when the host refuses the first channel opens, then the command is retried and runs once', async () => {
    mode.refuseOpens = 3;
    await expect(conn.exec('exit-0')).resolves.toMatchObject({ outcome: 'exited', exitCode: 0, stdout: 'fine\n' });
    expect(sessionsRequested).toBe(4);
    expect(conn.stats()).toMatchObject({ activeChannels: 0, channelsOpened: 1 });
  });

  it('when the host keeps refusing channel opens, then exec fails with a channel error and frees its slot', async () => {
    mode.refuseOpens = 1_000;
    const error = await conn.exec('exit-0', { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshConnectionError);
    expect(error).toMatchObject({ kind: 'channel' });
    expect(conn.stats()).toMatchObject({ activeChannels: 0, queued: 0 });
  });

  it('when the host refuses the exec request, then exec fails with a channel error', async () => {
    mode.refuseExec = true;
    await expect(conn.exec('exit-0')).rejects.toMatchObject({ name: 'SshConnectionError', kind: 'channel' });
    expect(conn.stats().activeChannels).toBe(0);
  });

  it('when the command contains NUL or the deadline is not positive, then nothing is sent and the call fails as input', async () => {
    await expect(conn.exec('exit-0\0; rm -rf /')).rejects.toMatchObject({ name: 'InputError', field: 'command' });
    await expect(conn.exec('exit-0', { timeoutMs: 0 })).rejects.toMatchObject({ name: 'InputError', field: 'timeoutMs' });
    expect(sessionsRequested).toBe(0);
  });

  it('when opens are refused past the deadline, then the outcome is timeout and nothing stays queued', async () => {
    mode.refuseOpens = 1_000;
    const result = await conn.exec('exit-0', { timeoutMs: 300 });
    expect(result.outcome).toBe('timeout');
    expect(conn.stats()).toMatchObject({ activeChannels: 0, queued: 0 });
  });
});
