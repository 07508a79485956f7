import type { AnyAgent } from './agent.js';
import { fixerAgent } from './fixer/fixer-agent.js';
import { logAgent } from './log/log-agent.js';
import { metricsAgent } from './metrics/metrics-agent.js';
import { reporterAgent } from './reporter/reporter-agent.js';
import { testerAgent } from './tester/tester-agent.js';

/** The analysis agents, in the order they run; each reads the findings of those before it. */
export const ANALYSIS_AGENTS: readonly AnyAgent[] = [logAgent, metricsAgent, fixerAgent, testerAgent];

/** Runs after the chaos is reverted, so the report can say how the host recovered. */
export const REPORT_AGENT: AnyAgent = reporterAgent;

export const ALL_AGENTS: readonly AnyAgent[] = [...ANALYSIS_AGENTS, REPORT_AGENT];
