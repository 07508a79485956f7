import type { StreamHandle, StreamResult } from '../../../src/ssh/connection.js';
import type { WatchLink } from '../../../src/watch/watcher.js';

/**
 * A watch's link to a host that never answers by itself: its sampler prints what the test feeds
 * it (`feed`), and ends as stopped when the watch stops it. No reference, no outside probes.
 */
export function fakeWatchLink(): { link: WatchLink; feed: (line: string) => void } {
  let onLine: (line: string) => void = () => undefined;
  const link: WatchLink = {
    sample: (_interval, cb) => {
      onLine = cb;
      let finish: (r: StreamResult) => void = () => undefined;
      const done = new Promise<StreamResult>((resolve) => (finish = resolve));
      const stopped: StreamResult = { command: 'sampler', exitCode: null, signal: null, outcome: 'aborted', stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, durationMs: 1, lines: 0, droppedLines: 0 };
      const handle: StreamHandle = { done, stop: async () => (finish(stopped), done) };
      return handle;
    },
    outsideUrls: [],
    reference: null,
    close: async () => undefined,
  };
  return { link, feed: (line) => onLine(line) };
}
