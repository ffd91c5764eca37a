import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginStaff, type Agent } from '../support/agents.js';
import { auditOf, getHtmx, postForm, sectionText, triggers } from '../support/dashboard.js';
import { makeAddress, makeCustomer, makeShop, makeStaff } from '../support/factories.js';
import { fieldError, textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** The address book of the dashboard (F-DASH-1 / F-ADDR): add, edit, delete, defaults, the last address. */
describe('customer dashboard: addresses', () => {
  let t: TestApp;
  let shop: { id: number }, foreign: { id: number };
  let owner: Agent, shopStaff: Agent;

  const address = (overrides: Record<string, string> = {}) => ({ firstName: 'Ada', lastName: 'Lovelace', company: '', line1: '12 Analytical St', line2: '', postcode: 'EC1', city: 'London', region: '', countryCode: 'gb', phone: '', ...overrides });
  const defaults = async (customerId: number) => {
    const rows = await t.ctx.knex('addresses').where({ customerId }).orderBy('id').select('id', 'city', 'isDefaultBilling', 'isDefaultShipping');
    return { billing: rows.find((r) => r.isDefaultBilling)?.city ?? null, shipping: rows.find((r) => r.isDefaultShipping)?.city ?? null, cities: rows.map((r) => r.city) };
  };

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    shop = await makeShop(knex, { code: 'addr', name: 'Addr Shop' });
    foreign = await makeShop(knex, { code: 'addrx', name: 'Other Shop' });
    owner = await loginStaff(t.app, (await makeStaff(knex, { role: 'owner' })).email);
    shopStaff = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [shop.id] })).email);
  });
  afterAll(() => t?.close());

  it('adds the first address as default billing and shipping, and keeps the address book open for htmx', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    const response = await postForm(owner, `/admin/customers/${c.id}/addresses/new`, address(), { htmx: true });
    expect(response.status).toBe(200);
    // The address book replaces the form in the modal; the info widget reloads itself on the event.
    expect(response.headers['hx-retarget']).toBeUndefined();
    expect(triggers(response)).toEqual({ infoChanged: { target: 'body' }, timelineChanged: { target: 'body' } });
    expect(response.text).toContain('<h2 id="modal-title">Address book</h2>');
    expect(textOf(response.text)).toContain('Default billing Default shipping Ada Lovelace 12 Analytical St EC1 London GB');
    expect(await defaults(c.id)).toEqual({ billing: 'London', shipping: 'London', cities: ['London'] });
    const [entry] = await auditOf(t.ctx.knex, c.id);
    expect(entry).toMatchObject({ action: 'address.created', changes: { address: 'Ada Lovelace, 12 Analytical St, EC1 London, GB', defaults: ['billing', 'shipping'] } });
    const info = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-info');
    expect(info).toContain('Default billing address Ada Lovelace 12 Analytical St EC1 London GB');
  });

  it('re-renders the form with field messages (422) for missing or invalid values', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    const response = await postForm(owner, `/admin/customers/${c.id}/addresses/new`, address({ line1: ' ', city: '', countryCode: 'Germany' }), { htmx: true });
    expect(response.status).toBe(422);
    expect(fieldError(response.text, 'line1')).toBe('Street and number is required.');
    expect(fieldError(response.text, 'city')).toBe('City is required.');
    expect(fieldError(response.text, 'countryCode')).toBe('Enter the two-letter country code, like DE or FR.');
    expect(Number((await t.ctx.knex('addresses').where({ customerId: c.id }).count({ n: '*' }).first())!.n)).toBe(0);
  });

  it('edits an address and records the changed fields', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    const a = await makeAddress(t.ctx.knex, c.id, { city: 'Paris', countryCode: 'FR', isDefaultBilling: true, isDefaultShipping: true });
    const form = await getHtmx(owner, `/admin/customers/${c.id}/addresses/${a.id}/edit`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('To change it, make another address the default.');
    const response = await postForm(owner, `/admin/customers/${c.id}/addresses/${a.id}/edit`, address({ city: 'Lyon', countryCode: 'FR', line1: '1 Test Street', postcode: '10115', firstName: '', lastName: '' }));
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/admin/customers/${c.id}/addresses`);
    expect(await defaults(c.id)).toEqual({ billing: 'Lyon', shipping: 'Lyon', cities: ['Lyon'] });
    const [entry] = await auditOf(t.ctx.knex, c.id);
    expect(entry!.changes.fields).toEqual({ city: { from: 'Paris', to: 'Lyon' } });
  });

  it('makes another address the default billing or shipping address', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    await makeAddress(t.ctx.knex, c.id, { city: 'Rome', countryCode: 'IT', isDefaultBilling: true, isDefaultShipping: true });
    const milan = await makeAddress(t.ctx.knex, c.id, { city: 'Milan', countryCode: 'IT' });
    const response = await postForm(owner, `/admin/customers/${c.id}/addresses/${milan.id}/default`, { kind: 'shipping' }, { htmx: true });
    expect(response.status).toBe(200);
    expect(await defaults(c.id)).toEqual({ billing: 'Rome', shipping: 'Milan', cities: ['Rome', 'Milan'] });
    const [entry] = await auditOf(t.ctx.knex, c.id);
    expect(entry).toMatchObject({ action: 'address.default_changed', changes: { kind: 'shipping' } });
    expect(Object.values(entry!.changes.fields as Record<string, { from: string; to: string }>)[0]).toEqual({ from: '1 Test Street, 10115 Rome, IT', to: '1 Test Street, 10115 Milan, IT' });
    expect((await postForm(owner, `/admin/customers/${c.id}/addresses/${milan.id}/default`, { kind: 'sideways' })).status).toBe(422);
  });

  it('never deletes the last address, and says why', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    const only = await makeAddress(t.ctx.knex, c.id, { city: 'Oslo', countryCode: 'NO', isDefaultBilling: true });
    for (const htmx of [true, false]) {
      const response = await postForm(owner, `/admin/customers/${c.id}/addresses/${only.id}/delete`, {}, { htmx });
      expect(response.status).toBe(409);
      expect(textOf(response.text)).toContain('This is the customer’s only address, so it cannot be deleted.');
      expect(response.text).toContain('<h2 id="modal-title">Address book</h2>');
    }
    expect((await defaults(c.id)).cities).toEqual(['Oslo']);
  });

  it('deletes an address and moves its defaults to the remaining one', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    const first = await makeAddress(t.ctx.knex, c.id, { city: 'Bern', countryCode: 'CH', isDefaultBilling: true, isDefaultShipping: true });
    await makeAddress(t.ctx.knex, c.id, { city: 'Basel', countryCode: 'CH' });
    const response = await postForm(owner, `/admin/customers/${c.id}/addresses/${first.id}/delete`, {}, { htmx: true });
    expect(response.status).toBe(200);
    expect(await defaults(c.id)).toEqual({ billing: 'Basel', shipping: 'Basel', cities: ['Basel'] });
    const [entry] = await auditOf(t.ctx.knex, c.id);
    expect(entry).toMatchObject({ action: 'address.deleted', changes: { address: '1 Test Street, 10115 Bern, CH', defaults: ['billing', 'shipping'] } });
  });

  it('answers 404 for another customer’s address and for an address owned by a shop outside the scope', async () => {
    const knex = t.ctx.knex;
    const mine = await makeCustomer(knex, [shop.id]);
    const theirs = await makeCustomer(knex, [shop.id]);
    await makeAddress(knex, mine.id);
    const notMine = await makeAddress(knex, theirs.id);
    await makeAddress(knex, theirs.id);
    expect((await owner.get(`/admin/customers/${mine.id}/addresses/${notMine.id}/edit`)).status).toBe(404);
    expect((await postForm(owner, `/admin/customers/${mine.id}/addresses/${notMine.id}/delete`, {})).status).toBe(404);
    expect((await postForm(owner, `/admin/customers/${mine.id}/addresses/${notMine.id}/default`, { kind: 'billing' })).status).toBe(404);

    const shared = await makeCustomer(knex, [shop.id, foreign.id]);
    await makeAddress(knex, shared.id, { city: 'Visible' });
    const [hidden] = await knex('addresses').insert({ customerId: shared.id, ownerShopId: foreign.id, line1: 'Secret 1', city: 'Hidden', countryCode: 'DE' }).returning('id');
    const book = await shopStaff.get(`/admin/customers/${shared.id}/addresses`);
    expect(book.text).toContain('Visible');
    expect(book.text).not.toContain('Hidden');
    expect((await postForm(shopStaff, `/admin/customers/${shared.id}/addresses/${hidden.id}/delete`, {})).status).toBe(404);
    expect((await knex('addresses').where({ id: hidden.id }).first('id'))).toBeTruthy();
  });

  it('shows the address book as a page without JavaScript, with plain links', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    await makeAddress(t.ctx.knex, c.id);
    const page = await owner.get(`/admin/customers/${c.id}/addresses`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<html');
    expect(page.text).not.toContain('hx-target="#modal-body"');
    expect(page.text).toContain(`<a class="button button-small button-primary" href="/admin/customers/${c.id}/addresses/new">Add address</a>`);
  });
});
