export { Config, isLoopback } from './schema.js';
export { loadConfig } from './load-config.js';
