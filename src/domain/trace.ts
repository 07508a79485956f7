/** One step of an incident as `trace.json` records it (SPEC §5). Ground floor. */
import { z } from 'zod';
import { AgentName } from './incident.js';

export const TraceActor = z.union([AgentName, z.literal('Coordinator')]);
export type TraceActor = z.infer<typeof TraceActor>;

export const TraceEntryType = z.enum(['phase', 'info', 'finding', 'warning', 'error', 'artifact', 'result']);
export type TraceEntryType = z.infer<typeof TraceEntryType>;

/** One line of trace.jsonl / one element of trace.json (SPEC §5). */
export const TraceEntry = z.object({
  timestamp: z.string(),
  agent: TraceActor,
  type: TraceEntryType,
  content: z.unknown(),
});
export type TraceEntry = z.infer<typeof TraceEntry>;
