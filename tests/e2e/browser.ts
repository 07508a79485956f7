import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { REPO_ROOT } from '../fixtures/paths.js';

export const SCREENSHOTS_DIR = path.join(REPO_ROOT, 'tests', 'artifacts', 'screenshots');

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export type TestBrowser = { browser: Browser; downloads: string; close: () => Promise<void> };

/** Chromium from /usr/bin with a fresh profile and a downloads folder, both removed on close. */
export async function launchBrowser(): Promise<TestBrowser> {
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'chaos-e2e-profile-'));
  const downloads = await mkdtemp(path.join(os.tmpdir(), 'chaos-e2e-downloads-'));
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      userDataDir,
      args: ARGS,
      downloadBehavior: { policy: 'allow', downloadPath: downloads },
      env: { ...process.env, TZ: 'UTC' },
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    await rm(downloads, { recursive: true, force: true });
    throw error;
  }
  return {
    browser,
    downloads,
    close: async () => {
      await browser.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
      await rm(downloads, { recursive: true, force: true });
    },
  };
}

export type WatchedPage = { page: Page; problems: string[]; dialogs: string[] };

/**
 * A page that records what must never happen (CSP violations, script errors, failed requests to
 * our origin) and the confirm() dialogs it shows; `answer` decides each dialog.
 */
export async function openPage(browser: Browser, options: { width?: number; height?: number; answer?: (message: string) => boolean } = {}): Promise<WatchedPage> {
  const page = await browser.newPage();
  const problems: string[] = [];
  const dialogs: string[] = [];
  await page.setViewport({ width: options.width ?? 1280, height: options.height ?? 900, deviceScaleFactor: 1 });
  // Fail in seconds, not minutes, when the page broke.
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => problems.push(`pageerror: ${error instanceof Error ? error.message : String(error)}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 401/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void ((options.answer ?? (() => true))(dialog.message()) ? dialog.accept() : dialog.dismiss());
  });
  return { page, problems, dialogs };
}

export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  const file = path.join(SCREENSHOTS_DIR, `${name}.png`);
  // Sticky bars are drawn where the scroll left them: shoot from the top.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage: options.fullPage ?? true });
  return file;
}

export async function textOf(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (el) => el.textContent ?? '');
}
