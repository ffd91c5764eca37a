import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll } from '../support/browser.js';
import { POLL, screenshots, startDashboardBrowser, type DashboardBrowser } from '../support/dashboard-browser.js';
import { makeCustomer, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const SHOP = 'inv-e2e.localhost';
/** With SCREENSHOTS_DIR set, the steps are also saved as PNGs for a person to look at. */
const shot = screenshots('invitations', { fullPage: true });

/** F-LIFE-2 in a real browser: invite from the shops widget (htmx), follow the link, set a password, land in My Account. */
describe('invitations in a real browser', () => {
  let t: TestApp;
  let web: DashboardBrowser;
  let staffEmail: string;
  let customerId: number;

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    const shop = await makeShop(knex, { code: 'inv-e2e', name: 'Invite E2E Shop', hostname: SHOP });
    staffEmail = (await makeStaff(knex, { role: 'owner' })).email;
    customerId = (await makeCustomer(knex, [shop.id], { state: 'guest', email: 'browser.guest@example.test', firstName: 'Bea' })).id;
    web = await startDashboardBrowser(t);
  });
  afterAll(() => closeAll([], web, t));

  it('invites with htmx, then the customer sets a password through the link and is logged in; the link is then used up', async () => {
    const { page: admin, problems: adminProblems } = await web.openDashboard({ email: staffEmail, password: PASSWORD }, customerId);

    const widget = admin.locator('#w-shops');
    // A marker on the window survives an htmx swap but not a page load.
    await admin.evaluate('window.__sameDocument = true');
    await widget.getByRole('button', { name: 'Invite' }).click();
    await expect.poll(() => admin.locator('#toast').textContent(), POLL).toContain('The invitation to Invite E2E Shop is on its way.');
    await expect.poll(() => widget.getByRole('button', { name: 'Resend invitation' }).count(), POLL).toBe(1);
    expect(await admin.evaluate('window.__sameDocument === true')).toBe(true);
    await shot(admin, 'dashboard-invited');
    expect(adminProblems).toEqual([]);

    const mail = await t.ctx.knex('mailOutbox').where({ customerId, template: 'invitation' }).orderBy('id', 'desc').first('textBody');
    const link = /\/account\/invitation\/[A-Za-z0-9_-]{43}/.exec(mail.textBody as string)![0];

    const { page: customer, problems: customerProblems } = await web.openPage();
    await customer.goto(web.server.url(SHOP, link));
    await expect.poll(() => customer.locator('h1').textContent(), POLL).toBe('Choose your password');
    await shot(customer, 'set-password');
    await customer.locator('#f-password').fill('a browser passphrase 2026');
    await customer.locator('#f-confirmPassword').fill('a browser passphrase 2026');
    await customer.getByRole('button', { name: 'Set password and log in' }).click();
    await customer.waitForURL(/\/account$/);
    expect(await customer.locator('body').textContent()).toContain('Your password is set and your account at Invite E2E Shop is active.');
    await shot(customer, 'account');

    await customer.goto(web.server.url(SHOP, link));
    await expect.poll(() => customer.locator('h1').textContent(), POLL).toBe('Password token expired');
    await shot(customer, 'expired');
    // The used link answers 410 Gone on purpose; the browser reports that status and nothing else.
    expect(customerProblems).toEqual([expect.stringMatching(/^console: Failed to load resource: the server responded with a status of 410 \(Gone\)/)]);
    expect((await t.ctx.knex('customers').where({ id: customerId }).first('state')).state).toBe('active');
  });
});
