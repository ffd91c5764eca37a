import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginCustomer, loginStaff, type Agent } from '../support/agents.js';
import { auditOf, getHtmx, postForm, sectionText, triggers } from '../support/dashboard.js';
import { makeCustomer, makeShop, makeStaff } from '../support/factories.js';
import { escapeHtml, fieldError, textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** Notes (F-DASH-3, F-CUST-6), shop assignments (F-DASH-9, F-CUST-2) and the timeline pages (F-CUST-7). */
describe('customer dashboard: notes, shops and timeline', () => {
  let t: TestApp;
  let shop: { id: number }, second: { id: number };
  let owner: Agent;

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    shop = await makeShop(knex, { code: 'notes', name: 'Notes Shop', hostname: 'notes.localhost' });
    second = await makeShop(knex, { code: 'second', name: 'Second Shop' });
    const staff = await makeStaff(knex, { role: 'owner' });
    await knex('staffUsers').where({ id: staff.id }).update({ name: 'Nora Notetaker' });
    owner = await loginStaff(t.app, staff.email);
  });
  afterAll(() => t?.close());

  describe('notes', () => {
    it('shows the 3 most recent notes, author-stamped, and all of them on "view all"', async () => {
      const c = await makeCustomer(t.ctx.knex, [shop.id]);
      for (const body of ['one', 'two', 'three', 'four']) expect((await postForm(owner, `/admin/customers/${c.id}/notes/new`, { body })).status).toBe(303);
      const widget = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-notes');
      expect(widget).toContain('Notes 4');
      expect(widget.indexOf('four')).toBeLessThan(widget.indexOf('three'));
      expect(widget).not.toMatch(/\bone\b/);
      expect(widget).toContain('Nora Notetaker');
      expect(widget).toContain('View all');
      const all = textOf((await owner.get(`/admin/customers/${c.id}/notes`)).text);
      for (const body of ['one', 'two', 'three', 'four']) expect(all).toContain(body);
      expect(await t.ctx.knex('customerNotes').where({ customerId: c.id, body: 'one' }).first('authorName')).toEqual({ authorName: 'Nora Notetaker' });
    });

    it('renders a note with markup, htmx attributes or script escaped and inert', async () => {
      const c = await makeCustomer(t.ctx.knex, [shop.id]);
      const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)><a hx-get="/admin/logout" hx-trigger="load">x</a>\nsecond line`;
      const saved = await postForm(owner, `/admin/customers/${c.id}/notes/new`, { body: hostile }, { htmx: true });
      expect(saved.status).toBe(200);
      for (const html of [saved.text, (await owner.get(`/admin/customers/${c.id}`)).text, (await owner.get(`/admin/customers/${c.id}/notes`)).text]) {
        expect(html).not.toContain('<script>alert(1)');
        expect(html).not.toContain('<img src=x');
        expect(html).not.toContain('<a hx-get="/admin/logout"');
        expect(html).toContain(escapeHtml('<script>alert(1)</script>'));
      }
    });

    it('refuses an empty or oversized note with a field message (422)', async () => {
      const c = await makeCustomer(t.ctx.knex, [shop.id]);
      const empty = await postForm(owner, `/admin/customers/${c.id}/notes/new`, { body: '   ' }, { htmx: true });
      expect(empty.status).toBe(422);
      expect(fieldError(empty.text, 'body')).toBe('Write the note.');
      const huge = await postForm(owner, `/admin/customers/${c.id}/notes/new`, { body: 'x'.repeat(5001) });
      expect(huge.status).toBe(422);
      expect(fieldError(huge.text, 'body')).toBe('A note can be at most 5000 characters.');
    });
  });

  describe('shop assignments', () => {
    it('disables the customer in a shop, writes the e-mail to the outbox and ends their shop session', async () => {
      const knex = t.ctx.knex;
      const c = await makeCustomer(knex, [shop.id, second.id], { email: 'disable-me@example.test', firstName: 'Dina' });
      const session = await loginCustomer(t.app, 'notes.localhost', 'disable-me@example.test');
      const response = await postForm(owner, `/admin/customers/${c.id}/shops/${shop.id}/status`, { status: 'disabled' }, { htmx: true });
      expect(response.status).toBe(200);
      expect(response.headers['hx-retarget']).toBe('#w-shops');
      expect(triggers(response)).toEqual({ closeModal: { target: 'body' }, timelineChanged: { target: 'body' } });
      expect(textOf(response.text)).toContain('Notes Shop Disabled');
      expect(await knex('customerShops').where({ customerId: c.id, shopId: shop.id }).first('status')).toEqual({ status: 'disabled' });
      expect(await knex('customerShops').where({ customerId: c.id, shopId: second.id }).first('status')).toEqual({ status: 'active' });

      const mail = await knex('mailOutbox').where({ customerId: c.id, template: 'assignment-disabled' }).first();
      expect(mail).toMatchObject({ toAddress: 'disable-me@example.test', shopId: shop.id, subject: 'Your account at Notes Shop has been disabled' });
      expect(mail.textBody).toContain('Hello Dina,');
      expect((await session.get('/account')).status).not.toBe(200);

      const [entry] = await auditOf(knex, c.id);
      expect(entry).toMatchObject({ action: 'assignment.status_changed', shopId: shop.id, changes: { fields: { 'status in Notes Shop': { from: 'active', to: 'disabled' } } } });
      expect(sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-timeline')).toContain('Disabled in Notes Shop');

      // The same again changes nothing and sends nothing.
      await postForm(owner, `/admin/customers/${c.id}/shops/${shop.id}/status`, { status: 'disabled' });
      expect(Number((await knex('mailOutbox').where({ customerId: c.id }).count({ n: '*' }).first())!.n)).toBe(1);
    });

    it('approves a pending assignment (highlighted) and tells the customer', async () => {
      const knex = t.ctx.knex;
      const c = await makeCustomer(knex, [shop.id], { email: 'pending@example.test' }, 'pending_approval');
      const widget = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-shops');
      expect(widget).toContain('Awaiting approval');
      expect(widget).toContain('Approve');
      const response = await postForm(owner, `/admin/customers/${c.id}/shops/${shop.id}/status`, { status: 'active' });
      expect(response.status).toBe(303);
      const mail = await knex('mailOutbox').where({ customerId: c.id }).first();
      expect(mail).toMatchObject({ template: 'assignment-activated', subject: 'Your account at Notes Shop is active' });
      expect(mail.textBody).toContain('your registration has been approved');
      expect(mail.textBody).toContain('http://notes.localhost');
    });

    it('answers 404 for a shop the customer is not in, and 422 for an unknown status', async () => {
      const c = await makeCustomer(t.ctx.knex, [shop.id]);
      expect((await postForm(owner, `/admin/customers/${c.id}/shops/${second.id}/status`, { status: 'disabled' })).status).toBe(404);
      expect((await postForm(owner, `/admin/customers/${c.id}/shops/${shop.id}/status`, { status: 'deleted' })).status).toBe(422);
    });
  });

  describe('timeline', () => {
    it('lists every change newest first, and pages through all of them', async () => {
      const knex = t.ctx.knex;
      const c = await makeCustomer(knex, [shop.id]);
      for (let i = 1; i <= 60; i++) await postForm(owner, `/admin/customers/${c.id}/notes/new`, { body: `note ${i}` });
      const widget = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-timeline');
      expect(widget.indexOf('note 60')).toBeLessThan(widget.indexOf('note 59'));
      expect(widget).toContain('View all');
      const first = await owner.get(`/admin/customers/${c.id}/timeline`);
      expect((first.text.match(/class="timeline-entry"/g) ?? []).length).toBe(50);
      const next = /rel="next" href="([^"]+)"/.exec(first.text)![1]!.replace(/&amp;/g, '&');
      const second = await owner.get(next);
      expect((second.text.match(/class="timeline-entry"/g) ?? []).length).toBe(10);
      expect(textOf(second.text)).toContain('note 1');
      expect(second.text).not.toContain('rel="next"');
    });

    it('shows staff of one shop the customer-wide entries and their shop’s, not another shop’s', async () => {
      const knex = t.ctx.knex;
      const c = await makeCustomer(knex, [shop.id, second.id]);
      await postForm(owner, `/admin/customers/${c.id}/shops/${second.id}/status`, { status: 'disabled' });
      await postForm(owner, `/admin/customers/${c.id}/notes/new`, { body: 'visible to all' });
      const scoped = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [shop.id] })).email);
      const timeline = textOf((await scoped.get(`/admin/customers/${c.id}/timeline`)).text);
      expect(timeline).toContain('visible to all');
      expect(timeline).not.toContain('Second Shop');
      expect(await getHtmx(scoped, `/admin/customers/${c.id}/widgets/timeline`).then((r) => r.text)).not.toContain('Second Shop');
    });
  });
});
