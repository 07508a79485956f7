/**
 * What a host runs, as discovery finds it (chaos-scripts/collect/discover.py prints one
 * `HostInventory`): listening sockets and their processes, the services behind them, their log
 * files, every filesystem that can fill, PostgreSQL instances and the system's limits (SPEC §9).
 * Taken at enrolment (into the known-good reference) and again at the start of every run.
 */
import { z } from 'zod';
import { IsoTime } from './primitives.js';

const Path = z.string().min(1).max(1024);

/** One listening socket and, when the collector may see it (root), the process that owns it. */
export const Listener = z.object({
  proto: z.enum(['tcp', 'udp']),
  /** As the kernel reports it: "0.0.0.0", "127.0.0.1", "::", "10.0.0.5". */
  address: z.string().max(64),
  port: z.number().int().min(1).max(65535),
  pid: z.number().int().positive().optional(),
  comm: z.string().max(64).optional(),
  /** argv[0] as `ps` shows it: what a person calls the process. */
  argv0: z.string().max(256).optional(),
  exe: Path.optional(),
  /** The `DiscoveredService` it belongs to. */
  service: z.string().max(128).optional(),
});
export type Listener = z.infer<typeof Listener>;

/**
 * A service: a systemd unit where systemd runs; else a pid-file service of ours
 * (/etc/chaos-handler/services), else a long-running process that listens or writes logs,
 * named after its argv[0] (its process-group leader's, for forked servers such as nginx).
 */
export const DiscoveredService = z.object({
  name: z.string().min(1).max(128),
  manager: z.enum(['systemd', 'pidfile', 'process']),
  active: z.boolean(),
  /** Main pid first. */
  pids: z.array(z.number().int().positive()).max(64),
  argv0: z.string().max(256).optional(),
  exe: Path.optional(),
  user: z.string().max(64).optional(),
  ports: z.array(z.number().int().min(1).max(65535)).max(64),
  /** Log files it has open for writing, plus the usual locations of well-known servers that exist. */
  log_files: z.array(Path).max(32),
  detail: z.string().max(512).optional(),
});
export type DiscoveredService = z.infer<typeof DiscoveredService>;

/** A filesystem that can fill up (tmpfs included), with its inodes. */
export const MountInfo = z.object({
  mount: Path,
  fstype: z.string().max(64),
  device: z.string().max(256),
  size_mb: z.number().nonnegative(),
  used_mb: z.number().nonnegative(),
  used_pct: z.number().min(0).max(100),
  inodes_total: z.number().int().nonnegative(),
  /** Null where the filesystem has no fixed inode count. */
  inodes_used_pct: z.number().min(0).max(100).nullable(),
});
export type MountInfo = z.infer<typeof MountInfo>;

export const PostgresInstance = z.object({
  port: z.number().int().min(1).max(65535),
  /** The postmaster. */
  pid: z.number().int().positive(),
  data_dir: Path.optional(),
  version: z.string().max(32).optional(),
  /** From the server's command line or its configuration files (default 100). */
  max_connections: z.number().int().positive().optional(),
  log_files: z.array(Path).max(16),
});
export type PostgresInstance = z.infer<typeof PostgresInstance>;

export const HostInventory = z.object({
  t: IsoTime,
  hostname: z.string().max(256),
  kernel: z.string().max(256).optional(),
  /** `systemd` when /run/systemd/system exists. */
  init: z.enum(['systemd', 'other']),
  cores: z.number().int().positive(),
  mem_total_mb: z.number().positive(),
  listeners: z.array(Listener).max(256),
  services: z.array(DiscoveredService).max(128),
  mounts: z.array(MountInfo).max(64),
  postgres: z.array(PostgresInstance).max(16),
  /** Every log file found (services', well-known paths, /var/log), largest first. */
  log_files: z.array(z.object({ path: Path, size_mb: z.number().nonnegative(), service: z.string().max(128).optional() })).max(128),
  /** The journal is readable (journalctl works for this user). */
  journal: z.boolean(),
  limits: z.object({
    files_max: z.number().int().positive().optional(),
    pid_max: z.number().int().positive().optional(),
    threads_max: z.number().int().positive().optional(),
  }),
});
export type HostInventory = z.infer<typeof HostInventory>;

/**
 * The log stream a service's log file is read into (logs.py --file STREAM=PATH): the service's
 * name, plus the file's own name when it has several ("nginx.error"). Stream names are what the
 * LogAgent and the report show, and how a log line is traced back to its service.
 */
export function streamName(service: string, file: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1).replace(/\.log$/, '');
  const raw = base === service || base === '' ? service : `${service}.${base}`;
  return raw.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64) || 'service';
}
