import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll } from '../support/browser.js';
import { isModalOpen, POLL, screenshots, startDashboardBrowser, type DashboardBrowser } from '../support/dashboard-browser.js';
import { makeAddress, makeCustomer, makeOrder, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** With SCREENSHOTS_DIR set, the steps are also saved as PNGs for a person to look at. */
const shoot = screenshots('gdpr');

/** F-CUST-9 in a real browser: the erase confirmation in the dashboard's <dialog>, every widget updated without a reload. */
describe('GDPR erasure in a real browser', () => {
  let t: TestApp;
  let web: DashboardBrowser;
  let staffEmail: string;
  let customer: { id: number; email: string };

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    const shop = await makeShop(knex, { code: 'gdprweb', name: 'GDPR Web' });
    staffEmail = (await makeStaff(knex, { role: 'owner' })).email;
    customer = await makeCustomer(knex, [shop.id], { email: 'erase.me@example.test', firstName: 'Erin', lastName: 'Erasable' });
    await makeAddress(knex, customer.id, { isDefaultBilling: true, isDefaultShipping: true });
    await makeOrder(knex, customer.id, shop.id, 1_999);
    web = await startDashboardBrowser(t);
  });

  afterAll(() => closeAll([], web, t));

  it('confirms with the e-mail in the modal, refuses a mismatch in place, and updates the dashboard without a reload', async () => {
    const { page, problems } = await web.openDashboard({ email: staffEmail, password: PASSWORD }, customer.id);
    await page.evaluate('window.__marker = 1');

    await page.locator('#w-privacy').getByRole('link', { name: 'Erase personal data…' }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(true);
    const dialog = page.locator('dialog#modal');
    await shoot(page, '01-confirm');

    await dialog.locator('#f-email').fill('someone.else@example.test');
    await dialog.getByRole('button', { name: 'Erase personal data' }).click();
    await dialog.locator('#e-email').waitFor();
    expect(await dialog.locator('#e-email').textContent()).toContain('not this customer’s e-mail address');
    await shoot(page, '02-mismatch');

    await dialog.locator('#f-email').fill(customer.email);
    await dialog.getByRole('button', { name: 'Erase personal data' }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(false);
    await expect.poll(() => page.locator('#w-privacy').textContent(), POLL).toContain('Personal data erased on');
    await expect.poll(() => page.locator('#w-info h1').textContent(), POLL).toBe(`Erased customer #${customer.id}`);
    await expect.poll(() => page.locator('#w-timeline').textContent(), POLL).toContain('Personal data erased (GDPR)');
    expect(await page.locator('#w-info').textContent()).not.toContain('Erasable');
    expect(await page.evaluate('window.__marker')).toBe(1);
    await shoot(page, '03-erased');
    // The refused confirmation's 422 is the browser logging the answer, not a fault.
    expect(problems.filter((p) => !p.includes('status of 422'))).toEqual([]);
  });
});
