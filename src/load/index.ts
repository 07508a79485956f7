export { assertLoadUrl, startLoad, type DispatchFigures, type LoadDeps, type LoadOptions, type LoadResult, type LoadRun, type RateBySecond } from './generate-load.js';
export { LOAD_CSV_HEADER, toCsv, toCsvRow } from './csv.js';
export { latencyPercentiles, perSecond, summarize } from './stats.js';
export { LoadRecord, type LatencyPercentiles, type LoadSecond, type LoadSummary } from './schema.js';
