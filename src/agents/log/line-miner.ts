import { TemplateMiner } from './mining/index.js';

/**
 * One template miner per log stream. The miner strips each line's header (timestamps, host,
 * level, pid) itself, so that lines group by what they say, not when they said it.
 */
export function createLineMiner(): { add(line: string): { templateId: string; template: string } } {
  const miner = new TemplateMiner();
  return {
    add(line) {
      const { templateId, template } = miner.add(line);
      return { templateId, template };
    },
  };
}
