import { spawn } from 'node:child_process';
import type { Agent, AgentInput, AgentResult } from '../agent.js';
import type { FixTestFindings } from '../findings.js';
import { errorMessage } from '../../errors.js';
import { assessRisk } from './risk-rules.js';
import { buildFixScript } from '../fixer/actions.js';

/**
 * TesterAgent: dry-runs fix.sh without executing it (`bash -n` parses it, static rules judge
 * each command), rates the risk, and writes the rollback plan into the trace.
 */
export const testerAgent: Agent<'TesterAgent'> = {
  name: 'TesterAgent',
  async run(input: AgentInput): Promise<AgentResult<FixTestFindings>> {
    const diagnosis = input.findings.FixerAgent;
    if (!diagnosis) return { ok: false, error: 'no diagnosis to test: FixerAgent did not succeed', retryable: false };
    try {
      const script = buildFixScript(input.incident.id, diagnosis);
      const syntax = await bashParse(script, input.signal);
      const { risk, findings } = assessRisk(script);
      const result: FixTestFindings = {
        syntax_ok: syntax.ok,
        syntax_error: syntax.error,
        risk: syntax.ok ? risk : 'high',
        findings,
        rollback_plan: diagnosis.actions.map((a, i) => `Step ${i + 1}: ${a.rollback}`),
      };
      await input.trace('result', {
        syntax_ok: result.syntax_ok,
        syntax_error: result.syntax_error,
        risk: result.risk,
        findings: result.findings,
        rollback_plan: result.rollback_plan,
      });
      return { ok: true, findings: result };
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
  },
};

/** `bash -n` on the script from stdin: parses, never runs. */
export function bashParse(script: string, signal: AbortSignal, timeoutMs = 10_000): Promise<{ ok: boolean; error: string | null }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-n'], { stdio: ['pipe', 'ignore', 'pipe'], signal, timeout: timeoutMs });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    child.on('error', (error) => resolve({ ok: false, error: `bash -n could not run: ${error.message}` }));
    child.on('close', (code) => resolve(code === 0 ? { ok: true, error: null } : { ok: false, error: stderr.trim() || `bash -n exited ${code}` }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(script);
  });
}
