import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData, type DemoLogins } from '../../seeds/demo.seed.js';
import { startImportWorker } from '../../workers/import.worker.js';
import { closeAll, launchBrowser, listen, newPage, watchForProblems, type LiveServer } from '../support/browser.js';
import { grantCredit } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Visual review, not a regression test: with SCREENSHOTS_DIR set, saves full-page PNGs of the main
 * pages on demo data, at desktop and phone width, for a person to look at.
 *
 *   SCREENSHOTS_DIR=/tmp/shots npx vitest run test/e2e/screenshots
 */
const DIR = process.env.SCREENSHOTS_DIR;

const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  mobile: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
} as const;

describe.skipIf(!DIR)('screenshots for visual review', () => {
  let t: TestApp;
  let server: LiveServer;
  let browser: Browser;
  let logins: DemoLogins;
  let detailId: number;
  let importWorker: ReturnType<typeof startImportWorker> | undefined;
  const pages: Page[] = [];

  beforeAll(async () => {
    await mkdir(DIR!, { recursive: true });
    t = await createTestApp();
    const knex = t.ctx.knex;
    logins = await seedDemoData(knex, { customers: 60, files: t.ctx.files });
    // A customer the dashboard has most to show for: orders, tags and two addresses.
    const rich = await knex('customers as c')
      .join('customerTags as t', 't.customerId', 'c.id')
      .join('orders as o', 'o.customerId', 'c.id')
      .join('addresses as a', 'a.customerId', 'c.id')
      .groupBy('c.id')
      .orderByRaw('count(DISTINCT a.id) DESC, count(DISTINCT t.tag) DESC, count(DISTINCT o.id) DESC, c.id')
      .first('c.id');
    detailId = Number(rich.id);
    // Outbox rows in every state.
    const [north] = await knex('shops').where({ code: 'north' }).pluck('id');
    const mail = (status: string, to: string, extra: object = {}) => ({
      shopId: north,
      template: 'welcome',
      toAddress: to,
      subject: 'Welcome to North Outfitters',
      textBody: 'Hello,\n\nyour account at North Outfitters is ready. Log in here:\nhttp://north.localhost/account/login\n\nSee you soon,\nNorth Outfitters',
      htmlBody: '<p>Hello</p>',
      status,
      ...extra,
    });
    await knex('mailOutbox').insert([
      mail('sent', 'alice@example.test', { attempts: 1, sentAt: new Date() }),
      mail('failed', 'bruno.becker.7@example.test', { attempts: 5, lastError: 'connect ECONNREFUSED 127.0.0.1:25 — the SMTP server did not answer after 5 attempts' }),
      mail('pending', 'chloe.costa.9@example.test'),
    ]);
    // Store credit for the list's on-demand column.
    await grantCredit(knex, { customerId: detailId, shopId: north, amount: 2500 });
    server = await listen(t.app);
    browser = await launchBrowser();
    importWorker = startImportWorker(t.ctx);
  });

  afterAll(async () => {
    await importWorker?.close();
    await closeAll(pages, browser, server, t);
  });

  async function shoot(page: Page, name: string, variant: string): Promise<void> {
    await page.screenshot({ path: path.join(DIR!, `${name}-${variant}.png`), fullPage: true });
  }

  for (const [variant, options] of Object.entries(VIEWPORTS)) {
    it(`admin pages (${variant})`, async () => {
      const page = await newPage(browser, options);
      pages.push(page);
      const problems = watchForProblems(page);
      await page.goto(server.url('admin.localhost', '/admin/login'));
      await shoot(page, '01-admin-login', variant);

      await page.locator('#f-email').fill(logins.owner.email);
      await page.locator('#f-password').fill('wrong password');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator('.alert-error').waitFor();
      await shoot(page, '02-admin-login-error', variant);

      await page.locator('#f-password').fill(logins.owner.password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(/\/admin\/customers$/);
      await shoot(page, '03-customers', variant);

      await page.goto(server.url('admin.localhost', '/admin/customers?q=zz-nobody'));
      await shoot(page, '04-customers-empty', variant);

      // Wide enough for the on-demand columns next to the standard ones.
      const viewport = page.viewportSize()!;
      await page.setViewportSize({ width: Math.max(viewport.width, 1680), height: viewport.height });
      await page.goto(server.url('admin.localhost', '/admin/customers?shop=all&cols=tags,credit,aov&sort=total_spent&dir=desc'));
      await shoot(page, '04b-customers-columns', variant);
      await page.setViewportSize(viewport);

      await page.goto(server.url('admin.localhost', `/admin/customers/${detailId}`));
      await shoot(page, '05-customer-detail', variant);

      const alice = await t.ctx.knex('customers').where({ email: logins.customers.email }).first('id');
      await page.goto(server.url('admin.localhost', `/admin/customers/${alice.id}`));
      await shoot(page, '05b-customer-dashboard-alice', variant);

      await page.goto(server.url('admin.localhost', '/admin/groups'));
      await shoot(page, '05c-groups', variant);
      await page.locator('table a').first().click();
      await page.waitForURL(/\/admin\/groups\/\d+$/);
      await shoot(page, '05d-group', variant);
      await page.goto(server.url('admin.localhost', '/admin/groups'));
      await page.locator('#segment-list table a').first().click();
      await page.waitForURL(/\/admin\/groups\/segments\/\d+$/);
      await shoot(page, '05d2-segment', variant);

      await page.goto(server.url('admin.localhost', '/admin/price-groups'));
      await shoot(page, '05e-price-groups', variant);

      const ownerId = (await t.ctx.knex('staffUsers').where({ email: logins.owner.email }).first('id')).id;
      const [job] = await t.ctx.knex('customerExports')
        .insert({ staffUserId: ownerId, idempotencyKey: `shot-${variant}-0123456789abcdef`, selection: JSON.stringify({ source: { kind: 'all' } }), fileName: 'customers-all-2026-11-22.csv', status: 'running' })
        .returning('id');
      await page.goto(server.url('admin.localhost', `/admin/customers/exports/${job.id}`));
      await shoot(page, '05f-export-running', variant);

      // An import's preview: the worker analyses the upload, the page shows the proposed mapping.
      await page.goto(server.url('admin.localhost', '/admin/customers/import'));
      await page.locator('#f-file').setInputFiles({
        name: 'customers.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(
          `Email,First Name,Last Name,Tags,Note,Purchase limit,Purchase limit period,Purchase limit start,Credit limit\nada.${variant}@example.test,Ada,Lovelace,vip,Prefers e-mail,500,monthly,2026-01-01,2500\nbad-date@example.test,Bad,Date,,,500,monthly,2026-02-30,\n`,
        ),
      });
      await page.getByRole('button', { name: 'Upload and preview' }).click();
      await page.getByRole('button', { name: 'Dry run' }).waitFor({ timeout: 20_000 });
      await shoot(page, '05g-import-preview', variant);
      // The dry run's report with its rejected row, then the import and what it wrote on the customer.
      await page.getByRole('button', { name: 'Dry run' }).click();
      await page.getByText('Dry run: what the import would do').waitFor({ timeout: 20_000 });
      await shoot(page, '05h-import-dry-run', variant);
      await page.getByRole('button', { name: 'Import 2 rows' }).click();
      await page.getByText('Import finished').waitFor({ timeout: 20_000 });
      const imported = await t.ctx.knex('customers').where({ email: `ada.${variant}@example.test` }).first('id');
      await page.goto(server.url('admin.localhost', `/admin/customers/${imported.id}`));
      await shoot(page, '05i-imported-customer', variant);
      // A file that cannot be read: the reason, and the way on.
      await page.goto(server.url('admin.localhost', '/admin/customers/import'));
      await page.locator('#f-file').setInputFiles({ name: 'broken.csv', mimeType: 'text/csv', buffer: Buffer.from('Email,First Name\nok@example.test,Okay\nopen@example.test,"Never closed\nnext@example.test,Next\n') });
      await page.getByRole('button', { name: 'Upload and preview' }).click();
      await page.getByText('Upload another file').waitFor({ timeout: 20_000 });
      await shoot(page, '05j-import-unreadable', variant);

      await page.goto(server.url('admin.localhost', '/admin/outbox'));
      await shoot(page, '06-outbox', variant);

      await page.getByRole('link', { name: 'Welcome to North Outfitters' }).first().click();
      await page.waitForURL(/\/admin\/outbox\/\d+$/);
      await shoot(page, '07-outbox-message', variant);

      await page.goto(server.url('admin.localhost', '/admin/customers/999999'));
      await shoot(page, '08-admin-not-found', variant);
      expect(problems.filter((p) => !p.includes('status of 401') && !p.includes('status of 404'))).toEqual([]);
    });

    it(`storefront pages (${variant})`, async () => {
      const page = await newPage(browser, options);
      pages.push(page);
      const problems = watchForProblems(page);
      await page.goto(server.url('north.localhost', '/'));
      await shoot(page, '11-shop-home', variant);

      await page.goto(server.url('north.localhost', '/account/login'));
      await shoot(page, '12-shop-login', variant);

      await page.goto(server.url('north.localhost', '/account/register'));
      await shoot(page, '13-shop-register', variant);
      await page.locator('#f-firstname').fill('Greta');
      await page.locator('#f-email').fill('not-an-email');
      await page.locator('#f-password').fill('short');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.locator('.field-error').first().waitFor();
      await shoot(page, '14-shop-register-errors', variant);

      await page.goto(server.url('north.localhost', '/account/login'));
      await page.locator('#f-email').fill(logins.customers.email);
      await page.locator('#f-password').fill(logins.customers.password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(/\/account$/);
      await shoot(page, '15-shop-account', variant);

      await page.goto(server.url('north.localhost', '/account/documents'));
      await shoot(page, '15b-shop-documents', variant);

      await page.goto(server.url('north.localhost', '/'));
      await shoot(page, '16-shop-home-logged-in', variant);

      await page.goto(server.url('north.localhost', '/no-such-page'));
      await shoot(page, '17-shop-not-found', variant);

      await page.goto(server.url('nowhere.localhost', '/'));
      await shoot(page, '18-unknown-host', variant);
      expect(problems.filter((p) => !p.includes('status of 422') && !p.includes('status of 404'))).toEqual([]);
    });
  }
});
