import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { closeAll, launchBrowser, listen, newPage, watchForProblems, type LiveServer } from './browser.js';
import type { TestApp } from './test-app.js';

/** The staff host of the live server (`*.localhost` resolves to 127.0.0.1 in Chromium). */
export const ADMIN = 'admin.localhost';
/** The bound of an `expect.poll` in a browser test. */
export const POLL = { timeout: 5_000, interval: 50 };

export interface StaffLogin {
  email: string;
  password: string;
}

/** A page and what it reported as broken (see watchForProblems); the test asserts the list. */
export interface WatchedPage {
  page: Page;
  problems: string[];
}

/** The app served on a free port and a headless Chromium, for the browser tests of the staff dashboard. */
export interface DashboardBrowser {
  server: LiveServer;
  browser: Browser;
  /** A page in a fresh, cookie-isolated context; closed by close(). */
  openPage(options?: BrowserContextOptions): Promise<WatchedPage>;
  /** A new page, logged in as this staff member, showing the customer's dashboard. */
  openDashboard(login: StaffLogin, customerId: number, options?: BrowserContextOptions): Promise<WatchedPage>;
  /** Closes the pages, the browser and the server (not the test app). */
  close(): Promise<void>;
}

/** Serves the test app and launches Chromium; `afterAll(() => closeAll([], dashboardBrowser, t))`. */
export async function startDashboardBrowser(t: TestApp): Promise<DashboardBrowser> {
  const server = await listen(t.app);
  let browser: Browser;
  try {
    browser = await launchBrowser();
  } catch (err) {
    await server.close();
    throw err;
  }
  const pages: Page[] = [];
  const openPage = async (options: BrowserContextOptions = {}): Promise<WatchedPage> => {
    const page = await newPage(browser, options);
    pages.push(page);
    return { page, problems: watchForProblems(page) };
  };
  return {
    server,
    browser,
    openPage,
    async openDashboard(login, customerId, options = {}) {
      const opened = await openPage(options);
      await logInAsStaff(opened.page, server, login);
      await opened.page.goto(server.url(ADMIN, `/admin/customers/${customerId}`));
      return opened;
    },
    close: () => closeAll(pages, browser, server),
  };
}

/** Logs in through the staff login form; ends on the customer list. */
export async function logInAsStaff(page: Page, server: LiveServer, login: StaffLogin): Promise<void> {
  await page.goto(server.url(ADMIN, '/admin/login'));
  await page.locator('#f-email').fill(login.email);
  await page.locator('#f-password').fill(login.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/admin\/customers$/);
}

/** Whether the dashboard's <dialog id="modal"> is open. */
export function isModalOpen(page: Page): Promise<boolean> {
  return page.evaluate<boolean>("document.getElementById('modal')?.open === true");
}

/**
 * With SCREENSHOTS_DIR set, saves a step as `<prefix>-<name>.png` there for a person to look at;
 * otherwise does nothing. `fullPage: 'unlessModal'` shoots what the user sees while a modal (fixed
 * to the viewport) is open and the whole page otherwise.
 */
export function screenshots(prefix: string, options: { fullPage?: boolean | 'unlessModal' } = {}): (page: Page, name: string) => Promise<void> {
  const dir = process.env.SCREENSHOTS_DIR;
  let made: Promise<unknown> | undefined;
  return async (page, name) => {
    if (!dir) return;
    await (made ??= mkdir(dir, { recursive: true }));
    const fullPage = options.fullPage === 'unlessModal' ? !(await isModalOpen(page)) : (options.fullPage ?? false);
    // caret 'initial': hiding it injects a <style> that the CSP refuses.
    await page.screenshot({ path: path.join(dir, `${prefix}-${name}.png`), fullPage, caret: 'initial' });
  };
}
