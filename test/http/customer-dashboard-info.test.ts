import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../app/auth/password.js';
import { loginCustomer, loginStaff, type Agent } from '../support/agents.js';
import { auditOf, getHtmx, postForm, sectionText, triggers } from '../support/dashboard.js';
import { makeAddress, makeCustomer, makeOrder, makeSalesTeam, makeShop, makeStaff } from '../support/factories.js';
import { fieldError, inputValue, textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** F-DASH-1 customer information: edit (F-CUST-1/4), change password (F-CUST-8), tags, delete (F-CUST-4). */
describe('customer dashboard: customer information', () => {
  let t: TestApp;
  let shop: { id: number }, other: { id: number };
  let owner: Agent, support: Agent;
  let ownerId: number;

  /** Every field of the edit form, as a browser sends it (unchecked boxes are absent). */
  const detailsForm = (overrides: Record<string, string> = {}) => ({
    email: 'edit@example.test',
    salutation: '',
    firstName: 'Edda',
    middleName: '',
    lastName: 'Editor',
    phone: '',
    customerType: 'B2C',
    pricingPolicy: '',
    companyName1: '',
    companyName2: '',
    department: '',
    businessAccountId: '',
    salesTeamId: '',
    b2bReference: '',
    b2bEmployeeId: '',
    b2bChargeId: '',
    requireApprovalOver: '',
    blockCheckoutOver: '',
    ...overrides,
  });

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    shop = await makeShop(knex, { code: 'info', name: 'Info Shop', hostname: 'info.localhost' });
    other = await makeShop(knex, { code: 'elsewhere', name: 'Elsewhere' });
    const staff = await makeStaff(knex, { role: 'owner' });
    ownerId = staff.id;
    await knex('staffUsers').where({ id: staff.id }).update({ name: 'Olga Owner' });
    owner = await loginStaff(t.app, staff.email);
    support = await loginStaff(t.app, (await makeStaff(knex, { role: 'support', shopIds: [shop.id] })).email);
  });
  afterAll(() => t?.close());

  describe('edit customer', () => {
    it('saves the fields, answers htmx with the info widget, and records before/after on the timeline', async () => {
      const c = await makeCustomer(t.ctx.knex, [shop.id], { email: 'edda@example.test', firstName: 'Edda', lastName: 'Old' });
      const response = await postForm(
        owner,
        `/admin/customers/${c.id}/edit`,
        detailsForm({ email: 'Edda.New@Example.test', lastName: 'New', phone: '+47 123', customerType: 'B2B', companyName1: 'Fjord AS', marketingOptIn: 'on', requireApprovalOver: '1500.50' }),
        { htmx: true },
      );
      expect(response.status).toBe(200);
      expect(response.headers['hx-retarget']).toBe('#w-info');
      expect(triggers(response)).toMatchObject({ closeModal: { target: 'body' }, timelineChanged: { target: 'body' } });
      const widget = textOf(response.text);
      expect(widget).toContain('Edda New');
      expect(widget).toContain('Edda.New@Example.test');
      expect(widget).toContain('Fjord AS');

      const saved = await t.ctx.knex('customers').where({ id: c.id }).first();
      expect(saved).toMatchObject({ email: 'Edda.New@Example.test', lastName: 'New', phone: '+47 123', customerType: 'B2B', companyName1: 'Fjord AS', marketingOptIn: true, requireApprovalOver: 150050 });

      const [entry] = await auditOf(t.ctx.knex, c.id);
      expect(entry!.action).toBe('customer.updated');
      expect(entry!.actorId).toBe(ownerId);
      expect(entry!.changes.fields).toMatchObject({
        email: { from: 'edda@example.test', to: 'Edda.New@Example.test' },
        lastName: { from: 'Old', to: 'New' },
        marketingOptIn: { from: false, to: true },
        requireApprovalOver: { from: null, to: 150050 },
      });
      expect(Object.keys(entry!.changes.fields)).not.toContain('firstName');

      const page = await owner.get(`/admin/customers/${c.id}`);
      const timeline = sectionText(page.text, 'w-timeline');
      expect(timeline).toContain('Customer details changed');
      expect(timeline).toContain('Olga Owner');
      expect(timeline).toContain('E-mail: edda@example.test → Edda.New@Example.test');
      expect(timeline).toContain('Approval needed over: — → 1500.50');
    });

    it('refuses an e-mail already in use, compared case-insensitively, with a clear message (422)', async () => {
      const knex = t.ctx.knex;
      await makeCustomer(knex, [other.id], { email: 'taken@example.test' });
      const c = await makeCustomer(knex, [shop.id], { email: 'mine@example.test' });
      for (const htmx of [true, false]) {
        const response = await postForm(owner, `/admin/customers/${c.id}/edit`, detailsForm({ email: 'TAKEN@Example.TEST', firstName: 'Kept' }), { htmx });
        expect(response.status).toBe(422);
        expect(fieldError(response.text, 'email')).toBe('Another customer account already uses this e-mail address.');
        // The form comes back with what was typed, as a modal for htmx and as a page without.
        expect(inputValue(response.text, 'firstName')).toBe('Kept');
        expect(response.text.includes('<html')).toBe(!htmx);
      }
      expect((await knex('customers').where({ id: c.id }).first()).email).toBe('mine@example.test');
      // Changing only the case of one's own address is fine.
      expect((await postForm(owner, `/admin/customers/${c.id}/edit`, detailsForm({ email: 'MINE@example.test' }))).status).toBe(303);
    });

    it('shows field messages for invalid values and changes nothing', async () => {
      const c = await makeCustomer(t.ctx.knex, [shop.id], { email: 'valid@example.test' });
      const response = await postForm(owner, `/admin/customers/${c.id}/edit`, detailsForm({ email: 'not-an-email', customerType: 'ALIEN', blockCheckoutOver: '12,345.00', firstName: 'a\u0007b' }), { htmx: true });
      expect(response.status).toBe(422);
      expect(fieldError(response.text, 'email')).toBe('Enter a valid e-mail address, like name@example.com.');
      expect(fieldError(response.text, 'customerType')).toBe('Choose a customer type.');
      expect(fieldError(response.text, 'blockCheckoutOver')).toContain('must be an amount');
      expect(fieldError(response.text, 'firstName')).toContain('control characters');
      expect((await t.ctx.knex('customers').where({ id: c.id }).first()).email).toBe('valid@example.test');
    });

    it('shows the tax-exempt badge for the customer’s own flag or their business account’s (F-CUST-5)', async () => {
      const knex = t.ctx.knex;
      const [exemptCompany] = await knex('businessAccounts').insert({ name: 'Exempt Org', taxExempt: true }).returning('id');
      const [plainCompany] = await knex('businessAccounts').insert({ name: 'Plain Ltd' }).returning('id');
      const plain = await makeCustomer(knex, [shop.id]);
      const badge = async (id: number) => sectionText((await owner.get(`/admin/customers/${id}`)).text, 'w-info');
      expect(await badge(plain.id)).not.toContain('Tax exempt');

      await postForm(owner, `/admin/customers/${plain.id}/edit`, detailsForm({ email: 'viaorg@example.test', businessAccountId: String(exemptCompany.id) }));
      expect(await badge(plain.id)).toContain('Tax exempt Customer since');
      expect(await badge(plain.id)).toContain('tax exempt via business account Exempt Org');

      await postForm(owner, `/admin/customers/${plain.id}/edit`, detailsForm({ email: 'viaorg@example.test', businessAccountId: String(plainCompany.id), taxExempt: 'on' }));
      const own = await badge(plain.id);
      expect(own).toContain('tax exempt via customer');
      expect(own).toContain('Business account Plain Ltd');
      const [entry] = await auditOf(knex, plain.id);
      expect(entry!.changes.fields.businessAccountId).toEqual({ from: 'Exempt Org', to: 'Plain Ltd' });

      const unknown = await postForm(owner, `/admin/customers/${plain.id}/edit`, detailsForm({ email: 'viaorg@example.test', businessAccountId: '999999' }));
      expect(unknown.status).toBe(422);
      expect(fieldError(unknown.text, 'businessAccountId')).toBe('Choose a business account from the list.');
    });

    it('refuses wholesale for a guest account (F-CUST-3)', async () => {
      const guest = await makeCustomer(t.ctx.knex, [shop.id], { state: 'guest', email: 'guest@example.test' });
      const response = await postForm(owner, `/admin/customers/${guest.id}/edit`, detailsForm({ email: 'guest@example.test', wholesale: 'on' }));
      expect(response.status).toBe(422);
      expect(fieldError(response.text, 'wholesale')).toContain('needs an Active or Invited account');
    });

    it('does not let a sales rep move a customer to another team', async () => {
      const knex = t.ctx.knex;
      const team = await makeSalesTeam(knex);
      const rival = await makeSalesTeam(knex);
      const c = await makeCustomer(knex, [shop.id], { salesTeamId: team.id, email: 'teamed@example.test' });
      const rep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shop.id], salesTeamId: team.id })).email);
      expect((await rep.get(`/admin/customers/${c.id}/edit`)).text).not.toContain('name="salesTeamId"');
      const response = await postForm(rep, `/admin/customers/${c.id}/edit`, detailsForm({ email: 'teamed@example.test', salesTeamId: String(rival.id), firstName: 'Still' }));
      expect(response.status).toBe(303);
      expect(await knex('customers').where({ id: c.id }).first('salesTeamId', 'firstName')).toEqual({ salesTeamId: team.id, firstName: 'Still' });
    });
  });

  describe('change password', () => {
    it('hashes with argon2id, records the time, ends the customer’s sessions and keeps the password off the timeline', async () => {
      const knex = t.ctx.knex;
      const c = await makeCustomer(knex, [shop.id], { email: 'pw@example.test' });
      const session = await loginCustomer(t.app, 'info.localhost', 'pw@example.test');
      expect((await session.get('/account')).status).toBe(200);
      const before = await knex('customers').where({ id: c.id }).first('sessionVersion');

      const response = await postForm(owner, `/admin/customers/${c.id}/password`, { password: 'a brand new passphrase', confirmPassword: 'a brand new passphrase' }, { htmx: true });
      expect(response.status).toBe(200);
      expect(response.headers['hx-retarget']).toBe('#w-info');

      const row = await knex('customers').where({ id: c.id }).first('passwordHash', 'passwordChangedAt', 'sessionVersion');
      expect(row.passwordHash.startsWith('$argon2id$')).toBe(true);
      expect(await verifyPassword(row.passwordHash, 'a brand new passphrase')).toBe(true);
      expect(Date.now() - new Date(row.passwordChangedAt).getTime()).toBeLessThan(60_000);
      expect(row.sessionVersion).toBe(before.sessionVersion + 1);
      // The customer's open session ends on its next request.
      expect((await session.get('/account')).status).not.toBe(200);
      expect((await loginCustomer(t.app, 'info.localhost', 'pw@example.test', 'a brand new passphrase'))).toBeTruthy();

      const [entry] = await auditOf(knex, c.id);
      expect(entry!.action).toBe('customer.password_changed');
      expect(JSON.stringify(entry!.changes)).not.toContain('passphrase');
      expect(sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-timeline')).toContain('Password changed by staff');
    });

    it('applies the shop’s password rule and asks for the same password twice (422)', async () => {
      const c = await makeCustomer(t.ctx.knex, [shop.id]);
      const short = await postForm(owner, `/admin/customers/${c.id}/password`, { password: 'short', confirmPassword: 'short' }, { htmx: true });
      expect(short.status).toBe(422);
      expect(fieldError(short.text, 'password')).toBe('Password must be at least 10 characters.');
      const mismatch = await postForm(owner, `/admin/customers/${c.id}/password`, { password: 'long enough one', confirmPassword: 'long enough two' });
      expect(mismatch.status).toBe(422);
      expect(fieldError(mismatch.text, 'confirmPassword')).toBe('The two passwords do not match.');
      // A password is never echoed back into the form.
      expect(mismatch.text).not.toContain('long enough one');
    });
  });

  describe('tags', () => {
    it('replaces the tags, answers with the tags widget and records what changed', async () => {
      const knex = t.ctx.knex;
      const c = await makeCustomer(knex, [shop.id]);
      await knex('customerTags').insert([{ customerId: c.id, tag: 'old' }, { customerId: c.id, tag: 'keep' }]);
      const form = await getHtmx(owner, `/admin/customers/${c.id}/tags`);
      expect(inputValue(form.text, 'tags')).toBe('keep, old');
      const response = await postForm(owner, `/admin/customers/${c.id}/tags`, { tags: 'Keep, VIP , newsletter,,vip' }, { htmx: true });
      expect(response.status).toBe(200);
      expect(response.headers['hx-retarget']).toBe('#w-tags');
      expect(await knex('customerTags').where({ customerId: c.id }).orderBy('tag').pluck('tag')).toEqual(['keep', 'newsletter', 'vip']);
      const [entry] = await auditOf(knex, c.id);
      expect(entry).toMatchObject({ action: 'customer.tags_changed', changes: { added: ['newsletter', 'vip'], removed: ['old'] } });
      const tooLong = await postForm(owner, `/admin/customers/${c.id}/tags`, { tags: 'x'.repeat(65) });
      expect(tooLong.status).toBe(422);
    });
  });

  describe('delete customer', () => {
    it('refuses a customer with orders, says why and offers disabling instead', async () => {
      const knex = t.ctx.knex;
      const c = await makeCustomer(knex, [shop.id]);
      await makeOrder(knex, c.id, shop.id, 1000);
      const page = await owner.get(`/admin/customers/${c.id}`);
      expect(sectionText(page.text, 'w-danger')).toContain('This customer has orders, so the account cannot be deleted');
      for (const htmx of [true, false]) {
        const response = await postForm(owner, `/admin/customers/${c.id}/delete`, {}, { htmx });
        expect(response.status).toBe(409);
        expect(textOf(response.text)).toContain('cannot be deleted');
        expect(response.text).toContain(`action="/admin/customers/${c.id}/shops/${shop.id}/status"`);
        expect(textOf(response.text)).toContain('Disable in Info Shop');
      }
      expect(await knex('customers').where({ id: c.id }).first('id')).toBeTruthy();
    });

    it('refuses a customer who is also in a shop the staff member does not manage', async () => {
      const knex = t.ctx.knex;
      const c = await makeCustomer(knex, [shop.id, other.id]);
      const manager = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [shop.id] })).email);
      const response = await postForm(manager, `/admin/customers/${c.id}/delete`, {});
      expect(response.status).toBe(409);
      expect(textOf(response.text)).toContain('also in shops you do not manage');
      expect(await knex('customers').where({ id: c.id }).first('id')).toBeTruthy();
    });

    it('lets only owners and managers delete', async () => {
      const c = await makeCustomer(t.ctx.knex, [shop.id]);
      expect((await postForm(support, `/admin/customers/${c.id}/delete`, {})).status).toBe(403);
      expect(sectionText((await support.get(`/admin/customers/${c.id}`)).text, 'w-danger')).toContain('Only owners and managers may delete customers.');
      expect(await t.ctx.knex('customers').where({ id: c.id }).first('id')).toBeTruthy();
    });

    it('deletes a customer without orders with everything that is theirs, and keeps the deletion on the audit log', async () => {
      const knex = t.ctx.knex;
      const c = await makeCustomer(knex, [shop.id], { email: 'gone@example.test' });
      await makeAddress(knex, c.id);
      await postForm(owner, `/admin/customers/${c.id}/notes/new`, { body: 'bye' });
      // Credit booked and spent again: the ledger goes with the customer (the only way it may shrink).
      await postForm(owner, `/admin/customers/${c.id}/credit/adjust`, { key: 'delete-test-grant-0001', shopId: String(shop.id), amount: '5', reason: 'test' });
      await postForm(owner, `/admin/customers/${c.id}/credit/adjust`, { key: 'delete-test-debit-0001', shopId: String(shop.id), amount: '-5', reason: 'test' });
      expect(Number((await knex('creditEntries').where({ customerId: c.id }).count({ n: '*' }).first())!.n)).toBe(2);
      expect(Number((await knex('auditLog').where({ customerId: c.id }).count({ n: '*' }).first())!.n)).toBeGreaterThan(0);

      const confirm = await getHtmx(owner, `/admin/customers/${c.id}/delete`);
      expect(textOf(confirm.text)).toContain('This cannot be undone.');
      const response = await postForm(owner, `/admin/customers/${c.id}/delete`, {}, { htmx: true });
      expect(response.status).toBe(204);
      expect(response.headers['hx-redirect']).toBe('/admin/customers');
      expect(await knex('customers').where({ id: c.id }).first('id')).toBeUndefined();
      for (const table of ['addresses', 'customerNotes', 'customerShops', 'creditEntries', 'creditTransactions', 'auditLog']) {
        expect(Number((await knex(table).where({ customerId: c.id }).count({ n: '*' }).first())!.n), table).toBe(0);
      }
      const deleted = await knex('auditLog').where({ action: 'customer.deleted' }).whereRaw("changes->>'customerId' = ?", [String(c.id)]).first();
      expect(deleted).toMatchObject({ actorId: ownerId, changes: { email: 'gone@example.test' } });
      expect((await owner.get(`/admin/customers/${c.id}`)).status).toBe(404);
    });

    it('refuses a customer who still has store credit', async () => {
      const c = await makeCustomer(t.ctx.knex, [shop.id]);
      await postForm(owner, `/admin/customers/${c.id}/credit/adjust`, { key: 'delete-test-credit-0002', shopId: String(shop.id), amount: '7.5', reason: 'kept' });
      const response = await postForm(owner, `/admin/customers/${c.id}/delete`, {});
      expect(response.status).toBe(409);
      expect(textOf(response.text)).toContain('still has store credit (Info Shop: €7.50)');
    });
  });
});
