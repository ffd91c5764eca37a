import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData, type DemoLogins } from '../../seeds/demo.seed.js';
import { closeAll } from '../support/browser.js';
import { isModalOpen, POLL, screenshots, startDashboardBrowser, type DashboardBrowser } from '../support/dashboard-browser.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** With SCREENSHOTS_DIR set, the steps are also saved as PNGs for a person to look at. */
const shoot = screenshots('commerce', { fullPage: 'unlessModal' });

/** Price groups, payment cards and the purchase limit on alice's dashboard, in a real browser (htmx modals, no reloads, no CSP errors). */
describe('price groups, payment cards and purchase limit in a real browser', () => {
  let t: TestApp;
  let web: DashboardBrowser;
  let logins: DemoLogins;
  let aliceId: number;

  beforeAll(async () => {
    t = await createTestApp({ backend: 'postgres' });
    logins = await seedDemoData(t.ctx.knex, { customers: 20 });
    aliceId = Number((await t.ctx.knex('customers').where({ email: 'alice@example.test' }).first('id')).id);
    web = await startDashboardBrowser(t);
  });
  afterAll(() => closeAll([], web, t));

  it('adds a card (refused number comes back empty), assigns a price group and sets a limit without a reload', async () => {
    const { page, problems } = await web.openDashboard(logins.owner, aliceId);
    const text = (selector: string) => page.locator(selector).first().textContent().then((t) => (t ?? '').replace(/\s+/g, ' '));
    expect(await text('#w-priceGroups')).toContain('VIP customers');
    expect(await text('#w-cards')).toContain('Visa •••• 4242');
    expect(await text('#w-purchaseLimit')).toContain('€1,500.00 per month');
    await shoot(page, '01-dashboard');
    await page.evaluate('window.__marker = 1');

    // Add a card: a bad number is refused and the field comes back empty.
    await page.locator('#w-cards').getByRole('link', { name: 'Add card' }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(true);
    await page.locator('#f-holderName').fill('Alice Andersen');
    await page.locator('#f-number').fill('4111 1111 1111 1112');
    await page.locator('#f-expMonth').fill('11');
    await page.locator('#f-expYear').fill(String(new Date().getUTCFullYear() + 3));
    await page.locator('#modal').getByRole('button', { name: 'Add card' }).click();
    await page.locator('#modal #e-number').waitFor();
    expect(await text('#modal #e-number')).toContain('not a valid card number');
    expect(await page.locator('#modal #f-number').inputValue()).toBe('');
    expect(await page.locator('#modal #f-holderName').inputValue()).toBe('Alice Andersen');
    await shoot(page, '02-card-refused');
    await page.locator('#f-number').fill('3782 822463 10005');
    await page.locator('#modal').getByRole('button', { name: 'Add card' }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(false);
    await expect.poll(() => text('#w-cards'), POLL).toContain('American Express •••• 0005');

    // Assign a price group from the "view all" modal; the widget behind it reloads.
    await page.locator('#w-priceGroups').getByRole('link', { name: /View all/ }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(true);
    await page.locator('#modal #f-priceGroupId').selectOption({ label: 'Trade partners (priority 80)' });
    await page.locator('#modal').getByRole('button', { name: 'Assign', exact: true }).click();
    await expect.poll(() => text('#toast'), POLL).toContain('Price group “Trade partners” assigned.');
    await expect.poll(() => text('#w-priceGroups'), POLL).toContain('Trade partners');
    await shoot(page, '03-price-groups');
    await page.locator('#modal-body').getByRole('link', { name: 'Done' }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(false);

    // Change the purchase limit.
    await page.locator('#w-purchaseLimit').getByRole('link', { name: 'Edit', exact: true }).first().click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(true);
    await page.locator('#f-amount').fill('2000');
    await shoot(page, '04-limit-modal');
    await page.locator('#modal').getByRole('button', { name: 'Save limit' }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(false);
    await expect.poll(() => text('#w-purchaseLimit'), POLL).toContain('€2,000.00 per month');
    await expect.poll(() => text('#w-timeline'), POLL).toContain('Purchase limit changed');
    await shoot(page, '05-after');

    expect(await page.evaluate('window.__marker')).toBe(1);
    // The refused card answers 422 on purpose; the browser reports that as a console error.
    expect(problems.filter((p) => !p.includes('status of 422'))).toEqual([]);
  });
});
