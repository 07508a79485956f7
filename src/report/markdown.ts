/**
 * The postmortem as markdown: a pure function of the incident, its trace and the agents'
 * findings. Host text (log lines, process names, paths) is attacker-controlled: it only ever
 * lands in code spans/blocks or escaped table cells, and the HTML renderer escapes raw HTML too.
 */
import type { Findings, RecoveryFindings, SeriesFinding } from '../agents/findings.js';
import type { IncidentRecord, TraceEntry } from '../domain/index.js';
import { referenceLabel, type KnownGoodReference } from '../evidence/reference.js';
import type { Window } from '../evidence/schema.js';
import { visible, visibleLine } from '../evidence/sanitize.js';
import { timingsLine, timingsSection } from './timings-section.js';
import type { Narrative } from '../narrative/schema.js';
import { missingParts } from './missing.js';

export type ReportChart = { key: string; title: string; file: string };

export type ReportInput = {
  incident: Pick<IncidentRecord, 'id' | 'created_at' | 'chaos' | 'agents' | 'target' | 'timings' | 'trigger' | 'detected_at' | 'alert'> & { remediation?: IncidentRecord['remediation'] };
  host: string;
  source: 'offline' | 'ssh';
  windows: { baseline: Window; incident: Window; recovery?: Window | undefined };
  /** The known-good reference the diagnosis compared the host with; null when none was recorded. */
  reference: KnownGoodReference | null;
  trace: TraceEntry[];
  findings: Partial<Findings>;
  charts: ReportChart[];
  now: Date;
  /** Prose by a language model on top of the diagnosis (optional; see src/narrative/). */
  narrative?: Narrative | null;
};

const CATEGORY_TITLE: Record<string, string> = {
  cpu_saturation: 'CPU saturation',
  memory_pressure: 'Memory pressure',
  disk_full: 'Disk full',
  network_degradation: 'Network degradation',
  service_down: 'Service down',
  db_connection_exhaustion: 'Database connection exhaustion',
  resource_limit: 'Resource limit reached',
  healthy: 'Healthy: no fault found',
  unknown: 'Unknown: no known fault fits',
};

/** Which normal the host was judged against, and how old it is (SPEC §9). */
function referenceCell(input: ReportInput): string {
  const r = input.reference;
  if (!r) return 'no known-good reference recorded for this host: judged on absolute limits and the run\'s own baseline window (`chaos-handler baseline <target>` records one)';
  const ports = new Set(r.inventory.listeners.filter((l) => l.proto === 'tcp').map((l) => l.port)).size;
  // Built from the reference's own time and source (no host text): safe in a table cell as it is.
  return `${referenceLabel(r, input.windows.incident.end)}: ${ports} listening ports, ${r.inventory.services.length} services, ${r.probes.length} probes, ${r.log_templates.length} log templates${r.incident_id ? `, from incident ${code(r.incident_id)}` : ''}`;
}

/** Who opened the incident when no person did: the alert (and its runbook) or watch mode. */
function originRows(incident: Pick<IncidentRecord, 'trigger' | 'detected_at' | 'alert'>): string[] {
  const rows: string[] = [];
  const a = incident.alert;
  if (incident.trigger === 'alert' && a) {
    rows.push(`| Opened by | alert ${code(a.name)} (fingerprint ${code(a.fingerprint)}), firing since ${a.fired_at ?? 'unknown'}${a.resolved_at ? `, resolved ${a.resolved_at}` : ''} |`);
    // The annotation is the alert rule author's text: shown as code, never as a live link.
    rows.push(`| Runbook | ${a.runbook_url ? code(a.runbook_url) : 'none in the alert (annotation runbook_url)'} |`);
  }
  if (incident.trigger === 'watch') rows.push(`| Opened by | watch mode: the host left its known-good band; detected ${incident.detected_at ?? 'at an unknown time'} |`);
  return rows;
}

export function categoryTitle(category: string): string {
  return CATEGORY_TITLE[category] ?? category;
}

export function buildReportMarkdown(input: ReportInput): string {
  const { incident, findings } = input;
  const diagnosis = findings.FixerAgent;
  const out: string[] = [];
  const title = diagnosis ? categoryTitle(diagnosis.root_cause.category) : 'Diagnosis unavailable';
  out.push(`# Incident ${incident.id}: ${cell(title)}`, '');
  out.push('| | |', '|---|---|');
  out.push(`| Host | ${code(input.host)} |`);
  out.push(`| Evidence | ${input.source === 'offline' ? 'recorded bundle (offline replay)' : 'live host over SSH'} |`);
  out.push(`| Baseline window | ${input.windows.baseline.start} → ${input.windows.baseline.end} |`);
  out.push(`| Incident window | ${input.windows.incident.start} → ${input.windows.incident.end} |`);
  if (input.windows.recovery) out.push(`| Recovery watch | ${input.windows.recovery.start} → ${input.windows.recovery.end} |`);
  out.push(`| Incident opened | ${incident.created_at} |`);
  out.push(...originRows(incident));
  out.push(`| Report written | ${input.now.toISOString()} |`);
  out.push(`| Chaos | ${cell(incident.chaos.state.replaceAll('_', ' '))}${incident.chaos.detail ? `: ${cell(incident.chaos.detail)}` : ''} |`);
  out.push(`| Compared with | ${referenceCell(input)} |`);
  out.push('');
  out.push(...partialSection(incident.agents));

  out.push('## Summary', '');
  if (diagnosis) {
    const rc = diagnosis.root_cause;
    out.push(`**${cell(title)}** with confidence **${rc.confidence.toFixed(2)}**.`, '');
    out.push(plain(rc.summary), '');
    if (rc.culprit) {
      const where = [rc.culprit.pid ? `pid ${rc.culprit.pid}` : null, rc.culprit.port ? `port ${rc.culprit.port}` : null, rc.culprit.exe ? `executable ${code(rc.culprit.exe)}` : null].filter(Boolean).join(', ');
      out.push(`**Culprit:** ${rc.culprit.kind.replace('_', ' ')} ${code(rc.culprit.name)}${where ? ` (${where})` : ''}${rc.culprit.detail ? `: ${plain(rc.culprit.detail)}` : ''}`, '');
    }
    const m = findings.MetricsAgent;
    if (m && (m.time_to_detect_s !== null || m.recovery !== null)) {
      out.push(`Time to detect: **${m.time_to_detect_s === null ? 'n/a' : `${m.time_to_detect_s} s`}** after the fault began. ${recoverySentence(m.recovery)}`, '');
    }
  } else {
    out.push('The FixerAgent did not produce a diagnosis; see the agents table and the timeline below.', '');
  }

  if (input.narrative) out.push(...narrativeSection(input.narrative));

  out.push(...timingsSection(incident.timings));
  out.push(...remediationSection(incident.remediation ?? null));

  if (diagnosis) {
    out.push('## Root cause and evidence', '');
    const rc = diagnosis.root_cause;
    const cited = rc.evidence.length ? rc.evidence : diagnosis.strongest_evidence;
    if (cited.length) {
      for (const e of cited) out.push(`- **${e.kind}** ${code(e.ref)}: ${plain(e.detail)}`);
      out.push('');
    }
    if (rc.culprit?.files?.length) {
      out.push('Largest files on the culprit mount:', '', '| File | Size (MB) |', '|---|---:|');
      for (const f of rc.culprit.files) out.push(`| ${code(f.path)} | ${f.size_mb} |`);
      out.push('');
    }
    if (diagnosis.hypotheses.length) {
      out.push('Hypotheses considered (confidence from the evidence each one rests on):', '', '| Category | Confidence | Culprit | Evidence |', '|---|---:|---|---:|');
      for (const h of diagnosis.hypotheses) {
        out.push(`| ${categoryTitle(h.category)} | ${h.confidence.toFixed(2)} | ${h.culprit ? code(h.culprit.name) : '—'} | ${h.evidence.length} |`);
      }
      out.push('');
    }
  }

  const metrics = findings.MetricsAgent;
  if (metrics) {
    out.push('## Metrics: baseline vs incident', '');
    out.push('| Metric | Baseline median | Baseline band | Incident median | Incident max | z (mean) | Flag |', '|---|---:|---:|---:|---:|---:|---|');
    for (const s of sortSeries(metrics.series)) {
      out.push(
        `| ${cell(s.label)} | ${fmt(s.baseline.median, s.unit)} | ${fmt(s.baseline.lo, '')} – ${fmt(s.baseline.hi, '')} | ${fmt(s.incident.median, s.unit)} | ${fmt(s.incident.max, s.unit)} | ${s.mean_z.toFixed(1)} | ${s.anomalous ? `**${s.windows.map((w) => w.severity).join(', ')}**` : '—'} |`,
      );
    }
    out.push('');
    if (metrics.recovery) {
      const r = metrics.recovery;
      out.push(`After the revert (watched ${r.watched_s} s, ${r.samples} samples), each anomalous metric against its normal band (its baseline band, widened to the metric's everyday noise and the known-good reference):`, '');
      out.push('| Metric | Normal band | Set by | Last value | Back in band after |', '|---|---:|---|---:|---|');
      for (const x of r.series) {
        const back = x.state === 'recovered' ? `${x.back_after_s} s` : x.state === 'no_data' ? 'no samples' : `not yet${x.lagging ? ' (lags by design)' : ''}`;
        out.push(`| ${cell(x.label)} | ${fmt(x.band.lo, '')} – ${fmt(x.band.hi, '')} | ${cell(x.band.basis)} | ${x.last === null ? '—' : fmt(x.last, '')} | ${back} |`);
      }
      out.push('');
    }
    for (const chart of input.charts) out.push(`![${cell(chart.title)}](${chart.file})`, '');
    const procs = metrics.processes.by_cpu.filter((p) => p.incident_cpu_pct > 1).slice(0, 5);
    if (procs.length) {
      out.push('Top processes by CPU in the incident window:', '', '| PID | Process | CPU baseline % | CPU incident % | RSS incident (MB) |', '|---:|---|---:|---:|---:|');
      for (const p of procs) out.push(`| ${p.pid} | ${code(p.comm)} | ${p.baseline_cpu_pct} | ${p.incident_cpu_pct} | ${p.incident_rss_mb} |`);
      out.push('');
    }
    const growers = metrics.processes.by_rss_growth.slice(0, 3);
    if (growers.length) {
      out.push('Largest memory growth:', '', '| PID | Process | RSS baseline (MB) | RSS incident (MB) | Growth (MB) |', '|---:|---|---:|---:|---:|');
      for (const p of growers) out.push(`| ${p.pid} | ${code(p.comm)} | ${p.baseline_rss_mb} | ${p.incident_rss_mb} | ${p.rss_growth_mb} |`);
      out.push('');
    }
    if (metrics.probes.length) {
      out.push('Health probes:', '', '| Probe | OK baseline | OK incident | Latency baseline | Latency incident | Top error |', '|---|---:|---:|---:|---:|---|');
      for (const p of metrics.probes) {
        out.push(`| ${cell(p.target)} | ${p.baseline_ok_pct}% | ${p.incident_ok_pct}% | ${p.baseline_latency_ms ?? '—'} ms | ${p.incident_latency_ms ?? '—'} ms | ${p.errors[0] ? code(p.errors[0].error) : '—'} |`);
      }
      out.push('');
    }
    if (metrics.db) {
      const apps = metrics.db.by_application.slice(0, 5);
      out.push(`Database connections: ${metrics.db.baseline_connections} in the baseline, up to ${metrics.db.incident_connections} of ${metrics.db.max_connections} in the incident.`, '');
      if (apps.length) {
        out.push('| Application | Baseline | Incident |', '|---|---:|---:|');
        for (const a of apps) out.push(`| ${code(a.application || '(none)')} | ${a.baseline} | ${a.incident} |`);
        out.push('');
      }
    }
  }

  const logs = findings.LogAgent;
  if (logs) {
    out.push('## Logs', '');
    out.push(`${logs.total_lines} lines from ${logs.streams.length} streams (${logs.streams.map((s) => `${s.name}: ${s.baseline_lines} baseline / ${s.incident_lines} incident`).join('; ') || 'none'}), ${logs.total_templates} templates.`, '');
    if (logs.signatures.length) {
      out.push('Failure signatures in the incident window:', '', '| Signature | Lines | First seen | Last seen |', '|---|---:|---|---|');
      for (const s of logs.signatures) out.push(`| ${s.signature.replaceAll('_', ' ')} | ${s.count} | ${s.first_seen ?? '—'} | ${s.last_seen ?? '—'} |`);
      out.push('');
    }
    if (logs.templates.length) {
      out.push('Top new or surging templates:', '', '| Template | Stream | Severity | Baseline | Incident | Change |', '|---|---|---|---:|---:|---|');
      for (const t of logs.templates.slice(0, 10)) {
        out.push(`| ${code(t.template.slice(0, 160))} | ${cell(t.stream)} | ${t.severity} | ${t.baseline_count} | ${t.incident_count} | ${t.is_new ? 'new' : `×${t.rate_ratio}`} |`);
      }
      out.push('', 'Evidence excerpts (one line per top template):', '');
      out.push(codeBlock(logs.templates.slice(0, 8).map((t) => `[${t.stream}] ${t.example}`).join('\n')), '');
    } else {
      out.push('No log template was new or surging in the incident window.', '');
    }
  }

  if (diagnosis) {
    out.push('## Recommended fix', '');
    if (diagnosis.actions.length) {
      diagnosis.actions.forEach((a, i) => out.push(`${i + 1}. ${plain(a.description)}`));
      out.push('', '`fix.sh` (for human review; Chaos-Handler never runs it):', '');
      out.push(codeBlock(diagnosis.actions.map((a) => a.command).join('\n\n'), 'bash'), '');
    } else {
      out.push('Nothing to fix.', '');
    }
  }

  const test = findings.TesterAgent;
  if (test) {
    out.push('## Risk and rollback', '');
    out.push(`Risk of the fix: **${test.risk}**. Syntax check (\`bash -n\`): ${test.syntax_ok ? 'passed' : `failed: ${code(test.syntax_error ?? '')}`}.`, '');
    if (test.findings.length) {
      out.push('| Line | Rule | Severity | Why |', '|---:|---|---|---|');
      for (const f of test.findings) out.push(`| ${f.line} | ${f.rule} | ${f.severity} | ${cell(f.message)} |`);
      out.push('');
    }
    if (test.rollback_plan.length) {
      out.push('Rollback plan:', '');
      for (const r of test.rollback_plan) out.push(`- ${plain(r)}`);
      out.push('');
    }
  }

  out.push('## Timeline', '');
  const t0 = Date.parse(input.trace[0]?.timestamp ?? incident.created_at);
  out.push('| +s | Actor | Type | What |', '|---:|---|---|---|');
  for (const e of input.trace) {
    out.push(`| ${((Date.parse(e.timestamp) - t0) / 1000).toFixed(1)} | ${e.agent} | ${e.type} | ${cell(traceSummary(e).slice(0, 220))} |`);
  }
  out.push('');

  out.push('## Agents', '', '| Agent | State | Duration | Error |', '|---|---|---:|---|');
  for (const a of incident.agents) out.push(`| ${a.name} | ${a.state} | ${a.duration_ms === null ? '—' : `${a.duration_ms} ms`} | ${a.error ? cell(a.error) : '—'} |`);
  out.push('', '---', '', '_Generated by Chaos-Handler. Chaos experiments belong on disposable hosts: never run them against production._', '');
  return out.join('\n');
}

export function buildSlackSummary(input: { incidentId: string; host: string; findings: Partial<Findings>; reportPath: string; timings?: IncidentRecord['timings'] }): string {
  const d = input.findings.FixerAgent;
  const risk = input.findings.TesterAgent?.risk;
  const lines = [
    `:rotating_light: Incident ${input.incidentId} on ${oneLine(input.host)}`,
    d ? `Diagnosis: ${categoryTitle(d.root_cause.category)} (confidence ${d.root_cause.confidence.toFixed(2)})` : 'Diagnosis: unavailable',
  ];
  if (d?.root_cause.culprit) lines.push(`Culprit: ${d.root_cause.culprit.kind.replace('_', ' ')} ${oneLine(d.root_cause.culprit.name)}${d.root_cause.culprit.pid ? ` (pid ${d.root_cause.culprit.pid})` : ''}`);
  if (d?.actions[0]) lines.push(`Suggested fix: ${oneLine(d.actions[0].description)}${risk ? ` (risk ${risk})` : ''}`);
  const m = input.findings.MetricsAgent;
  if (m?.time_to_detect_s != null) lines.push(`Detected ${m.time_to_detect_s} s after the fault began`);
  if (m?.recovery) lines.push(m.recovery.recovered ? `Recovered ${m.recovery.recovery_s} s after the revert` : `Not recovered within ${m.recovery.watched_s} s of the revert`);
  const timed = timingsLine(input.timings);
  if (timed) lines.push(timed);
  lines.push(`Report: ${input.reportPath}`);
  return `${lines.join('\n')}\n`;
}

/** A one-line description of a trace entry, for the timeline. */
export function traceSummary(entry: TraceEntry): string {
  const c = entry.content;
  if (typeof c === 'string') return oneLine(c);
  if (c && typeof c === 'object') {
    const o = c as Record<string, unknown>;
    if (typeof o.summary === 'string') return oneLine(o.summary);
    if (typeof o.message === 'string') return oneLine(o.message);
    if (typeof o.phase === 'string') return `phase ${o.phase}${typeof o.detail === 'string' ? `: ${oneLine(o.detail)}` : ''}`;
    if (typeof o.category === 'string') return `diagnosis ${o.category}${typeof o.confidence === 'number' ? ` (${o.confidence})` : ''}`;
    if (typeof o.risk === 'string') return `fix risk ${o.risk}`;
  }
  return oneLine(JSON.stringify(c) ?? '');
}

function sortSeries(series: SeriesFinding[]): SeriesFinding[] {
  return [...series].sort((a, b) => Number(b.anomalous) - Number(a.anomalous));
}

function fmt(v: number, unit: string): string {
  const text = Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
  return unit && unit !== '0/1' ? `${text} ${unit}` : text;
}

/**
 * Host text on one line, as a person must see it: newlines become spaces and every other control
 * or bidi character a visible escape (a process named `\e[1A` cannot rewrite what is shown).
 */
function oneLine(text: string): string {
  return visibleLine(text.replace(/[\r\n]+/g, ' ').trim());
}

/**
 * "Partial report": each agent that did not succeed, why, and what the report lacks because of
 * it. Empty when every agent that ran succeeded.
 */
export function partialSection(agents: IncidentRecord['agents']): string[] {
  const missing = missingParts(agents);
  if (!missing.length) return [];
  const out = ['## Partial report', '', `${missing.length === 1 ? 'One agent' : `${missing.length} agents`} did not succeed; this report is incomplete.`, ''];
  out.push('| Agent | State | Attempts | Why | Missing from this report |', '|---|---|---:|---|---|');
  for (const m of missing) out.push(`| ${m.agent} | ${m.state.replace('_', ' ')} | ${m.attempts} | ${m.error ? cell(m.error) : '—'} | ${cell(m.missing)} |`);
  out.push('');
  return out;
}

/** The model's prose, marked as such: escaped like any untrusted text, never taken as evidence. */
function narrativeSection(n: Narrative): string[] {
  const out = ['## Narrative (written by a language model)', ''];
  out.push(`_Written by the model ${code(n.model)} from a redacted summary of the deterministic diagnosis; it adds no evidence, and the diagnosis in this report stands as found._`, '');
  for (const paragraph of n.text.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean)) out.push(cell(paragraph), '');
  if (n.hypotheses.length) {
    out.push('Further hypotheses suggested by the model (not checked against the evidence):', '', '| Category | Why the model suggests it |', '|---|---|');
    for (const h of n.hypotheses) out.push(`| ${categoryTitle(h.category)} (model's suggestion) | ${cell(h.rationale)} |`);
    out.push('');
  }
  return out;
}

/** Text for a table cell: one line, pipes and markdown punctuation escaped. */
/** What the closed loop did (SPEC §10): who approved which step, what ran, what the verification saw. */
function remediationSection(plan: NonNullable<IncidentRecord['remediation']> | null): string[] {
  if (!plan) return [];
  const who = plan.approver ? `, approved by ${cell(plan.approver)} at ${plan.approved_at}` : plan.rejected_by ? `, rejected by ${cell(plan.rejected_by)}` : '';
  const out = ['## Remediation', '', `Status: **${plan.status.replaceAll('_', ' ')}**${who}${plan.reason ? `. ${plain(plan.reason)}` : ''}`, ''];
  out.push('| Step | Risk | Action | State | Rollback |', '|---|---|---|---|---|');
  for (const s of plan.steps) out.push(`| ${s.id} | ${s.risk} | ${cell(s.description)} | ${s.state.replaceAll('_', ' ')}${s.reason ? `: ${cell(s.reason)}` : ''} | ${cell(s.rollback)} |`);
  out.push('');
  for (const s of plan.steps.filter((x) => x.output_tail)) out.push(`Output of ${s.id} (${s.action}):`, '', codeBlock(s.output_tail), '');
  if (plan.verification) {
    out.push(`Verification (within ${plan.verify_s} s of the fix): **${plan.verification.ok ? 'passed' : 'failed'}**`, '');
    for (const c of plan.verification.checks) out.push(`- ${c.ok ? 'ok' : '**failed**'} ${cell(c.name)}: ${plain(c.detail)}`);
    out.push('');
  }
  if (plan.chaos_cleanup) out.push(`Chaos cleanup after the fix: ${plan.chaos_cleanup.ran ? "the chaos script's stop ran" : "nothing left; the chaos script's stop never ran"} (${plain(plan.chaos_cleanup.detail)})`, '');
  return out;
}

export function cell(text: string): string {
  return oneLine(text).replace(/([\\`*_{}[\]()#+!|<>~])/g, '\\$1');
}

/** Running prose from the host or from rules: escaped like a cell. */
function plain(text: string): string {
  return cell(text);
}

/** An inline code span that holds any text, including backticks and pipes, on one line. */
export function code(text: string): string {
  const t = oneLine(text).replaceAll('|', '¦');
  const longest = Math.max(0, ...[...t.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

/** A fenced block that no content can close early, its control characters shown as escapes. */
function codeBlock(text: string, lang = ''): string {
  const body = visible(text);
  const longest = Math.max(2, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${body}\n${fence}`;
}

/** The recovery half of the summary line: when the host was back inside its normal band. */
function recoverySentence(r: RecoveryFindings | null): string {
  if (!r) return 'Recovery: **n/a** (no samples after the revert).';
  if (r.recovered) return `Recovery: **${r.recovery_s} s** after the revert, every anomalous metric back inside its normal band.`;
  const out = r.series.filter((x) => !x.lagging && x.state !== 'recovered').map((x) => x.label);
  return `Recovery: **not within ${r.watched_s} s** of the revert (${cell(out.join(', '))} still outside its normal band).`;
}
