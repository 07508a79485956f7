export { buildNarrativeRequest, knownHostData, type NarrativeInput, type ChatMessage } from './build-request.js';
export { createNarrator, NarrativeError, parseReply, type Narrator, type NarrativeResult } from './narrator.js';
export { redactHostData, type KnownHostData } from './redact.js';
export { ModelHypothesis, ModelReply, type Narrative, type NarrativeConfig } from './schema.js';
