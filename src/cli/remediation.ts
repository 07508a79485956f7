import { parseArgs } from 'node:util';
import { errorMessage } from '../errors.js';
import type { Remediation } from '../domain/index.js';

type Out = { write(text: string): unknown };

const USAGE = `usage: chaos-handler approve <incident id> --approver NAME [--steps s1,s2] [--url URL]
       chaos-handler reject <incident id> --approver NAME [--reason TEXT] [--url URL]
The coordinator that runs the incident (chaos-handler serve) takes the decision; --url defaults to
http://CHAOS_BIND:CHAOS_PORT (127.0.0.1:8080), with CHAOS_API_TOKEN as the bearer token when set.`;

/**
 * `approve` / `reject`: a person's decision on a running incident's remediation, sent to the
 * coordinator's API (the plan waits inside the process that runs the incident).
 */
export async function decideCommand(verb: 'approve' | 'reject', args: string[], env: Record<string, string | undefined>, stdout: Out, stderr: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { approver: { type: 'string' }, steps: { type: 'string' }, reason: { type: 'string' }, url: { type: 'string' } },
      strict: true,
    });
  } catch (error) {
    stderr.write(`chaos-handler ${verb}: ${errorMessage(error)}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const id = positionals[0];
  if (!id || positionals.length > 1) {
    stderr.write(`chaos-handler ${verb}: give exactly one incident id\n${USAGE}\n`);
    return 2;
  }
  if (!values.approver?.trim()) {
    stderr.write(`chaos-handler ${verb}: --approver NAME is required: the name of the person deciding is recorded\n`);
    return 2;
  }
  if (verb === 'reject' && values.steps) {
    stderr.write('chaos-handler reject: --steps only applies to approve\n');
    return 2;
  }
  const base = values.url ?? `http://${env.CHAOS_BIND ?? '127.0.0.1'}:${env.CHAOS_PORT ?? '8080'}`;
  const body =
    verb === 'approve'
      ? { approver: values.approver, ...(values.steps ? { steps: values.steps.split(',').map((s) => s.trim()).filter(Boolean) } : {}) }
      : { approver: values.approver, ...(values.reason ? { reason: values.reason } : {}) };
  let res: Response;
  try {
    res = await fetch(new URL(`/incidents/${encodeURIComponent(id)}/remediation/${verb}`, base), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(env.CHAOS_API_TOKEN ? { Authorization: `Bearer ${env.CHAOS_API_TOKEN}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    stderr.write(`chaos-handler ${verb}: cannot reach the coordinator at ${base}: ${errorMessage(error)} (is chaos-handler serve running? --url names another)\n`);
    return 1;
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text;
    try {
      const problem = JSON.parse(text) as { detail?: string; title?: string };
      detail = problem.detail ?? problem.title ?? text;
    } catch {
      // not problem+json: the text as it came
    }
    stderr.write(`chaos-handler ${verb}: ${res.status}: ${detail}\n`);
    return res.status === 400 ? 2 : 1;
  }
  const { remediation } = JSON.parse(text) as { remediation: Remediation };
  stdout.write(`${describePlan(remediation)}\n`);
  return 0;
}

/** The plan as the terminal shows it: status, who decided, each step with risk and rollback. */
export function describePlan(plan: Remediation): string {
  const who = plan.approver ? ` by ${plan.approver}` : plan.rejected_by ? ` by ${plan.rejected_by}` : '';
  const lines = [`Remediation ${plan.status}${who}${plan.reason ? `: ${plan.reason}` : ''}`];
  for (const s of plan.steps) {
    lines.push(`  ${s.id} [${s.risk}] ${s.action} ${s.args.join(' ')}: ${s.state}${s.approved ? ' (approved)' : ''}${s.reason ? `; ${s.reason}` : ''}`);
    lines.push(`      ${s.description}`);
    lines.push(`      rollback: ${s.rollback}`);
  }
  return lines.join('\n');
}
