import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentResult, AnyAgent } from '../agents/agent.js';
import type { AgentName } from '../domain/index.js';
import type { AgentHook } from '../incidents/pipeline.js';
import { mixSeed, mulberry32 } from './prng.js';
import type { SelfTestFault, SelfTestFaultKind } from './schema.js';

export type SelfTestOptions = {
  faults: SelfTestFault[];
  seed: number;
  /** The agent timeout: a delay fault sleeps through half of it. */
  agentTimeoutMs: number;
};

/** Share of the agent's time budget a delay fault sleeps through before the agent runs. */
const DELAY_SHARE = 0.5;

/** What a corrupted agent returns: well-formed JSON that matches no agent's output contract. */
const CORRUPTED_OUTPUT = { selftest: 'corrupted output', root_cause: 42, series: 'not a list', templates: null };

/**
 * The self-test: wraps each agent of an incident so that, on each attempt, it may suffer one of
 * the configured faults instead of (or, for a delay, before) doing its work. Each incident gets
 * its own generator, seeded from the run's seed and the incident's ordinal, so incidents started
 * one after another draw the same faults on every run with the same seed.
 */
export function createSelfTest(options: SelfTestOptions): AgentHook {
  let incidents = 0;
  return {
    forIncident() {
      const random = mulberry32(mixSeed(options.seed, incidents++));
      const attempts = new Map<AgentName, number>();
      return (agent) => {
        const faults = options.faults.filter((f) => f.agent === agent.name || f.agent === '*');
        if (!faults.length) return agent;
        return withFaults(agent, faults, random, attempts, options.agentTimeoutMs);
      };
    },
  };
}

/** Picks at most one fault with one draw: fault i wins when the draw falls in its slice of [0, 1). */
export function pickFault(faults: SelfTestFault[], draw: number): SelfTestFault | null {
  let edge = 0;
  for (const fault of faults) {
    edge += fault.probability;
    if (draw < edge) return fault;
  }
  return null;
}

function withFaults(agent: AnyAgent, faults: SelfTestFault[], random: () => number, attempts: Map<AgentName, number>, agentTimeoutMs: number): AnyAgent {
  return {
    name: agent.name,
    ...(agent.afterRevert ? { afterRevert: agent.afterRevert } : {}),
    async run(input): Promise<AgentResult<never>> {
      const attempt = (attempts.get(agent.name) ?? 0) + 1;
      attempts.set(agent.name, attempt);
      const fault = pickFault(faults, random());
      if (!fault) return agent.run(input) as Promise<AgentResult<never>>;
      const delayMs = Math.round(agentTimeoutMs * DELAY_SHARE);
      await input.trace('warning', {
        summary: `self-test: ${describe(fault.kind, delayMs)} injected into ${agent.name} (attempt ${attempt}, probability ${fault.probability})`,
        selftest: { fault: fault.kind, agent: agent.name, attempt, probability: fault.probability, injected_at: new Date().toISOString() },
      });
      input.log.warn({ fault: fault.kind, attempt }, 'Self-test fault injected');
      switch (fault.kind) {
        case 'crash':
          throw new Error(`self-test crash injected into ${agent.name}`);
        case 'delay':
          await sleep(delayMs, undefined, { signal: input.signal });
          return agent.run(input) as Promise<AgentResult<never>>;
        case 'timeout':
          // Hangs until the pipeline gives up on it: the agent timeout (or a stop) aborts the signal.
          // Like a real hung call it holds a handle (AbortSignal.timeout alone keeps no process alive).
          return new Promise<never>((_, reject) => {
            if (input.signal.aborted) return reject(input.signal.reason);
            const held = setInterval(() => undefined, 60_000);
            input.signal.addEventListener(
              'abort',
              () => {
                clearInterval(held);
                reject(input.signal.reason);
              },
              { once: true },
            );
          });
        case 'corrupt':
          return { ok: true, findings: CORRUPTED_OUTPUT as never };
      }
    },
  };
}

function describe(kind: SelfTestFaultKind, delayMs: number): string {
  switch (kind) {
    case 'crash':
      return 'a crash';
    case 'delay':
      return `a delay of ${delayMs} ms`;
    case 'timeout':
      return 'a hang past the agent timeout';
    case 'corrupt':
      return 'corrupted output';
  }
}
