/**
 * The output contract of each agent, checked by the pipeline before an agent's findings are
 * handed to the agents after it: a buggy or corrupted result is rejected (and retried) instead of
 * crashing the next agent or landing in the report. The shapes follow findings.ts; numbers are
 * any JavaScript number (z.number() refuses NaN and infinities, which a z-score may be).
 */
import { z } from 'zod';
import type { AgentName } from '../domain/index.js';
import { SamplePhase } from '../evidence/schema.js';
import { Diagnosis, LOG_SIGNATURES } from './findings.js';

const Num = z.custom<number>((v) => typeof v === 'number', 'expected a number');
const Count = z.number().int().min(0);
const Severity = z.enum(['debug', 'info', 'notice', 'warning', 'error', 'critical']);

const RankedTemplate = z.object({
  template_id: z.string(),
  template: z.string(),
  stream: z.string(),
  severity: Severity,
  baseline_count: Count,
  incident_count: Count,
  rate_ratio: Num.nullable(),
  is_new: z.boolean(),
  unknown_to_reference: z.boolean().optional(),
  first_seen: z.string().nullable(),
  last_seen: z.string().nullable(),
  example: z.string(),
  score: Num,
});

export const LogFindingsSchema = z.object({
  streams: z.array(z.object({ name: z.string(), baseline_lines: Count, incident_lines: Count })),
  templates: z.array(RankedTemplate),
  total_lines: Count,
  total_templates: Count,
  signatures: z.array(
    z.object({
      signature: z.enum(LOG_SIGNATURES),
      count: Count,
      baseline_count: Count,
      rose: z.boolean(),
      streams: z.array(z.string()),
      first_seen: z.string().nullable(),
      last_seen: z.string().nullable(),
      example: z.string(),
    }),
  ),
});

const Baseline = z.object({ median: Num, mad: Num, mean: Num, sd: Num, lo: Num, hi: Num, n: Count });

const SeriesFinding = z.object({
  key: z.string(),
  label: z.string(),
  unit: z.string(),
  baseline: Baseline,
  recovery_band: z.object({ lo: Num, hi: Num, basis: z.string() }),
  incident: z.object({ median: Num, max: Num, min: Num, last: Num, n: Count }),
  mean_z: Num,
  anomalous: z.boolean(),
  windows: z.array(
    z.object({
      start: z.string(),
      end: z.string(),
      peak_at: z.string(),
      peak: Num,
      peak_z: Num,
      direction: z.enum(['up', 'down']),
      severity: z.enum(['low', 'medium', 'high']),
    }),
  ),
  points: z.array(z.object({ t: z.string(), v: Num, phase: SamplePhase })),
});

const ProcessAttribution = z.object({
  pid: z.number().int(),
  comm: z.string(),
  args: z.string().optional(),
  argv0: z.string().optional(),
  exe: z.string().optional(),
  user: z.string().optional(),
  baseline_cpu_pct: Num,
  incident_cpu_pct: Num,
  baseline_rss_mb: Num,
  incident_rss_mb: Num,
  rss_growth_mb: Num,
  new_in_incident: z.boolean(),
});

export const MetricFindingsSchema = z.object({
  series: z.array(SeriesFinding),
  anomalous: z.array(z.string()),
  processes: z.object({
    by_cpu: z.array(ProcessAttribution),
    by_rss_growth: z.array(ProcessAttribution),
    busiest: z.array(ProcessAttribution),
    largest: z.array(ProcessAttribution),
  }),
  disks: z.array(
    z.object({
      mount: z.string(),
      fstype: z.string().optional(),
      baseline_used_pct: Num,
      incident_used_pct: Num,
      incident_inodes_pct: Num.nullable(),
      growth_mb: Num,
      largest_files: z.array(z.object({ path: z.string(), size_mb: Num })),
    }),
  ),
  interfaces: z.array(z.object({ iface: z.string(), errors: Num, drops: Num, baseline_errors: Num, baseline_drops: Num })),
  db: z
    .object({
      max_connections: Num,
      baseline_connections: Num,
      incident_connections: Num,
      by_application: z.array(z.object({ application: z.string(), baseline: Num, incident: Num })),
    })
    .nullable(),
  probes: z.array(
    z.object({
      target: z.string(),
      kind: z.enum(['http', 'tcp', 'db']),
      total: Count,
      failed: Count,
      baseline_ok_pct: Num,
      incident_ok_pct: Num,
      baseline_latency_ms: Num.nullable(),
      incident_latency_ms: Num.nullable(),
      errors: z.array(z.object({ error: z.string(), count: Count })),
    }),
  ),
  time_to_detect_s: Num.nullable(),
  recovery_s: Num.nullable(),
  recovery: z
    .object({
      reverted_at: z.string(),
      watched_s: Num,
      samples: Count,
      recovered: z.boolean(),
      recovery_s: Num.nullable(),
      series: z.array(
        z.object({
          key: z.string(),
          label: z.string(),
          state: z.enum(['recovered', 'still_out', 'no_data']),
          back_after_s: Num.nullable(),
          lagging: z.boolean(),
          last: Num.nullable(),
          band: z.object({ lo: Num, hi: Num, basis: z.string() }),
        }),
      ),
    })
    .nullable(),
});

const RiskLevel = z.enum(['low', 'medium', 'high']);

export const FixTestFindingsSchema = z.object({
  syntax_ok: z.boolean(),
  syntax_error: z.string().nullable(),
  risk: RiskLevel,
  findings: z.array(z.object({ rule: z.string(), line: z.number().int(), severity: RiskLevel, message: z.string(), text: z.string() })),
  rollback_plan: z.array(z.string()),
});

export const ReportFindingsSchema = z.object({
  artifacts: z.array(z.string()),
  pdf: z.object({ state: z.enum(['rendered', 'skipped', 'failed']), detail: z.string().optional() }),
  slack: z.object({ state: z.enum(['sent', 'not_configured', 'failed']), detail: z.string().optional() }),
  narrative: z
    .object({ state: z.enum(['written', 'skipped', 'not_configured']), model: z.string().optional(), detail: z.string().optional() })
    .optional(),
});

const SCHEMAS: Record<AgentName, z.ZodType> = {
  LogAgent: LogFindingsSchema,
  MetricsAgent: MetricFindingsSchema,
  FixerAgent: Diagnosis,
  TesterAgent: FixTestFindingsSchema,
  ReporterAgent: ReportFindingsSchema,
};

/** Checks one agent's findings against its contract; the error names the first few bad fields. */
export function validateFindings(agent: AgentName, findings: unknown): { ok: true } | { ok: false; error: string } {
  const parsed = SCHEMAS[agent].safeParse(findings);
  if (parsed.success) return { ok: true };
  const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(findings)'}: ${i.message}`);
  const more = parsed.error.issues.length > 3 ? ` (and ${parsed.error.issues.length - 3} more)` : '';
  return { ok: false, error: `${agent} output failed validation: ${issues.join('; ')}${more}` };
}
