import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData, type DemoLogins } from '../../seeds/demo.seed.js';
import { closeAll } from '../support/browser.js';
import { ADMIN, isModalOpen, POLL, screenshots, startDashboardBrowser, type DashboardBrowser } from '../support/dashboard-browser.js';
import { makeCustomer } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** With SCREENSHOTS_DIR set, the steps are also saved as PNGs for a person to look at. */
const screenshot = screenshots('dash', { fullPage: 'unlessModal' });

const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
} as const;

/** The customer dashboard in a real browser: modals in a <dialog>, saves that swap widgets, no reloads. */
describe('customer dashboard in a real browser', () => {
  let t: TestApp;
  let web: DashboardBrowser;
  let logins: DemoLogins;
  let customerId: number;

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    logins = await seedDemoData(knex, { customers: 30 });
    // An active customer the dashboard has plenty to show for: orders, tags and two addresses.
    const rich = await knex('customers as c')
      .join('customerTags as t', 't.customerId', 'c.id')
      .join('orders as o', 'o.customerId', 'c.id')
      .join('addresses as a', 'a.customerId', 'c.id')
      .where('c.state', 'active')
      .groupBy('c.id')
      .orderByRaw('count(DISTINCT a.id) DESC, count(DISTINCT o.id) DESC, c.id')
      .first('c.id');
    customerId = Number(rich.id);
    web = await startDashboardBrowser(t);
  });

  afterAll(() => closeAll([], web, t));

  const open = (variant: keyof typeof VIEWPORTS, id = customerId) => web.openDashboard(logins.owner, id, VIEWPORTS[variant]);

  const dialog = (page: Page) => page.locator('dialog#modal');
  const shoot = (page: Page, name: string, variant: string) => screenshot(page, `${name}-${variant}`);

  it('shows the newer answer when a widget reloads again while its last reload is still loading', async () => {
    const { page, problems } = await open('desktop');
    // The first reload's answer is read at once and held back for 800 ms; the later ones pass.
    let reloads = 0;
    let firstAnswered!: () => void;
    const answered = new Promise<void>((resolve) => (firstAnswered = resolve));
    await page.route(
      (url) => url.pathname === `/admin/customers/${customerId}/widgets/notes`,
      async (route) => {
        if (++reloads > 1) return route.continue();
        // Fetched from the test process, which does not resolve *.localhost: sent to 127.0.0.1 with the page's Host.
        const url = new URL(route.request().url());
        const headers = { ...route.request().headers(), host: url.host };
        url.hostname = '127.0.0.1';
        const response = await route.fetch({ url: url.toString(), headers });
        firstAnswered();
        await new Promise((resolve) => setTimeout(resolve, 800));
        await route.fulfill({ response }).catch(() => undefined); // aborted by the newer reload
      },
    );
    const reload = () => page.evaluate("document.body.dispatchEvent(new CustomEvent('notesChanged', { bubbles: true }))");
    await reload();
    await answered;
    const author = await t.ctx.knex('staffUsers').where({ email: logins.owner.email }).first('id', 'name');
    await t.ctx.knex('customerNotes').insert({ customerId, authorStaffId: author.id, authorName: author.name, body: 'Written while the widget reloaded' });
    await reload();
    await expect.poll(() => page.locator('#w-notes').textContent(), POLL).toContain('Written while the widget reloaded');
    // Still there once the held answer's time is up.
    await page.waitForTimeout(1_000);
    expect(await page.locator('#w-notes').textContent()).toContain('Written while the widget reloaded');
    expect(problems).toEqual([]);
  });

  it("keeps the Shops widget's other buttons disabled while one of its changes is saving, so no answer is lost", async () => {
    const knex = t.ctx.knex;
    const shops = (await knex('shops').orderBy('id').limit(2).select('id', 'name')) as Array<{ id: number; name: string }>;
    const customer = await makeCustomer(knex, shops.map((shop) => shop.id), { email: 'two.shops@example.test' }, 'disabled');
    const { page, problems } = await open('desktop', customer.id);
    // Every save of the widget takes 600 ms longer, so the first is still saving when the second button is pressed.
    await page.route(
      (url) => /\/shops\/\d+\/status$/.test(url.pathname),
      async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 600));
        await route.continue();
      },
    );
    const widget = page.locator('#w-shops');
    const enable = (shop: { name: string }) => widget.locator('li', { hasText: shop.name }).getByRole('button', { name: 'Enable' });
    await enable(shops[0]!).click();
    await expect.poll(() => enable(shops[1]!).isDisabled(), POLL).toBe(true);
    await expect.poll(() => widget.locator('li', { hasText: shops[0]!.name }).getByRole('button').textContent(), POLL).toBe('Disable');
    expect(await enable(shops[1]!).isDisabled()).toBe(false);
    await enable(shops[1]!).click();
    await expect.poll(() => widget.getByRole('button', { name: 'Disable' }).count(), POLL).toBe(2);
    const statuses = await knex('customerShops').where({ customerId: customer.id }).orderBy('shopId').pluck('status');
    expect(statuses).toEqual(['active', 'active']);
    expect(problems).toEqual([]);
  });

  for (const variant of Object.keys(VIEWPORTS) as Array<keyof typeof VIEWPORTS>) {
    it(`adjusts credit in the modal and sees the balance change without a reload (${variant})`, async () => {
      const { page, problems } = await open(variant);
      await shoot(page, '01-dashboard', variant);
      // In one column (a phone) the customer's own card comes first and the timeline after every other widget.
      const top = (id: string) => page.locator(id).evaluate((el) => el.getBoundingClientRect().top);
      if (variant === 'phone') {
        for (const side of ['#w-purchaseLimit', '#w-quotes', '#w-groups']) {
          expect(await top('#w-info')).toBeLessThan(await top(side));
          expect(await top(side)).toBeLessThan(await top('#w-timeline'));
        }
      }
      await page.evaluate('window.__marker = 1');

      await page.locator('#w-credit').getByRole('link', { name: 'Adjust' }).first().click();
      await expect.poll(() => isModalOpen(page), POLL).toBe(true);
      await shoot(page, '02-credit-modal', variant);

      // Refused: the modal stays open with the message under the field.
      await dialog(page).getByLabel('Amount').fill('-100000');
      await dialog(page).getByLabel('Reason').fill('Too much');
      await dialog(page).getByRole('button', { name: 'Book adjustment' }).click();
      await dialog(page).locator('#e-amount').waitFor();
      expect(await dialog(page).locator('#e-amount').textContent()).toContain('The balance is');
      await shoot(page, '03-credit-refused', variant);

      await dialog(page).getByLabel('Amount').fill('25');
      await dialog(page).getByLabel('Reason').fill('Goodwill for a late parcel');
      await dialog(page).getByRole('button', { name: 'Book adjustment' }).click();
      await expect.poll(() => isModalOpen(page), POLL).toBe(false);
      await expect.poll(() => page.locator('#w-credit .balance-amount').first().textContent(), POLL).toBe(variant === 'desktop' ? '€25.00' : '€50.00');
      // The timeline reloaded itself on the HX-Trigger event.
      await expect.poll(() => page.locator('#w-timeline').textContent(), POLL).toContain('Goodwill for a late parcel');
      await page.locator('#toast .toast-message').waitFor();
      await shoot(page, '04-credit-booked', variant);
      expect(await page.evaluate('window.__marker')).toBe(1);
      expect(problems.filter((p) => !p.includes('status of 422') && !p.includes('status of 409'))).toEqual([]);
    });

    it(`edits the customer and the address book in modals (${variant})`, async () => {
      const { page, problems } = await open(variant);
      await page.evaluate('window.__marker = 1');

      await page.locator('#w-info').getByRole('link', { name: 'Edit', exact: true }).click();
      await dialog(page).getByLabel('Department').waitFor();
      await shoot(page, '05-edit-modal', variant);
      await dialog(page).getByLabel('Department').fill(`Purchasing ${variant}`);
      await dialog(page).getByRole('button', { name: 'Save customer' }).click();
      await expect.poll(() => isModalOpen(page), POLL).toBe(false);
      await expect.poll(() => page.locator('#w-timeline').textContent(), POLL).toContain(`Purchasing ${variant}`);

      await page.locator('#w-info').getByRole('link', { name: /Address book/ }).click();
      await dialog(page).getByRole('heading', { name: 'Address book' }).waitFor();
      await shoot(page, '06-address-book', variant);
      await dialog(page).getByRole('link', { name: 'Add address' }).click();
      await dialog(page).getByLabel('Street and number').waitFor();
      await dialog(page).getByLabel('Street and number').fill('1 New Street');
      await dialog(page).getByLabel('City').fill('Tromsø');
      await dialog(page).getByLabel('Country code').fill('NO');
      await dialog(page).getByLabel('Default shipping address').check();
      await shoot(page, '07-address-form', variant);
      await dialog(page).getByRole('button', { name: 'Add address' }).click();
      await dialog(page).getByRole('heading', { name: 'Address book' }).waitFor();
      await dialog(page).getByRole('link', { name: 'Done' }).click();
      await expect.poll(() => isModalOpen(page), POLL).toBe(false);
      // The info widget reloaded itself: the new default shipping address is shown.
      await expect.poll(() => page.locator('#w-info').textContent(), POLL).toContain('Tromsø');

      await page.locator('#w-notes').getByRole('link', { name: 'Add note' }).click();
      await dialog(page).getByLabel('Note').fill('<b>Called</b> about the invoice.\nWill pay Friday.');
      await dialog(page).getByRole('button', { name: 'Add note' }).click();
      await expect.poll(() => page.locator('#w-notes').textContent(), POLL).toContain('<b>Called</b> about the invoice.');
      await shoot(page, '08-after-edits', variant);
      expect(await page.evaluate('window.__marker')).toBe(1);
      expect(problems.filter((p) => !p.includes('status of 422') && !p.includes('status of 409'))).toEqual([]);
    });

    it(`shows the full-page fallbacks and the delete refusal (${variant})`, async () => {
      const { page, problems } = await open(variant);
      await page.goto(web.server.url(ADMIN, `/admin/customers/${customerId}/orders`));
      await shoot(page, '09-orders-all', variant);
      await page.goto(web.server.url(ADMIN, `/admin/customers/${customerId}/edit`));
      await shoot(page, '10-edit-page', variant);
      await page.goto(web.server.url(ADMIN, `/admin/customers/${customerId}/delete`));
      expect(await page.locator('.alert-error').textContent()).toContain('cannot be deleted');
      await shoot(page, '11-delete-refused', variant);
      await page.goto(web.server.url(ADMIN, `/admin/customers/${customerId}/timeline`));
      await shoot(page, '12-timeline-all', variant);
      expect(problems.filter((p) => !p.includes('status of 422') && !p.includes('status of 409'))).toEqual([]);
    });
  }
});
