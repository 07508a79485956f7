/**
 * Policy then mechanism: resolve a target request (refusing what policy refuses, before any
 * socket) and open its connection. The incident's connector calls this once per incident and
 * shares the connection among everything that talks to the host.
 */
import type { Logger } from 'pino';
import { SshConnection, type ConnectInfo, type SshConnectionOptions } from './connection.js';
import type { TargetRequest } from './schema.js';
import { resolveTarget, type ResolveTargetDeps, type ResolvedTarget } from './targets.js';

export type ConnectionDefaults = Omit<SshConnectionOptions, 'target' | 'logger'>;

export type ConnectTargetDeps = ResolveTargetDeps & { logger: Logger; connection?: ConnectionDefaults };

export type ConnectedTarget = {
  connection: SshConnection;
  info: ConnectInfo;
  target: Omit<ResolvedTarget, 'privateKey'>;
};

/** Resolves (refusing what policy refuses, before any socket) and connects. */
export async function connectTarget(request: TargetRequest, deps: ConnectTargetDeps): Promise<ConnectedTarget> {
  const target = await resolveTarget(request, deps);
  const connection = new SshConnection({ ...deps.connection, target, logger: deps.logger });
  try {
    const info = await connection.connect();
    return { connection, info, target: withoutKey(target) };
  } catch (error) {
    await connection.close();
    throw error;
  }
}

/** What callers keep of a target: everything but the private key. */
function withoutKey(target: ResolvedTarget): Omit<ResolvedTarget, 'privateKey'> {
  const { name, host, address, port, user, hostKeys, revokedHostKeys, services } = target;
  return { name, host, address, port, user, hostKeys, revokedHostKeys, services };
}
