/**
 * The self-test switches (SPEC §11, last bullet): faults injected into the coordinator's own
 * agents, so that how the pipeline copes with them is measured rather than assumed.
 */
import { z } from 'zod';
import { AgentName } from '../domain/index.js';

/**
 * crash: the agent throws; delay: it sleeps through half its time budget, then runs; timeout: it
 * hangs past the agent timeout; corrupt: it returns output that fails its schema.
 */
export const SelfTestFaultKind = z.enum(['crash', 'delay', 'timeout', 'corrupt']);
export type SelfTestFaultKind = z.infer<typeof SelfTestFaultKind>;

export const SelfTestFault = z.object({
  /** `*`: every agent. */
  agent: z.union([AgentName, z.literal('*')]),
  kind: SelfTestFaultKind,
  /** Drawn anew on every attempt of the agent, retries included. */
  probability: z.number().min(0).max(1),
});
export type SelfTestFault = z.infer<typeof SelfTestFault>;

/**
 * `CHAOS_SELFTEST_FAULTS`: `Agent:kind:probability` joined by commas, e.g.
 * `FixerAgent:crash:0.3,LogAgent:delay:0.5`. One agent's probabilities may add up to 1 at most:
 * one draw per attempt picks at most one fault.
 */
export const SelfTestFaultList = z.string().transform((text, ctx): SelfTestFault[] => {
  const faults: SelfTestFault[] = [];
  for (const [index, raw] of text.split(',').entries()) {
    const item = raw.trim();
    if (!item) continue;
    const parts = item.split(':').map((p) => p.trim());
    const parsed = parts.length === 3 ? SelfTestFault.safeParse({ agent: parts[0], kind: parts[1], probability: parts[2] === '' ? Number.NaN : Number(parts[2]) }) : null;
    if (!parsed?.success) {
      ctx.addIssue({
        code: 'custom',
        message: `item ${index + 1} (${JSON.stringify(item)}) is not Agent:kind:probability (agent one of ${[...AgentName.options, '*'].join(', ')}; kind one of ${SelfTestFaultKind.options.join(', ')}; probability from 0 to 1)`,
      });
      continue;
    }
    faults.push(parsed.data);
  }
  for (const agent of AgentName.options) {
    const total = faults.filter((f) => f.agent === agent || f.agent === '*').reduce((sum, f) => sum + f.probability, 0);
    if (total > 1 + 1e-9) ctx.addIssue({ code: 'custom', message: `the probabilities of ${agent}'s faults add up to ${Number(total.toFixed(6))}, more than 1` });
  }
  return faults;
});
