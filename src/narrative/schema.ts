import { z } from 'zod';
import { RootCauseCategory } from '../domain/index.js';

/** A hypothesis the model suggests for an `unknown` diagnosis: marked as the model's wherever shown. */
export const ModelHypothesis = z.object({
  category: RootCauseCategory.exclude(['healthy', 'unknown']),
  rationale: z.string().min(1).max(600),
});
export type ModelHypothesis = z.infer<typeof ModelHypothesis>;

/** What the model is asked to answer with (a JSON object in its message). */
export const ModelReply = z.object({
  narrative: z.string().min(1).max(8000),
  hypotheses: z.array(ModelHypothesis).max(5).optional(),
});
export type ModelReply = z.infer<typeof ModelReply>;

/** The narrative as the report shows it, with the model that wrote it. */
export type Narrative = { model: string; text: string; hypotheses: ModelHypothesis[] };

/** The settings of the narrative, from CHAOS_LLM_* (off when no URL is set). */
export type NarrativeConfig = { url: string; model: string; apiKey: string | null; timeoutMs: number };
