import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUploadWorker } from '../../workers/upload.worker.js';
import { closeAll } from '../support/browser.js';
import { startDashboardBrowser, type DashboardBrowser } from '../support/dashboard-browser.js';
import { pdfFile } from '../support/document-fixtures.js';
import { makeCustomer, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** F-DASH-8 in a real browser: an htmx multipart upload swaps the widget, the list polls until the check is done. */
describe('customer documents in a real browser', () => {
  let t: TestApp;
  let web: DashboardBrowser;
  let worker: ReturnType<typeof startUploadWorker>;
  let email: string;
  let customerId: number;

  beforeAll(async () => {
    t = await createTestApp();
    const shop = await makeShop(t.ctx.knex, { code: 'docs-e2e' });
    email = (await makeStaff(t.ctx.knex, { role: 'owner' })).email;
    customerId = (await makeCustomer(t.ctx.knex, [shop.id])).id;
    worker = startUploadWorker(t.ctx);
    web = await startDashboardBrowser(t);
  }, 60_000);

  afterAll(async () => {
    await worker?.close();
    await closeAll([], web, t);
  });

  it('uploads with htmx, shows "Checking…" until the worker is done, then toggles and deletes without a reload', async () => {
    const { page, problems } = await web.openDashboard({ email, password: PASSWORD }, customerId);
    // Survives only as long as the page is not reloaded.
    await page.evaluate(() => ((globalThis as unknown as { stillHere: boolean }).stillHere = true));
    const widget = page.locator('#w-documents');

    await worker.worker.pause();
    await widget.locator('#f-document-file').setInputFiles({ name: 'Contract.pdf', mimeType: 'application/pdf', buffer: pdfFile() });
    await widget.getByRole('button', { name: 'Upload', exact: true }).click();
    await expect.poll(() => widget.textContent(), { timeout: 10_000 }).toContain('Checking…');
    await expect.poll(() => page.locator('#toast').textContent(), { timeout: 5_000 }).toContain('“Contract.pdf” was uploaded and is being checked.');

    worker.worker.resume();
    // The list reloads itself every 2 s while the document is pending.
    await expect.poll(() => widget.locator('a.document-name').count(), { timeout: 15_000 }).toBe(1);
    expect(await widget.textContent()).not.toContain('Checking…');
    expect(await widget.textContent()).toContain('PDF');
    expect(await page.locator('#document-list').getAttribute('hx-trigger')).toBeNull();

    await widget.getByRole('button', { name: 'Show to customer' }).click();
    await expect.poll(() => widget.textContent(), { timeout: 5_000 }).toContain('Visible to customer');

    await widget.getByRole('link', { name: 'Delete' }).click();
    const dialog = page.locator('dialog#modal');
    await expect.poll(() => dialog.isVisible(), { timeout: 5_000 }).toBe(true);
    await dialog.getByRole('button', { name: 'Delete document' }).click();
    await expect.poll(() => widget.textContent(), { timeout: 5_000 }).toContain('No documents yet.');
    expect(await dialog.isVisible()).toBe(false);

    expect(await page.evaluate(() => (globalThis as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
    expect(problems).toEqual([]);
  }, 60_000);
});
