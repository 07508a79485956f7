export { MASK, maskMessage, maskTokens } from './masking.js';
export { stripHeader } from './header.js';
export { TemplateMiner } from './template-miner.js';
export { groupingAccuracy, parseCsv, parseCsvRecords } from './evaluation.js';
export { AddResult, MinerOptions, MinerStats, Template, TemplateLine } from './schema.js';
export type { MinerOptionsInput } from './schema.js';
