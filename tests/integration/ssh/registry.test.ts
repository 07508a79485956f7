/**
 * Policy and mechanism together: a targets file like the one the sandbox script writes, resolved
 * and connected through the per-incident registry. Policy refuses loopback, so this sshd listens on
 * a non-loopback address of this machine; without one the suite is skipped.
 */
import { jest } from '@jest/globals';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { ConflictError, InputError, NotAllowedError } from '../../../src/errors.js';
import { isForbiddenAddress } from '../../../src/ssh/address-policy.js';
import { createConnectionRegistry, type ConnectionRegistry } from '../../../src/ssh/registry.js';
import { loadTargets } from '../../../src/ssh/targets.js';
import { captureLogger } from '../../fixtures/sshd/helpers.js';
import { startSshd, type SshdFixture } from '../../fixtures/sshd/sshd.js';

jest.setTimeout(60_000);

const localAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal && !isForbiddenAddress(i.address))?.address;

const describeWithAddress = localAddress ? describe : describe.skip;

describeWithAddress('connection registry against a real sshd on a non-loopback address', () => {
  let sshd: SshdFixture;
  let registry: ConnectionRegistry;
  let keysDir: string;
  const { logger, lines } = captureLogger();

  beforeAll(async () => {
    sshd = await startSshd({ listenAddress: localAddress });
    keysDir = path.join(sshd.dir, 'keys');
    mkdirSync(keysDir, { mode: 0o700 });
    copyFileSync(sshd.clientKey.privatePath, path.join(keysDir, 'test_ed25519'));
    const file = path.join(sshd.dir, 'targets.json');
    writeFileSync(
      file,
      JSON.stringify({
        targets: [
          {
            name: 'local',
            host: localAddress,
            port: sshd.port,
            user: sshd.user,
            key: 'test_ed25519',
            host_keys: [sshd.hostKey.publicLine.split(' ').slice(0, 2).join(' ')],
            services: { http: `http://${localAddress}:8080/health` },
          },
        ],
      }),
    );
    const { targets } = await loadTargets(file);
    registry = createConnectionRegistry({ targets, keysDir, logger });
  });

  afterAll(async () => {
    await registry?.closeAll();
    await sshd?.stop();
  });

  it('when agents ask for the same target by name and by address at once, then they share one connection', async () => {
    const [a, b, c] = await Promise.all([
      registry.get({ name: 'local' }),
      registry.get({ host: localAddress ?? '', port: sshd.port }),
      registry.get({ name: 'local' }),
    ]);
    expect(b.connection).toBe(a.connection);
    expect(c.connection).toBe(a.connection);
    expect(a.target).toMatchObject({ name: 'local', address: localAddress, services: { http: expect.any(String) } });
    expect(a.target).not.toHaveProperty('privateKey');
    await expect(a.connection.exec('id -un')).resolves.toMatchObject({ stdout: `${sshd.user}\n` });
    expect(registry.stats()).toEqual({ local: expect.objectContaining({ connectionsOpened: 1 }) });
    expect((sshd.logs().match(/Accepted publickey/g) ?? []).length).toBe(1);
  });

  it('when the request escapes the keys directory, then it is refused before connecting', async () => {
    await expect(registry.get({ host: localAddress ?? '', port: sshd.port, key_path: '../client_ed25519' })).rejects.toBeInstanceOf(InputError);
  });

  it('when the request names loopback, then it is refused as not enrolled', async () => {
    await expect(registry.get({ host: '127.0.0.1', port: sshd.port })).rejects.toBeInstanceOf(NotAllowedError);
  });

  it('when the registry is closed, then its connections are closed and further requests fail', async () => {
    const { connection } = await registry.get({ name: 'local' });
    await registry.closeAll();
    expect(connection.connectionState).toBe('closed');
    await expect(registry.get({ name: 'local' })).rejects.toBeInstanceOf(ConflictError);
    expect(lines.join('\n')).not.toContain('PRIVATE KEY');
  });
});
