/**
 * One SSH connection per host per incident, shared by every agent: the pipeline creates a registry
 * for an incident, agents ask it for their target's connection, and the pipeline closes it at the
 * end. Policy (resolveTarget) always runs before a connection is made.
 */
import type { Logger } from 'pino';
import { ConflictError } from '../errors.js';
import { SshConnection, type ConnectInfo, type SshConnectionOptions, type SshStats } from './connection.js';
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

export type ConnectionRegistry = {
  /** The incident's connection to this target, opened on first use; concurrent callers share it. */
  get: (request: TargetRequest) => Promise<ConnectedTarget>;
  stats: () => Record<string, SshStats>;
  /** Closes every connection; later `get` calls fail. */
  closeAll: () => Promise<void>;
};

export function createConnectionRegistry(deps: ConnectTargetDeps): ConnectionRegistry {
  const byName = new Map<string, Promise<ConnectedTarget>>();
  const settled = new Map<string, ConnectedTarget>();
  let closed = false;

  const get = async (request: TargetRequest): Promise<ConnectedTarget> => {
    if (closed) throw new ConflictError('the incident\'s SSH connections are closed');
    // Policy first, every time; the enrolled name then identifies the shared connection.
    const target = await resolveTarget(request, deps);
    const existing = byName.get(target.name);
    if (existing) return existing;
    const connection = new SshConnection({ ...deps.connection, target, logger: deps.logger });
    const pending = connection.connect().then(
      (info) => {
        const connected = { connection, info, target: withoutKey(target) };
        settled.set(target.name, connected);
        return connected;
      },
      async (error: unknown) => {
        // A failed connect is not cached: the next agent may try again.
        byName.delete(target.name);
        await connection.close();
        throw error;
      },
    );
    byName.set(target.name, pending);
    return pending;
  };

  return {
    get,
    stats: () => Object.fromEntries([...settled].map(([name, c]) => [name, c.connection.stats()])),
    closeAll: async () => {
      closed = true;
      const pending = [...byName.values()];
      byName.clear();
      const results = await Promise.allSettled(pending);
      await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.connection.close() : undefined)));
    },
  };
}

/** What callers keep of a target: everything but the private key. */
function withoutKey(target: ResolvedTarget): Omit<ResolvedTarget, 'privateKey'> {
  const { name, host, address, port, user, hostKeys, revokedHostKeys, services } = target;
  return { name, host, address, port, user, hostKeys, revokedHostKeys, services };
}
