import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, launchBrowser, listen, newPage, watchForProblems, type LiveServer } from '../support/browser.js';
import { ADMIN, isModalOpen, logInAsStaff, POLL } from '../support/dashboard-browser.js';
import { makeCustomer, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** A free port, so the app's links (PUBLIC_PORT) point at the port it is then served on. */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Shop As Customer in a real browser (F-SAC-1, F-SAC-2): dashboard → modal → shop as the customer → overlay → end. */
describe('Shop As Customer in a real browser', () => {
  let t: TestApp;
  let live: LiveServer;
  let browser: Browser;
  const pages: Page[] = [];
  let login: { email: string; password: string };
  let customerId: number;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ env: { PUBLIC_PORT: String(port) } });
    const knex = t.ctx.knex;
    const shop = await makeShop(knex, { code: 'sace2e', name: 'Corner Shop', hostname: 'sac.localhost' });
    const staff = await makeStaff(knex, { role: 'owner' });
    login = { email: staff.email, password: PASSWORD };
    customerId = (await makeCustomer(knex, [shop.id], { firstName: 'Clara', lastName: 'Client' })).id;
    live = await listen(t.app, port);
    browser = await launchBrowser();
  });

  afterAll(() => closeAll(pages, browser, live, t));

  it('starts from "Create order", shops as the customer with the overlay, pins it to a corner and ends the session', async () => {
    const page = await newPage(browser);
    pages.push(page);
    const problems = watchForProblems(page);
    await logInAsStaff(page, live, login);
    await page.goto(live.url(ADMIN, `/admin/customers/${customerId}`));

    await page.locator('#w-orders').getByRole('link', { name: 'Create order' }).click();
    await expect.poll(() => isModalOpen(page), POLL).toBe(true);
    const dialog = page.locator('dialog#modal');
    expect(await dialog.textContent()).toContain('new session only');
    await dialog.getByLabel('Shop').selectOption({ label: 'Corner Shop' });
    await dialog.getByLabel('Reason').fill('Order taken by phone');
    await dialog.getByRole('button', { name: 'Start shopping as customer' }).click();

    await page.waitForURL(live.url('sac.localhost', '/account'));
    const overlay = page.locator('#sac-overlay');
    await overlay.waitFor();
    expect(await overlay.textContent()).toContain('Serving Clara Client · Corner Shop · cart: none yet');
    expect(await overlay.getAttribute('class')).toContain('sac-corner-bottom-right');
    const box = await overlay.boundingBox();
    expect(box!.y).toBeGreaterThan(400);

    await overlay.getByRole('button', { name: 'Move to the top left corner' }).click();
    await expect.poll(() => overlay.getAttribute('class'), POLL).toContain('sac-corner-top-left');
    await page.reload();
    await overlay.waitFor();
    await expect.poll(() => overlay.getAttribute('class'), POLL).toContain('sac-corner-top-left');
    const moved = await overlay.boundingBox();
    expect(moved!.y).toBeLessThan(100);
    expect(moved!.x).toBeLessThan(100);

    await overlay.getByRole('button', { name: 'End session' }).click();
    await page.waitForURL(live.url('sac.localhost', `/sac/ended?customer=${customerId}`));
    expect(await page.locator('#sac-back').getAttribute('href')).toBe(live.url(ADMIN, `/admin/customers/${customerId}`));
    // Typed (not a link from the shop host, which would arrive without the SameSite=Strict admin cookie):
    // the staff member is still logged in and the timeline shows the start and the end.
    await page.goto(live.url(ADMIN, `/admin/customers/${customerId}`));
    await page.locator('#w-timeline').waitFor();
    await expect.poll(() => page.locator('#w-timeline').textContent(), POLL).toContain('Shop As Customer ended in Corner Shop');
    expect(await page.locator('#w-timeline').textContent()).toContain('Order taken by phone');
    const row = await t.ctx.knex('sacSessions').where({ customerId }).first();
    expect(row).toMatchObject({ endReason: 'requested' });
    // The shop session is gone: My Account asks for a login again.
    await page.goto(live.url('sac.localhost', '/account'));
    await page.waitForURL(live.url('sac.localhost', '/account/login'));
    expect(await page.locator('#sac-overlay').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
