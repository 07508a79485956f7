import { pino } from 'pino';
import { BrowserUnavailableError } from '../../../src/report/render/errors.js';
import { CHROMIUM_CANDIDATES, findChromium } from '../../../src/report/render/find-chromium.js';
import { createLimiter } from '../../../src/report/render/limiter.js';
import { createPdfRenderer } from '../../../src/report/render/pdf.js';

const silent = pino({ level: 'silent' });

describe('findChromium', () => {
  const only =
    (...present: string[]) =>
    (path: string): boolean =>
      present.includes(path);

  it('when the configured path is executable, then it wins', () => {
    expect(findChromium('/opt/chrome/chrome', CHROMIUM_CANDIDATES, only('/opt/chrome/chrome', '/usr/bin/chromium'))).toBe('/opt/chrome/chrome');
  });

  it('when the configured path is not usable, then the well-known locations are tried in order', () => {
    expect(findChromium('/nope', CHROMIUM_CANDIDATES, only('/usr/bin/google-chrome', '/usr/bin/chromium-browser'))).toBe('/usr/bin/chromium-browser');
    expect(findChromium(undefined, CHROMIUM_CANDIDATES, only('/usr/bin/google-chrome'))).toBe('/usr/bin/google-chrome');
  });

  it('when nothing is found, then it returns null', () => {
    expect(findChromium('/nope', CHROMIUM_CANDIDATES, only())).toBeNull();
  });

  it('when checking the real file system, then directories and missing files are not browsers', () => {
    expect(findChromium('/usr/bin', [])).toBeNull();
    expect(findChromium('/definitely/not/here', [])).toBeNull();
    expect(findChromium('/bin/sh', [])).toBe('/bin/sh');
  });
});

describe('BrowserUnavailableError', () => {
  it('when no browser is found, then the message says what to install and the error carries its reason', () => {
    const error = new BrowserUnavailableError('not_found', null);
    expect(error.name).toBe('BrowserUnavailableError');
    expect(error.reason).toBe('not_found');
    expect(error.message).toContain('apt-get install chromium');
  });

  it('when the launch failed, then the message names the binary and the first line of the cause, which is kept', () => {
    const cause = new Error('Failed to launch the browser process!\nlots of stderr');
    const error = new BrowserUnavailableError('launch_failed', '/usr/bin/chromium', { cause });
    expect(error.message).toContain('/usr/bin/chromium failed to start: Failed to launch the browser process!');
    expect(error.message).not.toContain('lots of stderr');
    expect(error.message).toContain('apt-get install chromium');
    expect(error.cause).toBe(cause);
  });
});

describe('createLimiter', () => {
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('when more tasks arrive than the concurrency, then at most that many run and the rest wait in order', async () => {
    const limiter = createLimiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: (() => void)[] = [];
    const tasks = [0, 1, 2, 3, 4].map((i) =>
      limiter.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
        return i;
      }),
    );
    await tick();
    expect(order).toEqual([0, 1]);
    expect(limiter.size).toBe(5);
    while (gates.length > 0) {
      gates.shift()?.();
      await tick();
      await tick();
    }
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4]);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(limiter.size).toBe(0);
  });

  it('when a task fails, then its slot is released and the failure reaches its caller', async () => {
    const limiter = createLimiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });

  it('when a newcomer arrives just as a slot is handed to a waiter, then the limit still holds', async () => {
    const limiter = createLimiter(1);
    let running = 0;
    let peak = 0;
    const job = async (): Promise<void> => {
      running++;
      peak = Math.max(peak, running);
      await tick();
      running--;
    };
    const first = limiter.run(job);
    const waiter = limiter.run(job);
    await first;
    const newcomer = limiter.run(job);
    await Promise.all([waiter, newcomer]);
    expect(peak).toBe(1);
  });
});

describe('createPdfRenderer without a browser', () => {
  it('when no Chromium can be found, then render rejects with BrowserUnavailableError(not_found) and nothing is launched', async () => {
    const renderer = createPdfRenderer({ executablePath: '/definitely/not/chromium', searchDefaults: false, log: silent });
    const error = await renderer.render('<p>x</p>').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrowserUnavailableError);
    expect(error).toMatchObject({ reason: 'not_found', executablePath: '/definitely/not/chromium' });
    expect(renderer.browserPid()).toBeNull();
    expect(renderer.stats()).toEqual({ launches: 0, renders: 0, failures: 1 });
    await renderer.close();
  });

  it('when the renderer has been closed, then render rejects with BrowserUnavailableError(closed)', async () => {
    const renderer = createPdfRenderer({ log: silent });
    await renderer.close();
    await expect(renderer.render('<p>x</p>')).rejects.toMatchObject({ name: 'BrowserUnavailableError', reason: 'closed' });
  });
});
