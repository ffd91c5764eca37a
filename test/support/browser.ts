import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { createHttpServer } from '../../app/http/http-server.js';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

/** The system Chromium (Debian's `chromium` package); Playwright's own browser downloads are never used. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Every wait in a browser test is bounded by these (milliseconds). */
export const ACTION_TIMEOUT = 10_000;
export const NAVIGATION_TIMEOUT = 15_000;

/** Launches headless Chromium on a fresh temporary profile (Playwright creates and removes it). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** A new, cookie-isolated browser context whose waits all time out. */
export async function newContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'UTC', ...options });
  context.setDefaultTimeout(ACTION_TIMEOUT);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT);
  return context;
}

/** A page in a fresh context; closing the page's context is left to `closeContexts` or the browser. */
export async function newPage(browser: Browser, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await newContext(browser, options);
  return context.newPage();
}

export interface LiveServer {
  port: number;
  /** `http://<host>:<port><path>`; `*.localhost` names resolve to 127.0.0.1 in Chromium. */
  url(host: string, path?: string): string;
  close(): Promise<void>;
}

/** Serves the Express app on 127.0.0.1, on `port` or a free one. */
export async function listen(app: Express, port = 0): Promise<LiveServer> {
  const server: Server = createHttpServer(app).listen(port, '127.0.0.1');
  await once(server, 'listening');
  const { port: listening } = server.address() as AddressInfo;
  return {
    port: listening,
    url: (host, path = '/') => `http://${host}:${listening}${path}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * Collects what the page reports as broken: uncaught script errors, console errors (CSP
 * violations land here) and failed requests. A test asserts the list stays empty.
 */
export function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('requestfailed', (request) => {
    // A navigation that replaces the page aborts requests still in flight; that is not a fault.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`requestfailed: ${request.method()} ${request.url()} ${request.failure()?.errorText ?? ''}`);
  });
  return problems;
}

/** Closes what a browser test opened: its pages first, then the parts in the order given (any may be missing when set-up failed). */
export async function closeAll(pages: Page[], ...parts: Array<{ close(): Promise<unknown> } | undefined>): Promise<void> {
  for (const page of pages) await page.context().close().catch(() => undefined);
  for (const part of parts) await part?.close();
}
