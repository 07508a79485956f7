/**
 * Shapes of the template miner: its options (one default for every kind of log), the templates it
 * reports, and the JSON line the `templates` CLI verb prints for each input line.
 */
import { z } from 'zod';

export const MinerOptions = z
  .object({
    /** Leading tokens used as keys of the parse tree below the token-count layer (Drain's depth − 2). */
    depth: z.number().int().min(1).max(8).default(2),
    /** Share of a template's tokens a message must match to join it. */
    similarity: z.number().min(0).max(1).default(0.7),
    /** Longest run of adjacent differing tokens a line may have with a template it joins. */
    maxDifferenceRun: z.number().int().min(1).default(2),
    /**
     * Distinct words a position must take, over a window of lines, to be a variable; fewer make
     * it a constant that tells events apart (`addBatch` only).
     */
    variableValues: z.number().int().min(2).default(3),
    /** Children per tree node before new keys share the `<*>` child. */
    maxChildren: z.number().int().min(1).default(100),
    /** Clusters kept in memory; the least recently used one is evicted beyond this. */
    maxClusters: z.number().int().min(1).default(5000),
    /** Clusters per tree leaf (bounds the work one line costs). */
    maxClustersPerLeaf: z.number().int().min(1).default(200),
    /** Tokens kept per message: the rest is folded into one trailing `<*>`. */
    maxTokens: z.number().int().min(2).default(128),
    /** Characters of a message that are masked and tokenized. */
    maxMessageLength: z.number().int().min(16).default(4096),
    /** Strip the header (timestamp, level, component…) before mining. */
    stripHeaders: z.boolean().default(true),
  })
  .strict();
export type MinerOptions = z.infer<typeof MinerOptions>;
export type MinerOptionsInput = z.input<typeof MinerOptions>;

export const Template = z.object({
  id: z.string(),
  template: z.string(),
  /** Lines assigned to this template (including the clusters merged into it). */
  count: z.number().int().nonnegative(),
  /** 0-based index of the first line of this template in the stream. */
  firstSeenIndex: z.number().int().nonnegative(),
  /** 0-based index of the last line of this template in the stream. */
  lastSeenIndex: z.number().int().nonnegative(),
});
export type Template = z.infer<typeof Template>;

export const AddResult = z.object({
  templateId: z.string(),
  template: z.string(),
  isNew: z.boolean(),
});
export type AddResult = z.infer<typeof AddResult>;

/** One stdout line of `chaos-handler templates`. */
export const TemplateLine = z
  .object({
    line: z.number().int().positive(),
    template_id: z.string(),
    template: z.string(),
  })
  .strict();
export type TemplateLine = z.infer<typeof TemplateLine>;

export const MinerStats = z.object({
  lines: z.number().int().nonnegative(),
  clusters: z.number().int().nonnegative(),
  created: z.number().int().nonnegative(),
  merged: z.number().int().nonnegative(),
  evicted: z.number().int().nonnegative(),
});
export type MinerStats = z.infer<typeof MinerStats>;
