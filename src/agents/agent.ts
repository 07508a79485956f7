import type { Logger } from '../logger.js';
import type { Evidence } from '../evidence/schema.js';
import type { AgentName, IncidentRecord, TraceEntry, TraceEntryType } from '../domain/index.js';
import type { Findings } from './findings.js';
import type { Narrator } from '../narrative/narrator.js';

/** What an agent may write: artifacts by name, through the store (the only writer). */
export interface ArtifactSink {
  write(name: string, data: string | Uint8Array): Promise<string>;
}

/** Optional collaborators; an agent must cope with their absence. */
export type PdfDocument = {
  title: string;
  markdown: string;
  /** Our own chart SVGs, keyed by the file name the markdown links to (artifacts/…svg). */
  images: Record<string, string>;
};

export type AgentServices = {
  renderPdf?: (doc: PdfDocument) => Promise<Uint8Array>;
  /** Why there is no PDF renderer, when there is none (traced by the ReporterAgent). */
  pdfUnavailableReason?: string;
  postSlack?: (text: string) => Promise<void>;
  /** Prose by a language model on top of the diagnosis (CHAOS_LLM_*); absent when none is configured. */
  narrator?: Narrator;
};

export type AgentInput = {
  evidence: Evidence;
  /** Findings of the agents that ran before (and succeeded). */
  findings: Partial<Findings>;
  /** What the report header needs: id, timestamps, chaos state. Never used for diagnosis. */
  incident: Pick<IncidentRecord, 'id' | 'created_at' | 'chaos' | 'agents' | 'target' | 'timings' | 'trigger' | 'detected_at' | 'alert'>;
  trace: (type: TraceEntryType, content: unknown) => Promise<void>;
  /** The trace so far (the ReporterAgent's timeline). */
  readTrace: () => Promise<TraceEntry[]>;
  artifacts: ArtifactSink;
  services: AgentServices;
  log: Logger;
  signal: AbortSignal;
};

/** `retryable: false`: trying again cannot help (an input it needs is missing); the pipeline then does not retry. */
export type AgentResult<T> = { ok: true; findings: T } | { ok: false; error: string; retryable?: boolean };

export interface Agent<N extends AgentName = AgentName> {
  readonly name: N;
  run(input: AgentInput): Promise<AgentResult<Findings[N]>>;
  /**
   * A second look once the fault is reverted: the pipeline watches the host until every agent
   * with one says `settled` (or the recovery window ends), then runs it on the evidence with
   * that window added (the MetricsAgent measures the recovery time).
   */
  readonly afterRevert?: AfterRevert<Findings[N]>;
}

export type AfterRevert<F> = {
  settled(findings: F, evidence: Evidence): boolean;
  run(input: AgentInput): Promise<AgentResult<F>>;
};

/** Any agent, as the pipeline runs them: its findings land under its own name. */
export type AnyAgent = {
  readonly name: AgentName;
  run(input: AgentInput): Promise<AgentResult<Findings[AgentName]>>;
  readonly afterRevert?: AfterRevert<Findings[AgentName]>;
};
