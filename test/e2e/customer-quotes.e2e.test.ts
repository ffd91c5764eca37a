import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData, type DemoLogins } from '../../seeds/demo.seed.js';
import { closeAll } from '../support/browser.js';
import { isModalOpen, POLL, screenshots, startDashboardBrowser, type DashboardBrowser } from '../support/dashboard-browser.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** With SCREENSHOTS_DIR set, the steps are also saved as PNGs for a person to look at. */
const shoot = screenshots('quotes');

/** The Quotes module and subscriptions in a real browser: modals, widgets swapped, "view all" staying open. */
describe('quotes and subscriptions in a real browser', () => {
  let t: TestApp;
  let web: DashboardBrowser;
  let logins: DemoLogins;
  let aliceId: number;

  beforeAll(async () => {
    t = await createTestApp();
    logins = await seedDemoData(t.ctx.knex, { customers: 12 });
    aliceId = Number((await t.ctx.knex('customers').where({ email: 'alice@example.test' }).first('id')).id);
    web = await startDashboardBrowser(t);
  });
  afterAll(() => closeAll([], web, t));

  it('creates a quote and a subscription in the modal, then sends the quote from "view all"', async () => {
    const { page, problems } = await web.openDashboard(logins.owner, aliceId);
    const dialog = page.locator('dialog#modal');
    const widget = page.locator('#w-quotes');
    // The seeded current quotes (a draft and a sent one) are on the dashboard.
    await expect.poll(() => widget.locator('tbody tr').count(), POLL).toBe(2);

    await widget.getByRole('link', { name: 'Create quote' }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(true);
    if (await dialog.locator('select[name="shop"]').count()) await dialog.getByRole('button', { name: 'Continue' }).click();
    await dialog.locator('#f-product1').selectOption({ index: 1 });
    await dialog.locator('#f-quantity1').fill('4');
    await dialog.locator('#f-note').fill('Browser quote <b>bold</b>');
    await shoot(page, '01-create');
    await dialog.getByRole('button', { name: 'Create quote' }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(false);
    await expect.poll(() => widget.locator('tbody tr').count(), POLL).toBe(3);
    await expect.poll(() => page.locator('#toast').textContent(), POLL).toMatch(/Quote Q-\d{5} \(€[\d,.]+\) was created/);
    await expect.poll(() => page.locator('#w-timeline').textContent(), POLL).toMatch(/Quote Q-\d{5} created/);
    const number = (await widget.locator('tbody tr td').first().textContent())!.trim();

    await widget.getByRole('link', { name: 'View all' }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(true);
    const row = dialog.locator('tbody tr', { hasText: number });
    await expect.poll(() => row.textContent(), POLL).toContain('Browser quote <b>bold</b>');
    await shoot(page, '02-view-all');
    await row.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => row.locator('.badge').textContent(), POLL).toBe('sent');
    expect(await isModalOpen(page)).toBe(true);
    await expect.poll(() => widget.locator('tbody tr', { hasText: number }).locator('.badge').textContent(), POLL).toBe('sent');
    await dialog.locator('[data-close-modal]').first().click();

    const subscriptions = page.locator('#w-subscriptions');
    const before = await subscriptions.locator('tbody tr').count();
    await subscriptions.getByRole('link', { name: 'Add subscription' }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(true);
    if (await dialog.locator('select[name="shop"]').count()) await dialog.getByRole('button', { name: 'Continue' }).click();
    await dialog.locator('#f-productId').selectOption({ index: 2 });
    await dialog.locator('#f-quantity').fill('0');
    await dialog.getByRole('button', { name: 'Add subscription' }).click();
    // Refused by the server (the field has no min): the modal stays, with the message.
    await expect.poll(() => dialog.locator('#e-quantity').textContent(), POLL).toBe('Enter a whole number from 1 to 999.');
    await dialog.locator('#f-quantity').fill('2');
    await dialog.locator('#f-interval').selectOption('quarterly');
    await shoot(page, '03-subscription');
    await dialog.getByRole('button', { name: 'Add subscription' }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(false);
    await expect.poll(() => subscriptions.locator('tbody tr').count(), POLL).toBe(Math.min(before + 1, 6));
    await expect.poll(() => subscriptions.locator('tbody tr').first().textContent(), POLL).toContain('every 3 months');
    await shoot(page, '04-dashboard');
    // The refused save's 422 shows as a console error; nothing else may.
    expect(problems.filter((p) => !p.includes('status of 422'))).toEqual([]);
  });
});
