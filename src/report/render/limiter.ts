export type Limiter = {
  /** Runs `task` once fewer than `concurrency` tasks are running; FIFO. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Tasks running plus waiting. */
  readonly size: number;
};

export function createLimiter(concurrency: number): Limiter {
  const limit = Math.max(1, Math.floor(concurrency));
  let active = 0;
  const waiting: (() => void)[] = [];

  // A finishing task hands its slot straight to the next waiter, so a newcomer arriving in
  // between cannot take it too and exceed the limit.
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };

  return {
    get size() {
      return active + waiting.length;
    },
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      else active++;
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
