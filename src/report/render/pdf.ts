/**
 * HTML → PDF with one long-lived headless Chromium.
 *
 * Launching Chromium costs about a second, so one browser is started on the first render and
 * reused; it is started again if it crashed or was killed. Every render gets a fresh page with
 * JavaScript disabled and request interception: the HTML is set with `setContent`
 * (document.write into about:blank, so there is no document request to let through and no
 * `file://` URL anywhere), and anything the page then asks for, it does not get.
 *
 * Interception alone is not "no network": Chromium preconnects (opens TCP connections) to the
 * target of a navigation before interception sees the request. So the browser is also started
 * with a host resolver that resolves nothing, IP literals included, and a proxy that does not
 * exist; tests/integration/report checks that a local server sees no connection at all.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import puppeteer, { type Browser, type HTTPRequest } from 'puppeteer-core';
import { TimeoutError } from '../../errors.js';
import { BrowserUnavailableError } from './errors.js';
import { CHROMIUM_CANDIDATES, findChromium } from './find-chromium.js';
import { createLimiter } from './limiter.js';
import { createBrowserProfile } from './profiles.js';

/** A request a report page attempted; all of them are aborted. */
export type PageRequest = { url: string; resourceType: string; navigation: boolean };

export type PdfRendererOptions = {
  /** Configured browser path; the well-known locations are tried after it. */
  executablePath?: string | null;
  /** Also try /usr/bin/chromium and friends (default true). */
  searchDefaults?: boolean;
  log: Logger;
  /** Pages rendered at the same time (default 2); more renders wait their turn. */
  concurrency?: number;
  /** Deadline of a render when the caller gives none (default 30 s). */
  defaultTimeoutMs?: number;
  /** Deadline for Chromium to start (default 20 s). */
  launchTimeoutMs?: number;
  /** Where Chromium's profile folders go (default: the system temp dir); see profiles.ts. */
  profileRoot?: string;
  /** Called for every request a report page attempts (each is aborted); for audits and tests. */
  onPageRequest?: (request: PageRequest) => void;
};

export type RenderPdfOptions = {
  /** Deadline for the whole render, waiting for a free slot included. */
  timeoutMs?: number;
};

export type PdfRendererStats = { launches: number; renders: number; failures: number };

export type PdfRenderer = {
  render(html: string, options?: RenderPdfOptions): Promise<Buffer>;
  /** Shuts the browser down; renders still running fail, later ones throw BrowserUnavailableError. */
  close(): Promise<void>;
  /** Pid of the running browser; null before the first render, after a crash, after close(). */
  browserPid(): number | null;
  stats(): PdfRendererStats;
};

/** The flags that keep Chromium quiet and local: no sandbox (root in a container), no GPU, no phoning home. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
  '--disable-extensions',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--no-pings',
  '--mute-audio',
  // The network kill switch (see above): no name resolves, and any socket would go to a dead proxy.
  '--host-resolver-rules=MAP * ~NOTFOUND',
  '--proxy-server=http://127.0.0.1:9',
  '--proxy-bypass-list=<-loopback>',
];

const PAGE_MARGIN = { top: '16mm', bottom: '18mm', left: '14mm', right: '14mm' };

/** Chrome fills `.title`, `.pageNumber`, `.totalPages` as text; the template itself is ours. */
const FOOTER_TEMPLATE =
  '<div style="width:100%;margin:0 14mm;display:flex;justify-content:space-between;' +
  "font-family:'Liberation Sans','DejaVu Sans',Arial,sans-serif;font-size:7.5pt;color:#6b7280;\">" +
  '<span class="title"></span><span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>';

const CLOSE_TIMEOUT_MS = 5_000;

type Running = { browser: Browser; pid: number | null; userDataDir: string; executablePath: string };

/**
 * SIGKILL to the browser's process group. puppeteer starts Chromium as a group leader
 * (`detached`), so this reaches zygotes and renderers too, and nothing outside our browser.
 */
function killProcessGroup(pid: number | null): void {
  if (pid === null) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: already gone, which is the point.
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} took longer than ${ms} ms`, ms)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function createPdfRenderer(options: PdfRendererOptions): PdfRenderer {
  const log = options.log.child({ component: 'pdf-renderer' });
  const limiter = createLimiter(options.concurrency ?? 2);
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
  const launchTimeoutMs = options.launchTimeoutMs ?? 20_000;
  const candidates = options.searchDefaults === false ? [] : CHROMIUM_CANDIDATES;

  let current: Running | null = null;
  let launching: Promise<Running> | null = null;
  let closed = false;
  const counts: PdfRendererStats = { launches: 0, renders: 0, failures: 0 };

  async function launch(): Promise<Running> {
    const configured = options.executablePath ?? null;
    const executablePath = findChromium(configured, candidates);
    if (executablePath === null) throw new BrowserUnavailableError('not_found', configured);
    if (configured && executablePath !== configured) {
      log.warn({ configured, executablePath }, 'Configured Chromium is not an executable file; using another');
    }
    const started = Date.now();
    const userDataDir = await createBrowserProfile(options.profileRoot ?? join(tmpdir(), 'chaos-handler-chromium'));
    let browser: Browser;
    try {
      browser = await puppeteer.launch({
        executablePath,
        headless: true,
        // A pipe, not a TCP port: no other local process can attach to the browser.
        pipe: true,
        userDataDir,
        args: CHROMIUM_ARGS,
        // Not the coordinator's environment: it holds secrets the browser has no use for.
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: userDataDir, LANG: 'C.UTF-8', TZ: 'UTC' },
        // Shutdown is the coordinator's (it drains, then calls close()); puppeteer would exit the process.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
        timeout: launchTimeoutMs,
        protocolTimeout: Math.max(defaultTimeoutMs, 30_000) * 2,
      });
    } catch (error) {
      await rm(userDataDir, { recursive: true, force: true });
      throw new BrowserUnavailableError('launch_failed', executablePath, { cause: error });
    }
    const running: Running = { browser, pid: browser.process()?.pid ?? null, userDataDir, executablePath };
    browser.once('disconnected', () => {
      if (current === running) {
        // Not our close(): it crashed or was killed. Reap what is left of its process group.
        current = null;
        log.warn({ pid: running.pid }, 'Chromium disconnected; it will be started again on the next render');
        killProcessGroup(running.pid);
      }
      void rm(userDataDir, { recursive: true, force: true }).catch(() => undefined);
    });
    counts.launches++;
    log.info({ pid: running.pid, executablePath, launchMs: Date.now() - started }, 'Chromium started');
    return running;
  }

  async function browser(): Promise<Running> {
    if (closed) throw new BrowserUnavailableError('closed', options.executablePath ?? null);
    if (current?.browser.connected) return current;
    if (current) {
      // Crashed or killed: make sure nothing of it lingers before starting another.
      await shutdown(current);
      current = null;
    }
    launching ??= launch()
      .then(async (running) => {
        if (closed) {
          await shutdown(running);
          throw new BrowserUnavailableError('closed', running.executablePath);
        }
        current = running;
        return running;
      })
      .finally(() => {
        launching = null;
      });
    return launching;
  }

  async function shutdown(running: Running): Promise<void> {
    try {
      await withTimeout(running.browser.close(), CLOSE_TIMEOUT_MS, 'Closing Chromium');
    } catch (error) {
      log.warn({ pid: running.pid, err: error }, 'Chromium did not close cleanly; killing it');
      killProcessGroup(running.pid);
    }
    await rm(running.userDataDir, { recursive: true, force: true }).catch(() => undefined);
  }

  function blockRequest(request: HTTPRequest, blocked: PageRequest[]): void {
    const url = request.url();
    // data: URLs are the inline images themselves; Chromium does not let them be intercepted.
    if (url.startsWith('data:')) return;
    const attempt: PageRequest = {
      url: url.slice(0, 500),
      resourceType: request.resourceType(),
      navigation: request.isNavigationRequest(),
    };
    blocked.push(attempt);
    options.onPageRequest?.(attempt);
    if (request.isInterceptResolutionHandled()) return;
    // An aborted navigation (meta refresh, a frame) commits Chromium's error page and we would
    // print that; "204 No Content" answered here cancels it and the report stays. Nothing is fetched.
    const settled = attempt.navigation ? request.respond({ status: 204, body: '' }) : request.abort('blockedbyclient');
    settled.catch(() => undefined);
  }

  async function closePage(close: () => Promise<void>, running: Running): Promise<void> {
    try {
      await withTimeout(close(), CLOSE_TIMEOUT_MS, 'Closing a page');
    } catch (error) {
      if (!running.browser.connected) return;
      // A page that will not close means a wedged renderer: start afresh next time.
      log.warn({ pid: running.pid, err: error }, 'Report page did not close; restarting Chromium');
      if (current === running) current = null;
      await shutdown(running);
    }
  }

  async function renderOnPage(html: string, deadline: number, signal: AbortSignal): Promise<Buffer> {
    signal.throwIfAborted();
    const running = await browser();
    signal.throwIfAborted();
    const page = await running.browser.newPage();
    let closing: Promise<void> | undefined;
    const closeOnce = (): Promise<void> => (closing ??= page.close());
    // On timeout, closing the page makes whatever step is in flight fail fast.
    const abort = (): void => void closeOnce().catch(() => undefined);
    signal.addEventListener('abort', abort, { once: true });
    const remaining = (): number => Math.max(1, deadline - Date.now());
    const blocked: PageRequest[] = [];
    try {
      await page.setJavaScriptEnabled(false);
      await page.setRequestInterception(true);
      page.on('request', (request) => blockRequest(request, blocked));
      await page.setContent(html, { waitUntil: 'load', timeout: remaining() });
      if (page.url() !== 'about:blank') throw new Error(`Report page navigated to ${page.url().slice(0, 200)}; not printing it`);
      const pdf = await page.pdf({
        format: 'A4',
        printBackground: true,
        margin: PAGE_MARGIN,
        displayHeaderFooter: true,
        headerTemplate: '<div></div>',
        footerTemplate: FOOTER_TEMPLATE,
        timeout: remaining(),
      });
      return Buffer.from(pdf);
    } finally {
      signal.removeEventListener('abort', abort);
      await closePage(closeOnce, running);
      // One line per render, however many requests a hostile page makes.
      if (blocked.length > 0) {
        log.warn({ blocked: blocked.length, sample: blocked.slice(0, 5) }, 'Blocked requests from a report page');
      }
    }
  }

  async function render(html: string, renderOptions: RenderPdfOptions = {}): Promise<Buffer> {
    const timeoutMs = renderOptions.timeoutMs ?? defaultTimeoutMs;
    const started = Date.now();
    const deadline = started + timeoutMs;
    const controller = new AbortController();
    const work = limiter.run(() => renderOnPage(html, deadline, controller.signal));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new TimeoutError(`PDF rendering took longer than ${timeoutMs} ms`, timeoutMs);
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    try {
      const pdf = await Promise.race([work, timeout]);
      counts.renders++;
      log.debug({ renderMs: Date.now() - started, bytes: pdf.length }, 'Rendered PDF');
      return pdf;
    } catch (error) {
      counts.failures++;
      // The loser of the race may still reject later; that is expected, not unhandled.
      work.catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async function close(): Promise<void> {
    closed = true;
    if (launching) await launching.catch(() => undefined);
    const running = current;
    current = null;
    if (running) await shutdown(running);
  }

  return {
    render,
    close,
    browserPid: () => (current?.browser.connected ? current.pid : null),
    stats: () => ({ ...counts }),
  };
}
