import type { AgentInput, AnyAgent } from '../../../src/agents/agent.js';
import { loadConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/logger.js';
import { createSelfTest, pickFault } from '../../../src/selftest/fault-injector.js';
import { mulberry32 } from '../../../src/selftest/prng.js';
import type { SelfTestFault } from '../../../src/selftest/schema.js';

/** An agent that only counts its runs; its findings are not looked at here. */
function countingAgent(): AnyAgent & { runs: number } {
  const agent = {
    name: 'FixerAgent' as const,
    runs: 0,
    async run() {
      agent.runs += 1;
      return { ok: true as const, findings: {} as never };
    },
  };
  return agent;
}

function fakeInput(signal: AbortSignal = new AbortController().signal): AgentInput & { traced: unknown[] } {
  const traced: unknown[] = [];
  return { traced, trace: async (_type: string, content: unknown) => void traced.push(content), log: createLogger('silent'), signal } as unknown as AgentInput & { traced: unknown[] };
}

describe('CHAOS_SELFTEST_FAULTS', () => {
  it('when faults are listed as Agent:kind:probability, then each is parsed, with the seed', () => {
    const c = loadConfig({ CHAOS_SELFTEST_FAULTS: 'FixerAgent:crash:0.3, LogAgent:delay:0.5,*:corrupt:0.1', CHAOS_SELFTEST_SEED: '42' });
    expect(c.CHAOS_SELFTEST_FAULTS).toEqual([
      { agent: 'FixerAgent', kind: 'crash', probability: 0.3 },
      { agent: 'LogAgent', kind: 'delay', probability: 0.5 },
      { agent: '*', kind: 'corrupt', probability: 0.1 },
    ]);
    expect(c.CHAOS_SELFTEST_SEED).toBe(42);
  });

  it('when nothing is set, then no fault is injected and the seed defaults to 1', () => {
    const c = loadConfig({});
    expect(c.CHAOS_SELFTEST_FAULTS).toBeUndefined();
    expect(c.CHAOS_SELFTEST_SEED).toBe(1);
  });

  it('when an item is malformed, then start-up fails naming the item and what is allowed', () => {
    expect(() => loadConfig({ CHAOS_SELFTEST_FAULTS: 'FixerAgent:explode:0.3' })).toThrow(/CHAOS_SELFTEST_FAULTS: item 1 \("FixerAgent:explode:0.3"\) is not Agent:kind:probability.*crash, delay, timeout, corrupt/);
    expect(() => loadConfig({ CHAOS_SELFTEST_FAULTS: 'LogAgent:crash:0.1,Nobody:crash:0.1' })).toThrow(/item 2 \("Nobody:crash:0.1"\)/);
    expect(() => loadConfig({ CHAOS_SELFTEST_FAULTS: 'LogAgent:crash:1.5' })).toThrow(/probability from 0 to 1/);
    expect(() => loadConfig({ CHAOS_SELFTEST_FAULTS: 'LogAgent:crash' })).toThrow(/item 1/);
  });

  it("when one agent's probabilities add up to more than 1, then start-up fails naming the agent", () => {
    expect(() => loadConfig({ CHAOS_SELFTEST_FAULTS: 'LogAgent:crash:0.6,*:delay:0.5' })).toThrow(/LogAgent's faults add up to 1.1/);
  });

  it('when the retry settings are unset, then an agent is retried twice after 250 ms, doubling', () => {
    expect(loadConfig({})).toMatchObject({ CHAOS_AGENT_RETRIES: 2, CHAOS_AGENT_RETRY_BACKOFF_MS: 250 });
    expect(() => loadConfig({ CHAOS_AGENT_RETRIES: '9' })).toThrow(/CHAOS_AGENT_RETRIES/);
  });
});

describe('pickFault', () => {
  const faults: SelfTestFault[] = [
    { agent: 'LogAgent', kind: 'crash', probability: 0.2 },
    { agent: 'LogAgent', kind: 'delay', probability: 0.3 },
  ];
  it('when the draw falls in a fault’s slice of [0, 1), then that fault is picked, else none', () => {
    expect(pickFault(faults, 0)?.kind).toBe('crash');
    expect(pickFault(faults, 0.1999)?.kind).toBe('crash');
    expect(pickFault(faults, 0.2)?.kind).toBe('delay');
    expect(pickFault(faults, 0.4999)?.kind).toBe('delay');
    expect(pickFault(faults, 0.5)).toBeNull();
  });

  it('when a probability is 0, then that fault is never picked', () => {
    expect(pickFault([{ agent: '*', kind: 'crash', probability: 0 }], 0)).toBeNull();
  });
});

describe('the self-test generator', () => {
  it('when seeded alike, then it draws alike; another seed draws otherwise, and every draw is in [0, 1)', () => {
    const a = Array.from({ length: 200 }, mulberry32(7));
    const b = Array.from({ length: 200 }, mulberry32(7));
    const c = Array.from({ length: 200 }, mulberry32(8));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.every((x) => x >= 0 && x < 1)).toBe(true);
    // Roughly uniform: a fault of probability 0.3 hits about 30 % of 200 attempts.
    const hits = a.filter((x) => x < 0.3).length;
    expect(hits).toBeGreaterThan(40);
    expect(hits).toBeLessThan(80);
  });

  it('when two runs start incidents one after another with the same seed, then the same attempts fail', async () => {
    const run = async (seed: number) => {
      const hook = createSelfTest({ faults: [{ agent: 'FixerAgent', kind: 'crash', probability: 0.5 }], seed, agentTimeoutMs: 1000 });
      const outcomes: string[] = [];
      for (let incident = 0; incident < 5; incident++) {
        const agent = hook.forIncident()(countingAgent());
        for (let attempt = 0; attempt < 4; attempt++) outcomes.push(await agent.run(fakeInput()).then(() => 'ok', () => 'crash'));
      }
      return outcomes.join(',');
    };
    expect(await run(3)).toBe(await run(3));
    expect(await run(3)).not.toBe(await run(4));
  });
});

describe('the injected faults', () => {
  const hit = (kind: SelfTestFault['kind']) => createSelfTest({ faults: [{ agent: 'FixerAgent', kind, probability: 1 }], seed: 1, agentTimeoutMs: 1000 }).forIncident();

  it('when an agent has no fault configured, then it is handed back as it is', () => {
    const agent = countingAgent();
    const wrap = createSelfTest({ faults: [{ agent: 'LogAgent', kind: 'crash', probability: 1 }], seed: 1, agentTimeoutMs: 1000 }).forIncident();
    expect(wrap(agent)).toBe(agent);
  });

  it('when a crash is drawn, then the agent throws without running and the injection is traced', async () => {
    const agent = countingAgent();
    const input = fakeInput();
    await expect(hit('crash')(agent).run(input)).rejects.toThrow('self-test crash injected into FixerAgent');
    expect(agent.runs).toBe(0);
    expect(input.traced).toEqual([expect.objectContaining({ summary: expect.stringContaining('a crash injected into FixerAgent (attempt 1, probability 1)'), selftest: expect.objectContaining({ fault: 'crash', agent: 'FixerAgent', attempt: 1 }) })]);
  });

  it('when a delay is drawn, then the agent runs after half its time budget', async () => {
    const agent = countingAgent();
    const started = performance.now();
    await expect(hit('delay')(agent).run(fakeInput())).resolves.toMatchObject({ ok: true });
    expect(performance.now() - started).toBeGreaterThanOrEqual(490);
    expect(agent.runs).toBe(1);
  });

  it('when a timeout is drawn, then the agent hangs until its signal aborts, and ends with the abort', async () => {
    const controller = new AbortController();
    const running = hit('timeout')(countingAgent()).run(fakeInput(controller.signal));
    let settled = false;
    void running.catch(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    controller.abort(new Error('agent timeout'));
    await expect(running).rejects.toThrow('agent timeout');
  });

  it('when corrupted output is drawn, then the agent reports success with findings that are not its own', async () => {
    const agent = countingAgent();
    const result = await hit('corrupt')(agent).run(fakeInput());
    expect(result).toMatchObject({ ok: true, findings: { selftest: 'corrupted output' } });
    expect(agent.runs).toBe(0);
  });
});
