import OpenAI from 'openai';
import { errorMessage } from '../errors.js';
import { buildNarrativeRequest, type ChatMessage, type NarrativeInput } from './build-request.js';
import { ModelReply, type Narrative, type NarrativeConfig } from './schema.js';

/** What the ReporterAgent is given when a model is configured (AgentServices.narrate). */
export type Narrator = {
  model: string;
  /** The narrative, or a NarrativeError saying why there is none. */
  narrate(input: NarrativeInput, signal: AbortSignal): Promise<NarrativeResult>;
};

export type NarrativeResult = { narrative: Narrative; request: ChatMessage[] };

/** Why no narrative was written: `reason` is shown in the trace as it is. */
export class NarrativeError extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
    this.name = 'NarrativeError';
  }
}

/** Longest prose kept from a model that answered without the JSON asked for. */
const MAX_PLAIN_TEXT = 4000;

/**
 * A narrator over any OpenAI-compatible endpoint (LM Studio, Ollama, vLLM, Groq): one chat
 * completion per report, no retries (the report does not wait twice), cut at the timeout.
 */
export function createNarrator(config: NarrativeConfig): Narrator {
  // Local servers want no key, but the client insists on one: any string does for them. Every
  // option the client would otherwise take from OPENAI_* variables is set here, so that nothing
  // of this machine's OpenAI account (organization, project, admin key) reaches another endpoint.
  const client = new OpenAI({
    baseURL: config.url,
    apiKey: config.apiKey ?? 'no-key',
    adminAPIKey: null,
    organization: null,
    project: null,
    webhookSecret: null,
    logLevel: 'off',
    maxRetries: 0,
    timeout: config.timeoutMs,
  });
  return {
    model: config.model,
    async narrate(input, signal) {
      const request = buildNarrativeRequest(input);
      const timeout = AbortSignal.timeout(config.timeoutMs);
      let content: string;
      try {
        const completion = await client.chat.completions.create(
          { model: config.model, messages: request, temperature: 0.2, max_tokens: 1200 },
          { signal: AbortSignal.any([signal, timeout]), timeout: config.timeoutMs, maxRetries: 0 },
        );
        content = completion.choices?.[0]?.message?.content ?? '';
      } catch (error) {
        throw new NarrativeError(failureReason(error, timeout.aborted, config.timeoutMs), { cause: error });
      }
      if (!content.trim()) throw new NarrativeError('the model answered with an empty message');
      return { narrative: parseReply(content, config.model, input.findings.FixerAgent?.root_cause.category === 'unknown'), request };
    },
  };
}

/**
 * The model's message as a narrative: the JSON object asked for when it sent one (fenced or
 * not), else its text as prose. Hypotheses count only for an `unknown` diagnosis.
 */
export function parseReply(content: string, model: string, unknown: boolean): Narrative {
  const start = content.indexOf('{');
  const end = content.lastIndexOf('}');
  if (start !== -1 && end > start) {
    try {
      const parsed = ModelReply.safeParse(JSON.parse(content.slice(start, end + 1)));
      if (parsed.success) return { model, text: parsed.data.narrative, hypotheses: unknown ? (parsed.data.hypotheses ?? []).slice(0, 3) : [] };
    } catch {
      // Not JSON after all: the message is taken as prose below.
    }
  }
  return { model, text: content.trim().slice(0, MAX_PLAIN_TEXT), hypotheses: [] };
}

function failureReason(error: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut || error instanceof OpenAI.APIConnectionTimeoutError) return `the model did not answer within ${timeoutMs} ms`;
  if (error instanceof OpenAI.APIUserAbortError) return 'the incident was stopped';
  if (error instanceof OpenAI.APIError && error.status !== undefined) return `the endpoint answered HTTP ${error.status}`;
  if (error instanceof OpenAI.APIConnectionError) return `could not reach the endpoint: ${errorMessage(error.cause ?? error)}`;
  return errorMessage(error);
}
