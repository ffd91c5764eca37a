import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, launchBrowser, listen, newPage, watchForProblems, type LiveServer } from '../support/browser.js';
import { makeCustomer, makeOrder, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = 'admin.localhost';
const NORTH = 'north.localhost';
const POLL = { timeout: 5_000, interval: 50 };
const DAY = 86_400_000;

describe('portal in a real browser', () => {
  let t: TestApp;
  let server: LiveServer;
  let browser: Browser;
  let staff: { email: string };
  const pages: Page[] = [];

  /** A page in a cookie jar of its own, closed in afterAll. */
  const openPage = async (options: Parameters<typeof newPage>[1] = {}) => {
    const page = await newPage(browser, options);
    pages.push(page);
    return page;
  };

  const emailsInTable = (page: Page) => page.locator('#customer-results tbody td.email').allTextContents();

  async function logInAsStaff(page: Page): Promise<void> {
    await page.goto(server.url(ADMIN, '/admin/login'));
    await page.getByLabel('E-mail').fill(staff.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(server.url(ADMIN, '/admin/customers'));
  }

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    const north = await makeShop(knex, { code: 'north', name: 'North', hostname: NORTH });
    staff = await makeStaff(knex, { email: 'owner@example.test', role: 'owner' });
    // Created in an order that differs from both e-mail orders, so a sort that did nothing shows.
    const now = Date.now();
    const people = [
      { email: 'zimmer@shop.example', firstName: 'Anna', lastName: 'Zimmer', createdAt: new Date(now - 3 * DAY) },
      { email: 'adler@shop.example', firstName: 'Carla', lastName: 'Adler', createdAt: new Date(now - 4 * DAY) },
      { email: 'becker@shop.example', firstName: 'Bruno', lastName: 'Becker', createdAt: new Date(now - 1 * DAY) },
      { email: 'meyer@elsewhere.example', firstName: 'Dora', lastName: 'Meyer', createdAt: new Date(now - 2 * DAY) },
      { email: 'ostrowski@elsewhere.example', firstName: 'Emil', lastName: 'Ostrowski', createdAt: new Date(now - 5 * DAY) },
    ];
    for (const person of people) {
      const customer = await makeCustomer(knex, [north.id], person);
      await makeOrder(knex, customer.id, north.id, 4_990);
    }
    const south = await makeShop(knex, { code: 'south', name: 'South', hostname: 'south.localhost' });
    await makeCustomer(knex, [south.id], { email: 'svea@south.example', firstName: 'Svea', lastName: 'Berg', createdAt: new Date(now - 6 * DAY) });
    server = await listen(t.app);
    browser = await launchBrowser();
  });

  afterAll(() => closeAll(pages, browser, server, t));

  describe('admin customer list', () => {
    it('logs in, searches as the user types and sorts by e-mail with htmx swaps', async () => {
      const page = await openPage();
      const problems = watchForProblems(page);
      await logInAsStaff(page);
      expect(await page.locator('h1').textContent()).toBe('Customers');
      expect(await emailsInTable(page)).toHaveLength(6);

      // No full page load may happen from here on: a reload would drop this marker.
      await page.evaluate('window.__marker = 1');

      // Typing fires the debounced `input` trigger of the search form; nothing is submitted.
      await page.locator('#customer-search input[name=q]').pressSequentially('shop.example', { delay: 20 });
      await expect.poll(() => emailsInTable(page), POLL).toEqual(['becker@shop.example', 'zimmer@shop.example', 'adler@shop.example']);
      await expect.poll(() => new URL(page.url()).searchParams.get('q'), POLL).toBe('shop.example');
      expect(await page.evaluate('window.__marker')).toBe(1);

      // First click on "E-mail": ascending.
      const emailHeader = page.locator('#customer-results th', { hasText: 'E-mail' });
      await emailHeader.getByRole('link').click();
      await page.locator('#customer-results th[aria-sort="ascending"]', { hasText: 'E-mail' }).waitFor();
      expect(await emailsInTable(page)).toEqual(['adler@shop.example', 'becker@shop.example', 'zimmer@shop.example']);
      expect(await emailHeader.locator('.arrow').textContent()).toBe('▲');
      let url = new URL(page.url());
      expect(url.pathname).toBe('/admin/customers');
      expect(url.searchParams.get('sort')).toBe('email');
      expect(url.searchParams.get('dir')).toBe('asc');
      expect(url.searchParams.get('q')).toBe('shop.example');
      // Only one column is marked as sorted, and the search box kept what was typed.
      expect(await page.locator('#customer-results th[aria-sort]').count()).toBe(1);
      expect(await page.locator('#customer-search input[name=q]').inputValue()).toBe('shop.example');
      expect(await page.evaluate('window.__marker')).toBe(1);

      // Second click: descending.
      await emailHeader.getByRole('link').click();
      await page.locator('#customer-results th[aria-sort="descending"]', { hasText: 'E-mail' }).waitFor();
      expect(await emailsInTable(page)).toEqual(['zimmer@shop.example', 'becker@shop.example', 'adler@shop.example']);
      expect(await emailHeader.locator('.arrow').textContent()).toBe('▼');
      url = new URL(page.url());
      expect(url.searchParams.get('sort')).toBe('email');
      // Descending is the list's default direction, which the address leaves out.
      expect(url.searchParams.has('dir')).toBe(false);
      expect(await page.evaluate('window.__marker')).toBe(1);

      // The pushed URL is shareable: loading it afresh shows the same table.
      await page.goto(page.url());
      expect(await page.evaluate('window.__marker')).toBeUndefined();
      expect(await emailsInTable(page)).toEqual(['zimmer@shop.example', 'becker@shop.example', 'adler@shop.example']);
      expect(await page.locator('#customer-search input[name=q]').inputValue()).toBe('shop.example');

      expect(problems).toEqual([]);
    });

    it('keeps the chosen sort when the search changes', async () => {
      const page = await openPage();
      await logInAsStaff(page);
      await page.goto(server.url(ADMIN, '/admin/customers?sort=email&dir=asc'));
      await page.evaluate('window.__marker = 1');
      await page.locator('#customer-search input[name=q]').pressSequentially('elsewhere', { delay: 20 });
      await expect.poll(() => emailsInTable(page), POLL).toEqual(['meyer@elsewhere.example', 'ostrowski@elsewhere.example']);
      const url = new URL(page.url());
      expect(url.searchParams.get('sort')).toBe('email');
      expect(url.searchParams.get('dir')).toBe('asc');
      expect(await page.evaluate('window.__marker')).toBe(1);
    });

    it('filters by shop as soon as one is chosen', async () => {
      const page = await openPage();
      await logInAsStaff(page);
      await page.evaluate('window.__marker = 1');
      await page.getByLabel('Shop').selectOption({ label: 'South' });
      await expect.poll(() => emailsInTable(page), POLL).toEqual(['svea@south.example']);
      expect(new URL(page.url()).searchParams.get('shop')).toMatch(/^\d+$/);
      await page.getByLabel('Shop').selectOption({ label: 'All shops' });
      await expect.poll(async () => (await emailsInTable(page)).length, POLL).toBe(6);
      expect(await page.evaluate('window.__marker')).toBe(1);
    });

    it('says so when nothing matches the search', async () => {
      const page = await openPage();
      await logInAsStaff(page);
      await page.locator('#customer-search input[name=q]').pressSequentially('nobody-like-this', { delay: 10 });
      await page.getByText('No customers found.').waitFor();
      expect(await emailsInTable(page)).toEqual([]);
      expect(await page.locator('#customer-results .empty').textContent()).toContain('Nothing matches these filters');
    });
  });

  describe('CSRF header on htmx requests', () => {
    it('sends X-CSRF-Token from the meta tag on a nested htmx button POST (header log-out) and follows HX-Redirect', async () => {
      const page = await openPage();
      const problems = watchForProblems(page);
      await logInAsStaff(page);
      const token = await page.locator('meta[name="csrf-token"]').getAttribute('content');
      expect(token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      // The htmx button is nested in the header's log-out form; nothing in its markup (or its ancestors') sets the header.
      const button = page.getByRole('button', { name: 'Log out' });
      expect(await button.getAttribute('hx-post')).toBe('/admin/logout');
      expect(await page.locator('[hx-headers], [hx-headers\\:inherited]').count()).toBe(0);

      const posts: Request[] = [];
      page.on('request', (request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === '/admin/logout') posts.push(request);
      });
      const response = page.waitForResponse((r) => new URL(r.url()).pathname === '/admin/logout');
      await button.click();
      const answer = await response;

      expect(posts).toHaveLength(1);
      const headers = await posts[0]!.allHeaders();
      expect(headers['hx-request']).toBe('true');
      expect(headers['x-csrf-token']).toBe(token);
      expect(answer.status()).toBe(204);
      expect(answer.headers()['hx-redirect']).toBe('/admin/login');

      // htmx follows HX-Redirect with a full navigation to the login page, and the session is gone.
      await page.waitForURL(server.url(ADMIN, '/admin/login'));
      await page.getByRole('button', { name: 'Log in' }).waitFor();
      await page.goto(server.url(ADMIN, '/admin/customers'));
      expect(new URL(page.url()).pathname).toBe('/admin/login');
      expect(problems).toEqual([]);
    });

    it('is refused when the header carries a stale token, and the error is shown in the page', async () => {
      const page = await openPage();
      await logInAsStaff(page);
      // The form's hidden _csrf field is still right: only the header is wrong, so the header is what is checked.
      await page.evaluate(`document.querySelector('meta[name="csrf-token"]').setAttribute('content', 'stale-token')`);
      const response = page.waitForResponse((r) => new URL(r.url()).pathname === '/admin/logout');
      await page.getByRole('button', { name: 'Log out' }).click();
      expect((await response).status()).toBe(403);
      await page.locator('main [role=alert]').getByText('Your form has expired').waitFor();
      // The error replaced the page content, not the header: navigation and log-out are still there.
      expect(await page.locator('header .mainnav').isVisible()).toBe(true);
      expect(await page.getByRole('button', { name: 'Log out' }).isVisible()).toBe(true);
      // Still logged in (the refused request changed nothing).
      await page.goto(server.url(ADMIN, '/admin/customers'));
      expect(new URL(page.url()).pathname).toBe('/admin/customers');
    });

    it('logs out without JavaScript through the same form', async () => {
      const page = await openPage({ javaScriptEnabled: false });
      await logInAsStaff(page);
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL(server.url(ADMIN, '/admin/login'));
      await page.goto(server.url(ADMIN, '/admin/customers'));
      expect(new URL(page.url()).pathname).toBe('/admin/login');
    });
  });

  describe('storefront registration', () => {
    const fillRegistration = async (page: Page, values: { firstname: string; lastname: string; email: string; companyname1: string; password: string }) => {
      await page.getByLabel('First name').fill(values.firstname);
      await page.getByLabel('Last name').fill(values.lastname);
      await page.getByLabel('E-mail').fill(values.email);
      // The customer type is a select when the shop offers several types, else a hidden field.
      const type = page.locator('select[name=customertype]');
      if (await type.count()) await type.selectOption('B2C');
      await page.getByLabel('Company (optional)').fill(values.companyname1);
      // Labels of required fields end in a decorative "*", hence ids for the two password fields.
      await page.locator('#f-password').fill(values.password);
      await page.locator('#f-confirmPassword').fill(values.password);
      await page.getByRole('button', { name: 'Create account' }).click();
    };

    it('registers, logs the customer in, and refuses the same e-mail in other case with the values kept', async () => {
      const page = await openPage();
      const problems = watchForProblems(page);
      await page.goto(server.url(NORTH, '/account/register'));
      expect(await page.locator('h1').textContent()).toBe('Create your account');
      await fillRegistration(page, { firstname: 'Greta', lastname: 'Lind', email: 'greta.lind@example.test', companyname1: '', password: 'a long enough passphrase' });

      await page.waitForURL(server.url(NORTH, '/account'));
      expect(await page.locator('h1').textContent()).toBe('Hello, Greta');
      expect(await page.locator('.flash-success').textContent()).toContain('Welcome to North! Your account is ready.');
      expect(await page.getByRole('button', { name: 'Log out' }).isVisible()).toBe(true);
      expect(problems).toEqual([]);

      // Someone else (another cookie jar) tries the same address, differently capitalised.
      const second = await openPage();
      await second.goto(server.url(NORTH, '/account/register'));
      const submitted = second.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/account/register');
      await fillRegistration(second, { firstname: 'Gustav', lastname: 'Lindqvist', email: 'GRETA.Lind@Example.TEST', companyname1: 'Lindqvist AB', password: 'another long passphrase' });
      expect((await submitted).status()).toBe(422);

      expect(new URL(second.url()).pathname).toBe('/account/register');
      const emailError = second.locator('#e-email');
      expect(await emailError.textContent()).toBe('An account with this e-mail address already exists. Log in or reset your password.');
      expect(await second.locator('#f-email').getAttribute('aria-describedby')).toBe('e-email');
      expect(await second.locator('#f-email').getAttribute('aria-invalid')).toBe('true');
      // What was typed is kept, except the passwords.
      expect(await second.locator('#f-email').inputValue()).toBe('GRETA.Lind@Example.TEST');
      expect(await second.locator('#f-firstname').inputValue()).toBe('Gustav');
      expect(await second.locator('#f-lastname').inputValue()).toBe('Lindqvist');
      expect(await second.locator('#f-companyname1').inputValue()).toBe('Lindqvist AB');
      expect(await second.locator('#f-password').inputValue()).toBe('');
      expect(await second.locator('#f-confirmPassword').inputValue()).toBe('');
      // Not logged in as anybody.
      expect(await second.locator('header').getByRole('link', { name: 'Log in' }).isVisible()).toBe(true);

      // Only one account exists for that address.
      const rows = await t.ctx.knex('customers').whereRaw('lower(email) = ?', ['greta.lind@example.test']).count<Array<{ count: string }>>('* as count');
      expect(Number(rows[0]!.count)).toBe(1);
    });
  });
});
