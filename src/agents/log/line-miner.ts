import { stripHeader, TemplateMiner } from './mining/index.js';

/**
 * One template miner per log stream: headers (timestamps, host, level, pid) are stripped first,
 * so that lines group by what they say, not when they said it.
 */
export function createLineMiner(): { add(line: string): { templateId: string; template: string } } {
  const miner = new TemplateMiner();
  return {
    add(line) {
      const { templateId, template } = miner.add(stripHeader(line));
      return { templateId, template };
    },
  };
}
