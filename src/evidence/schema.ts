/**
 * The evidence model: everything the agents may look at, and nothing else.
 *
 * An evidence source (offline bundle or live SSH host) produces one `Evidence` value. Agents are
 * pure functions of it: they never learn which source fed them, nor which scenario was asked for
 * (blind diagnosis, SPEC §1).
 *
 * The same shapes are the on-disk bundle format (examples/<name>/) and the JSON lines the
 * host-side sampler prints (chaos-scripts/collect/), so a recording is just these values saved.
 */
import { z } from 'zod';
import { HostInventory } from './inventory.js';
import { KnownGoodReference } from './reference.js';
import { IsoTime, ProbeKind } from './primitives.js';

export { ProbeKind };

/** The two windows the agents analyse (and whose logs are collected). */
export const Phase = z.enum(['baseline', 'incident']);
export type Phase = z.infer<typeof Phase>;

/**
 * When a sample or probe was taken: one of the analysed windows, or `recovery`, the short watch
 * after the revert that measures how long the host takes to get back inside its normal band.
 */
export const SamplePhase = z.enum([...Phase.options, 'recovery']);
export type SamplePhase = z.infer<typeof SamplePhase>;

const Iso = IsoTime;

export const ProcessSample = z.object({
  pid: z.number().int().nonnegative(),
  comm: z.string().max(64),
  /** Share of one core over the sampling interval, as top prints it (may exceed 100). */
  cpu_pct: z.number().nonnegative(),
  rss_mb: z.number().nonnegative(),
  /** Command line, truncated by the host; informational. */
  args: z.string().max(512).optional(),
  /** argv[0] as `ps` shows it (a process started with `exec -a NAME` shows NAME); comm is the kernel's 15-byte name. */
  argv0: z.string().max(256).optional(),
  /** The executable (readlink /proc/PID/exe), when readable. */
  exe: z.string().max(1024).optional(),
  user: z.string().max(64).optional(),
});
export type ProcessSample = z.infer<typeof ProcessSample>;

export const DiskSample = z.object({
  mount: z.string().max(256),
  device: z.string().max(256).optional(),
  size_mb: z.number().nonnegative(),
  used_mb: z.number().nonnegative(),
  used_pct: z.number().min(0).max(100),
  fstype: z.string().max(64).optional(),
  /** Inodes in use; absent on filesystems without a fixed inode count (btrfs reports 0 total). */
  inodes_total: z.number().int().nonnegative().optional(),
  inodes_used_pct: z.number().min(0).max(100).optional(),
});
export type DiskSample = z.infer<typeof DiskSample>;

export const NetSample = z.object({
  iface: z.string().max(64),
  /** Rates over the sampling interval. */
  rx_kbps: z.number().nonnegative(),
  tx_kbps: z.number().nonnegative(),
  /** Counter deltas over the sampling interval. */
  rx_errs: z.number().int().nonnegative(),
  tx_errs: z.number().int().nonnegative(),
  rx_drop: z.number().int().nonnegative(),
  tx_drop: z.number().int().nonnegative(),
});
export type NetSample = z.infer<typeof NetSample>;

export const DbClientCount = z.object({
  application: z.string().max(128),
  state: z.string().max(64).optional(),
  count: z.number().int().nonnegative(),
});
export type DbClientCount = z.infer<typeof DbClientCount>;

export const DbSample = z.object({
  connections: z.number().int().nonnegative(),
  max_connections: z.number().int().positive(),
  by_application: z.array(DbClientCount).max(64),
});
export type DbSample = z.infer<typeof DbSample>;

/** One sample of the host, taken every second by the streaming sampler. */
export const MetricSample = z.object({
  t: Iso,
  phase: SamplePhase,
  cpu: z.object({
    busy_pct: z.number().min(0).max(100),
    iowait_pct: z.number().min(0).max(100),
    steal_pct: z.number().min(0).max(100).default(0),
    cores: z.number().int().positive(),
  }),
  load1: z.number().nonnegative(),
  mem: z.object({
    total_mb: z.number().positive(),
    available_mb: z.number().nonnegative(),
    used_pct: z.number().min(0).max(100),
    swap_used_mb: z.number().nonnegative().default(0),
    /** Cumulative OOM kills (the host's memory cgroup when it has a limit, else /proc/vmstat oom_kill). */
    oom_kills: z.number().int().nonnegative().optional(),
    /** Pages swapped in / out per second over the interval (swap thrash). */
    swap_in_per_s: z.number().nonnegative().optional(),
    swap_out_per_s: z.number().nonnegative().optional(),
    /** What `total_mb` is: the machine's memory, or the limit of the memory cgroup the host runs in (a container). */
    scope: z.enum(['host', 'cgroup']).optional(),
  }),
  /** System-wide limits in use: open files (fs.file-nr vs fs.file-max) and tasks (vs pid_max / threads-max). */
  limits: z
    .object({
      files_open: z.number().int().nonnegative(),
      files_max: z.number().int().positive(),
      tasks: z.number().int().nonnegative(),
      tasks_max: z.number().int().positive(),
    })
    .optional(),
  disks: z.array(DiskSample).max(64),
  net: z.array(NetSample).max(64),
  /** Top processes by CPU and by RSS (union, at most ~10). */
  top: z.array(ProcessSample).max(32),
  db: DbSample.optional(),
});
export type MetricSample = z.infer<typeof MetricSample>;


/**
 * A probe's name: what it checks, as a person reads it ("http://127.0.0.1:8080/health",
 * "tcp 127.0.0.1:5432", "db app@127.0.0.1:5432/app"). Bundles recorded before probes had names
 * say `http`, `db` or `gateway`.
 */
export const ProbeTarget = z.string().min(1).max(256);
export type ProbeTarget = z.infer<typeof ProbeTarget>;

/** A health probe of one of the host's services, taken alongside each sample. */
export const ProbeResult = z.object({
  t: Iso,
  phase: SamplePhase,
  target: ProbeTarget,
  /** Absent in old bundles: read it with `probeKind`. */
  kind: ProbeKind.optional(),
  ok: z.boolean(),
  latency_ms: z.number().nonnegative().nullable(),
  status: z.number().int().optional(),
  error: z.string().max(512).optional(),
});
export type ProbeResult = z.infer<typeof ProbeResult>;

/** The probe's kind, also for bundles recorded before probes said it (their target was the kind). */
export function probeKind(p: Pick<ProbeResult, 'target' | 'kind'>): ProbeKind {
  if (p.kind) return p.kind;
  if (p.target === 'db') return 'db';
  if (p.target.startsWith('tcp ')) return 'tcp';
  return 'http';
}

/** Log lines captured during one phase from one source (syslog, postgresql, victim, dmesg…). */
export const LogStream = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/),
  lines: z.array(z.string()),
});
export type LogStream = z.infer<typeof LogStream>;

export const FileUsage = z.object({
  path: z.string().max(1024),
  size_mb: z.number().nonnegative(),
});
export type FileUsage = z.infer<typeof FileUsage>;

export const ServiceState = z.object({
  name: z.string().max(128),
  active: z.boolean(),
  /** How the state was read: systemd unit or pid file. */
  manager: z.enum(['systemd', 'pidfile', 'process']),
  pid: z.number().int().positive().optional(),
  detail: z.string().max(512).optional(),
});
export type ServiceState = z.infer<typeof ServiceState>;

export const QdiscInfo = z.object({
  iface: z.string().max(64),
  kind: z.string().max(32),
  detail: z.string().max(512),
});
export type QdiscInfo = z.infer<typeof QdiscInfo>;

/** Forensics taken once at the end of the incident window: what a human would look at next. */
export const HostSnapshot = z.object({
  t: Iso,
  hostname: z.string().max(256),
  kernel: z.string().max(256).optional(),
  /** Largest files under each mount that is fuller than its baseline (or over 80 %). */
  largest_files: z.array(z.object({ mount: z.string(), files: z.array(FileUsage).max(20) })).max(16),
  services: z.array(ServiceState).max(32),
  qdiscs: z.array(QdiscInfo).max(32),
  /** Listening sockets summarised as "proto addr:port process". */
  listeners: z.array(z.string().max(256)).max(64).default([]),
  /**
   * Processes close to their own open-files limit (RLIMIT_NOFILE), fullest first: the culprit of
   * a `Too many open files` that the system-wide count does not show.
   */
  fd_pressure: z
    .array(z.object({ pid: z.number().int().positive(), comm: z.string().max(64), argv0: z.string().max(256).optional(), exe: z.string().max(1024).optional(), open_fds: z.number().int().nonnegative(), limit: z.number().int().positive() }))
    .max(16)
    .default([]),
  /** The last error lines of the logs of services that are down (config errors, start failures). */
  service_errors: z.array(z.object({ service: z.string().max(128), source: z.string().max(1024), lines: z.array(z.string().max(2000)).max(20) })).max(16).default([]),
});
export type HostSnapshot = z.infer<typeof HostSnapshot>;

export const Window = z.object({ start: Iso, end: Iso });
export type Window = z.infer<typeof Window>;

/** The analysed windows, plus the recovery watch after the revert when there was one. */
export const Windows = z.object({ baseline: Window, incident: Window, recovery: Window.optional() });
export type Windows = z.infer<typeof Windows>;

/** Bundle manifest: provenance only. Nothing downstream may read `label`. */
export const BundleManifest = z.object({
  format_version: z.literal(1),
  /** Human label of what was recorded (for people browsing examples/; agents never see it). */
  label: z.string().max(128),
  host: z.string().max(256),
  recorded_from: z.enum(['sandbox', 'droplet', 'vm', 'synthetic']),
  recorded_at: Iso,
  windows: Windows,
  /** When the fault was injected, if one was; used for time-to-detect. */
  fault_started_at: Iso.nullable(),
  /** When the fault was reverted, if it was within the recording; used for recovery time. */
  fault_reverted_at: Iso.nullable().default(null),
  /**
   * Log lines the recording captured per window: a bundle that lost its logs/ (an ignore rule, a
   * careless copy) is caught against these. Absent in bundles recorded before it existed.
   */
  log_lines: z.object({ baseline: z.number().int().nonnegative(), incident: z.number().int().nonnegative() }).optional(),
});
export type BundleManifest = z.infer<typeof BundleManifest>;

/** What agents see. Built by an EvidenceSource; never contains the scenario name. */
export const Evidence = z.object({
  source: z.enum(['offline', 'ssh']),
  host: z.string(),
  windows: Windows,
  fault_started_at: Iso.nullable(),
  fault_reverted_at: Iso.nullable(),
  logs: z.object({ baseline: z.array(LogStream), incident: z.array(LogStream) }),
  samples: z.array(MetricSample),
  probes: z.array(ProbeResult),
  snapshot: HostSnapshot.nullable(),
  /** What the host runs, discovered at the start of this run; null in bundles recorded before discovery. */
  inventory: HostInventory.nullable().default(null),
  /** The host's known-good reference this run is judged against; null when none was recorded yet. */
  reference: KnownGoodReference.nullable().default(null),
});
export type Evidence = z.infer<typeof Evidence>;
