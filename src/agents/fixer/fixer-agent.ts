import type { Agent, AgentInput, AgentResult } from '../agent.js';
import type { Diagnosis } from '../findings.js';
import { errorMessage } from '../../errors.js';
import { buildFixScript } from './actions.js';
import { diagnose } from './diagnose.js';

/** FixerAgent: names the root cause from the evidence and writes fix.sh for a human to review. */
export const fixerAgent: Agent<'FixerAgent'> = {
  name: 'FixerAgent',
  async run(input: AgentInput): Promise<AgentResult<Diagnosis>> {
    try {
      const diagnosis = diagnose(input.evidence, input.findings.LogAgent, input.findings.MetricsAgent);
      await input.artifacts.write('fix_suggestion.json', `${JSON.stringify(diagnosis, null, 2)}\n`);
      await input.artifacts.write('fix.sh', buildFixScript(input.incident.id, diagnosis));
      await input.trace('result', {
        category: diagnosis.root_cause.category,
        culprit: diagnosis.root_cause.culprit,
        confidence: diagnosis.root_cause.confidence,
        summary: diagnosis.root_cause.summary,
        evidence: diagnosis.root_cause.evidence,
        runner_up: diagnosis.hypotheses[1] ? { category: diagnosis.hypotheses[1].category, confidence: diagnosis.hypotheses[1].confidence } : null,
      });
      return { ok: true, findings: diagnosis };
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
  },
};
