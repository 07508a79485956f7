import type { Findings } from '../agents/findings.js';
import type { IncidentTarget } from '../domain/index.js';
import type { Evidence } from '../evidence/schema.js';
import { RootCauseCategory } from '../domain/index.js';
import { redactHostData, type KnownHostData } from './redact.js';

export type NarrativeInput = {
  evidence: Evidence;
  findings: Partial<Findings>;
  target: IncidentTarget;
};

export type ChatMessage = { role: 'system' | 'user'; content: string };

/** Accounts every Debian host has: they say nothing of whose host it is, and blanking them blanks the prose. */
const SYSTEM_ACCOUNTS = new Set(['root', 'daemon', 'bin', 'sys', 'nobody', 'www-data', 'postgres', 'mysql', 'redis', 'messagebus', 'syslog', 'systemd-network', 'systemd-resolve', 'systemd-timesync', 'sshd', '_apt', 'polkitd', 'prometheus']);

const SUGGESTABLE = RootCauseCategory.options.filter((c) => c !== 'healthy' && c !== 'unknown');

/**
 * The model's instructions: prose only, from the facts given; hypotheses only when the
 * deterministic diagnosis found no known fault.
 */
const SYSTEM_PROMPT = [
  'You write the narrative of an incident postmortem for site reliability engineers.',
  'A deterministic diagnosis has already been made from the evidence; it is final. Explain it in plain prose: what happened, what the evidence shows, what the fix does. Use only the facts given; never invent numbers, names or evidence.',
  'Names in square brackets ([host], [ip], [user], [secret], [url], [home-path]) were redacted; keep them as they are.',
  `Answer with one JSON object and nothing else: {"narrative": "two to four short paragraphs", "hypotheses": [{"category": "...", "rationale": "..."}]}. Give hypotheses only when the diagnosis is "unknown", at most three, category one of: ${SUGGESTABLE.join(', ')}; otherwise give an empty list.`,
].join('\n');

/** Everything the host goes by, so that its names are blanked wherever they appear. */
export function knownHostData(input: NarrativeInput): KnownHostData {
  const { evidence, target } = input;
  const hosts = [evidence.snapshot?.hostname, evidence.inventory?.hostname, evidence.reference?.inventory.hostname, ...(target.kind === 'ssh' ? [target.name, target.host] : [])];
  // "sre-demo@sandbox (10.213.7.2:22)": every word of the host label names the host or its user.
  const label = evidence.host.split(/[\s@():[\],]+/).filter((w) => w && !/^\d+$/.test(w));
  const users = new Set<string>(target.kind === 'ssh' ? [target.user] : []);
  for (const sample of evidence.samples) for (const p of sample.top) if (p.user && !SYSTEM_ACCOUNTS.has(p.user)) users.add(p.user);
  return { hosts: [...hosts.filter((h): h is string => Boolean(h)), ...label], users: [...users].slice(0, 64) };
}

/**
 * The chat request: the deterministic diagnosis and the evidence it cites, summarised, then
 * redacted as a whole (whatever a field holds, nothing of the host leaves unblanked).
 */
export function buildNarrativeRequest(input: NarrativeInput): ChatMessage[] {
  const facts = summarise(input.findings);
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: redactHostData(facts, knownHostData(input)) },
  ];
}

function summarise(findings: Partial<Findings>): string {
  const out: string[] = [];
  const d = findings.FixerAgent;
  if (d) {
    const rc = d.root_cause;
    out.push(`Diagnosis: ${rc.category} (confidence ${rc.confidence.toFixed(2)}).`, `Summary: ${rc.summary}`);
    if (rc.culprit) out.push(`Culprit: ${rc.culprit.kind} ${rc.culprit.name}${rc.culprit.detail ? ` (${rc.culprit.detail})` : ''}.`);
    const cited = (rc.evidence.length ? rc.evidence : d.strongest_evidence).slice(0, 10);
    if (cited.length) out.push('Evidence cited:', ...cited.map((e) => `- ${e.kind} ${e.ref}: ${e.detail}`));
    const others = d.hypotheses.filter((h) => h.category !== rc.category).slice(0, 4);
    if (others.length) out.push(`Other hypotheses weighed: ${others.map((h) => `${h.category} ${h.confidence.toFixed(2)}`).join(', ')}.`);
    if (d.actions.length) out.push('Recommended fix steps:', ...d.actions.slice(0, 6).map((a, i) => `${i + 1}. ${a.description}`));
  } else {
    out.push('Diagnosis: none (the diagnosing agent did not finish).');
  }
  const m = findings.MetricsAgent;
  if (m) {
    const anomalous = m.series.filter((s) => s.anomalous).slice(0, 8);
    if (anomalous.length) {
      out.push('Anomalous metrics (baseline median -> incident median / max):', ...anomalous.map((s) => `- ${s.label}: ${round(s.baseline.median)} -> ${round(s.incident.median)} / ${round(s.incident.max)} ${s.unit}`));
    }
    if (m.time_to_detect_s !== null) out.push(`Detected ${m.time_to_detect_s} s after the fault began.`);
    if (m.recovery) out.push(m.recovery.recovered ? `Recovered ${m.recovery.recovery_s} s after the revert.` : `Not recovered within ${m.recovery.watched_s} s of the revert.`);
  }
  const logs = findings.LogAgent;
  if (logs) {
    if (logs.signatures.length) out.push(`Log failure signatures: ${logs.signatures.slice(0, 6).map((s) => `${s.signature} x${s.count}`).join(', ')}.`);
    const templates = logs.templates.slice(0, 5);
    if (templates.length) out.push('Top new or surging log templates:', ...templates.map((t) => `- [${t.severity}] ${t.template.slice(0, 200)} (${t.is_new ? 'new' : `x${t.rate_ratio}`})`));
  }
  const risk = findings.TesterAgent?.risk;
  if (risk) out.push(`Risk of the fix script: ${risk}.`);
  return out.join('\n');
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
}
