/**
 * What each agent concludes. Later agents read earlier agents' findings; none of them reads the
 * scenario name (blind diagnosis). `fix_suggestion.json` is the Diagnosis written to disk.
 */
import { z } from 'zod';
import type { SamplePhase } from '../evidence/schema.js';
import { RemedySpec, RootCauseCategory } from '../domain/index.js';

export type Severity = 'debug' | 'info' | 'notice' | 'warning' | 'error' | 'critical';

export type RankedTemplate = {
  template_id: string;
  template: string;
  stream: string;
  severity: Severity;
  baseline_count: number;
  incident_count: number;
  /** Incident rate over baseline rate (per second); Infinity-safe: null when new. */
  rate_ratio: number | null;
  is_new: boolean;
  /** Not among the templates of the host's known-good reference. */
  unknown_to_reference?: boolean;
  first_seen: string | null;
  last_seen: string | null;
  example: string;
  score: number;
};

export type LogFindings = {
  streams: { name: string; baseline_lines: number; incident_lines: number }[];
  /** Templates that are new in the incident window or whose rate jumped, most telling first. */
  templates: RankedTemplate[];
  /** Lines the miner saw in total and templates it found. */
  total_lines: number;
  total_templates: number;
  /** Error-level lines by well-known signature (out of memory, no space, refused…). */
  signatures: SignatureHit[];
};

/**
 * A well-known failure phrase seen in the incident window. `rose`: clearly more frequent than in
 * the baseline window; a fault already present when the run began shows in both windows alike,
 * so a hit is kept either way and the diagnosis decides what a steady one means.
 */
export type SignatureHit = {
  signature: LogSignature;
  count: number;
  baseline_count: number;
  rose: boolean;
  /** Streams it was seen in (incident window), most hits first. */
  streams: string[];
  first_seen: string | null;
  last_seen: string | null;
  example: string;
};

export const LOG_SIGNATURES = [
  'out_of_memory',
  'no_space_left',
  'connection_refused',
  'too_many_connections',
  'network_unreachable',
  'timeout',
  'service_stopped',
  'cpu_throttled',
  'segfault',
  /** The kernel's OOM killer acted (the proof of memory exhaustion, unlike a failed allocation). */
  'oom_kill',
  /** EMFILE / ENFILE: a process or the system ran out of file descriptors. */
  'too_many_open_files',
  /** A process or thread could not be created (RLIMIT_NPROC, pid or thread limits). */
  'process_limit',
  /** A service failed to start or reload on a configuration error. */
  'config_error',
] as const;
export type LogSignature = (typeof LOG_SIGNATURES)[number];

export type Baseline = { median: number; mad: number; mean: number; sd: number; lo: number; hi: number; n: number };

/**
 * The band a series must be back inside after a fix or a revert: the baseline band, widened to
 * the metric's everyday noise around the baseline median and to the host's known-good reference
 * when the target has one. `basis` says which of them set it, for the report.
 */
export type RecoveryBand = { lo: number; hi: number; basis: string };

export type AnomalyWindow = {
  start: string;
  end: string;
  peak_at: string;
  peak: number;
  /** Robust z of the peak against the baseline (median/MAD). */
  peak_z: number;
  direction: 'up' | 'down';
  severity: 'low' | 'medium' | 'high';
};

export type SeriesFinding = {
  key: string;
  label: string;
  unit: string;
  baseline: Baseline;
  /** What counts as back to normal after a fix or a revert (see recoveryBand). */
  recovery_band: RecoveryBand;
  incident: { median: number; max: number; min: number; last: number; n: number };
  /** Mean of the incident samples as a z-score against the baseline mean/sd (simple-statistics). */
  mean_z: number;
  anomalous: boolean;
  windows: AnomalyWindow[];
  points: { t: string; v: number; phase: SamplePhase }[];
};

export type ProcessAttribution = {
  pid: number;
  comm: string;
  args?: string;
  /** The name `ps` shows (argv[0]); what a person calls the process. */
  argv0?: string;
  exe?: string;
  user?: string;
  baseline_cpu_pct: number;
  incident_cpu_pct: number;
  baseline_rss_mb: number;
  incident_rss_mb: number;
  rss_growth_mb: number;
  /** Seen only during the incident window. */
  new_in_incident: boolean;
};

export type MetricFindings = {
  series: SeriesFinding[];
  anomalous: string[];
  /**
   * by_cpu / by_rss_growth: what changed between the windows; busiest / largest: who holds the
   * resource now, whatever the windows show (a runaway that was already running at the start).
   */
  processes: { by_cpu: ProcessAttribution[]; by_rss_growth: ProcessAttribution[]; busiest: ProcessAttribution[]; largest: ProcessAttribution[] };
  disks: {
    mount: string;
    fstype?: string;
    baseline_used_pct: number;
    incident_used_pct: number;
    /** Highest inode use in the incident window; null where the filesystem does not count inodes. */
    incident_inodes_pct: number | null;
    growth_mb: number;
    largest_files: { path: string; size_mb: number }[];
  }[];
  interfaces: { iface: string; errors: number; drops: number; baseline_errors: number; baseline_drops: number }[];
  db: { max_connections: number; baseline_connections: number; incident_connections: number; by_application: { application: string; baseline: number; incident: number }[] } | null;
  probes: {
    target: string;
    kind: 'http' | 'tcp' | 'db';
    /** Probe results in the run (both windows), and how many of them failed. */
    total: number;
    failed: number;
    baseline_ok_pct: number;
    incident_ok_pct: number;
    baseline_latency_ms: number | null;
    incident_latency_ms: number | null;
    errors: { error: string; count: number }[];
  }[];
  /** Seconds from fault injection to the first anomalous sample; null when unknown. */
  time_to_detect_s: number | null;
  /** Seconds from revert until every anomalous series was back inside its recovery band. */
  recovery_s: number | null;
  /** How each anomalous series came back after the revert; null before the revert is watched. */
  recovery: RecoveryFindings | null;
};

/** One anomalous series after the revert. */
export type SeriesRecovery = {
  key: string;
  label: string;
  /** `recovered`: back inside its recovery band and still there at the end of the watch. */
  state: 'recovered' | 'still_out' | 'no_data';
  /** Seconds after the revert when it came back for good; null unless recovered. */
  back_after_s: number | null;
  /** Slow by construction (load average, swap): reported, but not waited for. */
  lagging: boolean;
  last: number | null;
  /** The recovery band it was judged against, and what set it. */
  band: RecoveryBand;
};

export type RecoveryFindings = {
  reverted_at: string;
  /** Seconds of samples after the revert that were looked at. */
  watched_s: number;
  samples: number;
  /** Every anomalous series that is not lagging is back inside its band. */
  recovered: boolean;
  /** When the last of them came back; null when not all did. */
  recovery_s: number | null;
  series: SeriesRecovery[];
};

export const EvidenceRef = z.object({
  kind: z.enum(['metric', 'template', 'signature', 'probe', 'process', 'snapshot', 'service', 'qdisc', 'db', 'reference', 'limit']),
  ref: z.string(),
  detail: z.string(),
});
export type EvidenceRef = z.infer<typeof EvidenceRef>;

export const Culprit = z.object({
  kind: z.enum(['process', 'mount', 'interface', 'service', 'db_application']),
  name: z.string(),
  pid: z.number().int().optional(),
  /**
   * Every process the evidence blames, heaviest first (`pid` is the first): those of the
   * culprit's program whose CPU or RSS grew, or that hold the resource. A fix stops exactly
   * these, never another process that happens to share the name (a `python3` web app).
   */
  pids: z.array(z.number().int()).optional(),
  /** The executable behind a process culprit, when the host let us read it. */
  exe: z.string().optional(),
  /** The port a service culprit listens (or listened) on. */
  port: z.number().int().optional(),
  files: z.array(z.object({ path: z.string(), size_mb: z.number() })).optional(),
  detail: z.string().optional(),
});
export type Culprit = z.infer<typeof Culprit>;

export const Hypothesis = z.object({
  category: RootCauseCategory,
  confidence: z.number().min(0).max(1),
  culprit: Culprit.nullable(),
  evidence: z.array(EvidenceRef),
});
export type Hypothesis = z.infer<typeof Hypothesis>;

export const FixAction = z.object({
  description: z.string(),
  command: z.string(),
  rollback: z.string(),
  /** The same step in a form the coordinator can run once approved (src/remediation/). */
  remedy: RemedySpec.optional(),
});
export type FixAction = z.infer<typeof FixAction>;

/** fix_suggestion.json */
export const Diagnosis = z.object({
  root_cause: z.object({
    category: RootCauseCategory,
    summary: z.string(),
    culprit: Culprit.nullable(),
    confidence: z.number().min(0).max(1),
    evidence: z.array(EvidenceRef),
  }),
  hypotheses: z.array(Hypothesis),
  /** For `unknown`: the strongest evidence, so a human can take it from there. */
  strongest_evidence: z.array(EvidenceRef),
  actions: z.array(FixAction),
});
export type Diagnosis = z.infer<typeof Diagnosis>;

export type RiskLevel = 'low' | 'medium' | 'high';

export type RiskFinding = { rule: string; line: number; severity: RiskLevel; message: string; text: string };

export type FixTestFindings = {
  syntax_ok: boolean;
  syntax_error: string | null;
  risk: RiskLevel;
  findings: RiskFinding[];
  rollback_plan: string[];
};

export type ReportFindings = {
  artifacts: string[];
  pdf: { state: 'rendered' | 'skipped' | 'failed'; detail?: string };
  slack: { state: 'sent' | 'not_configured' | 'failed'; detail?: string };
  /** The optional narrative by a language model; `skipped` says why in `detail`. */
  narrative?: { state: 'written' | 'skipped' | 'not_configured'; model?: string; detail?: string };
};

export type Findings = {
  LogAgent: LogFindings;
  MetricsAgent: MetricFindings;
  FixerAgent: Diagnosis;
  TesterAgent: FixTestFindings;
  ReporterAgent: ReportFindings;
};
