import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../support/agents.js';
import { makeStaffCast } from '../support/dashboard-scene.js';
import { auditOf, getHtmx, postForm, sectionText, triggers } from '../support/dashboard.js';
import { makeCustomer, makeShop } from '../support/factories.js';
import { escapeHtml, fieldError, textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** F-DASH-6 price groups on the dashboard, F-PRICE-1 / F-CUST-5 the /admin/price-groups page. */
describe('price groups: dashboard widget and admin page', () => {
  let t: TestApp;
  let knex: Knex;
  let shop: { id: number }, otherShop: { id: number };
  let owner: Agent, manager: Agent, support: Agent, foreign: Agent, rep: Agent, rivalRep: Agent;
  let ownerId: number;
  let team: { id: number };
  let business: { id: number };
  const groups: Record<string, number> = {};

  const group = async (name: string, priority: number) => {
    const [row] = await knex('priceGroups').insert({ name, priority }).returning('id');
    groups[name] = row.id;
    return row.id as number;
  };
  const ownGroups = async (customerId: number) => (await knex('customerPriceGroups').where({ customerId }).orderBy('priceGroupId')).map((r: { priceGroupId: number }) => r.priceGroupId);

  beforeAll(async () => {
    t = await createTestApp({ backend: 'postgres' });
    knex = t.ctx.knex;
    shop = await makeShop(knex, { code: 'pg-shop', name: 'PG Shop' });
    otherShop = await makeShop(knex, { code: 'pg-other', name: 'PG Other' });
    ({ owner, ownerId, manager, support, foreign, rep, rivalRep, team } = await makeStaffCast(t, { home: shop.id, other: otherShop.id }));
    business = (await knex('businessAccounts').insert({ name: 'Fjord Logistics AS' }).returning('id'))[0] as { id: number };
    for (const [name, priority] of [['Bronze', 10], ['Silver', 50], ['Gold', 100], ['Platinum', 200], ['Staff', 5], ['Trade', 150]] as const) await group(name, priority);
    await knex('businessAccountPriceGroups').insert({ businessAccountId: business.id, priceGroupId: groups.Trade });
  });
  afterAll(() => t?.close());

  it('shows the top 4 by priority, own and inherited through the business account (“via”)', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    await knex('customers').where({ id: c.id }).update({ businessAccountId: business.id });
    await knex('customerPriceGroups').insert(['Bronze', 'Silver', 'Gold', 'Platinum', 'Staff'].map((name) => ({ customerId: c.id, priceGroupId: groups[name] })));
    const widget = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-priceGroups');
    // Platinum 200, Trade 150 (via the business account), Gold 100, Silver 50; Bronze and Staff are left out.
    expect(widget).toMatch(/Price groups 6 .*Platinum priority 200 Trade priority 150 · via Fjord Logistics AS Gold priority 100 Silver priority 50 and 2 more/);
    expect(widget).not.toContain('Bronze');

    const all = await getHtmx(owner, `/admin/customers/${c.id}/price-groups`);
    expect(all.status).toBe(200);
    const rows = [...all.text.matchAll(/<tr id="price-group-(\d+)"/g)].map((m) => Number(m[1]));
    expect(rows).toEqual([groups.Platinum, groups.Trade, groups.Gold, groups.Silver, groups.Bronze, groups.Staff]);
    // Inherited groups cannot be unassigned here; own ones can.
    expect(all.text).not.toContain(`/price-groups/${groups.Trade}/unassign`);
    expect(all.text).toContain(`/price-groups/${groups.Gold}/unassign`);
  });

  it('assigns from the select (htmx): the modal stays open, the widget reloads, the timeline records it', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    const modal = await getHtmx(owner, `/admin/customers/${c.id}/price-groups`);
    expect(textOf(modal.text)).toContain('Choose a price group… Platinum (priority 200) Trade (priority 150) Gold (priority 100)');
    const response = await postForm(owner, `/admin/customers/${c.id}/price-groups/assign`, { priceGroupId: String(groups.Gold) }, { htmx: true });
    expect(response.status).toBe(200);
    expect(triggers(response)).toMatchObject({ priceGroupsChanged: { target: 'body' }, timelineChanged: { target: 'body' } });
    expect(textOf(response.text)).toContain('Price group “Gold” assigned.');
    // The select no longer offers Gold.
    expect(response.text).not.toMatch(new RegExp(`<option value="${groups.Gold}"`));
    expect(await ownGroups(c.id)).toEqual([groups.Gold]);
    const row = await knex('customerPriceGroups').where({ customerId: c.id }).first();
    expect(row.assignedBy).toBe(ownerId);
    const [entry] = await auditOf(knex, c.id);
    expect(entry).toMatchObject({ action: 'price_group.assigned', actorId: ownerId, changes: { priceGroupId: groups.Gold, priceGroup: 'Gold' } });
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(page.text, 'w-timeline')).toContain('Price group assigned: Gold');
    expect(sectionText(page.text, 'w-priceGroups')).toContain('Gold priority 100');

    // Assigning again changes nothing.
    const again = await postForm(owner, `/admin/customers/${c.id}/price-groups/assign`, { priceGroupId: String(groups.Gold) }, { htmx: true });
    expect(textOf(again.text)).toContain('The customer already had price group “Gold”.');
    expect((await auditOf(knex, c.id)).filter((a) => a.action === 'price_group.assigned')).toHaveLength(1);
  });

  it('assigns and unassigns with plain forms (redirect + flash) as a sales rep of the customer’s team', async () => {
    const c = await makeCustomer(knex, [shop.id], { salesTeamId: team.id });
    const assigned = await postForm(rep, `/admin/customers/${c.id}/price-groups/assign`, { priceGroupId: String(groups.Silver) });
    expect(assigned.status).toBe(303);
    expect(assigned.headers.location).toBe(`/admin/customers/${c.id}/price-groups`);
    const page = await rep.get(assigned.headers.location!);
    expect(textOf(page.text)).toContain('Price group “Silver” assigned.');
    expect(await ownGroups(c.id)).toEqual([groups.Silver]);

    const removed = await postForm(rep, `/admin/customers/${c.id}/price-groups/${groups.Silver}/unassign`, {});
    expect(removed.status).toBe(303);
    expect(await ownGroups(c.id)).toEqual([]);
    expect((await auditOf(knex, c.id))[0]).toMatchObject({ action: 'price_group.unassigned', changes: { priceGroup: 'Silver' } });
    expect(sectionText((await rep.get(`/admin/customers/${c.id}`)).text, 'w-timeline')).toContain('Price group unassigned: Silver');
    // Unassigning what is not (or only inherited) answers 404.
    expect((await postForm(rep, `/admin/customers/${c.id}/price-groups/${groups.Silver}/unassign`, {})).status).toBe(404);
  });

  it('scopes every route: another shop’s staff and another team’s rep get 404, support may only look', async () => {
    const c = await makeCustomer(knex, [shop.id], { salesTeamId: team.id });
    await knex('customerPriceGroups').insert({ customerId: c.id, priceGroupId: groups.Bronze });
    for (const agent of [foreign, rivalRep]) {
      expect((await agent.get(`/admin/customers/${c.id}/price-groups`)).status).toBe(404);
      expect((await postForm(agent, `/admin/customers/${c.id}/price-groups/assign`, { priceGroupId: String(groups.Gold) })).status).toBe(404);
      expect((await postForm(agent, `/admin/customers/${c.id}/price-groups/${groups.Bronze}/unassign`, {})).status).toBe(404);
    }
    const view = await getHtmx(support, `/admin/customers/${c.id}/price-groups`);
    expect(view.status).toBe(200);
    expect(view.text).not.toContain('/price-groups/assign');
    expect(view.text).not.toContain('/unassign');
    expect((await postForm(support, `/admin/customers/${c.id}/price-groups/assign`, { priceGroupId: String(groups.Gold) })).status).toBe(403);
    expect((await postForm(support, `/admin/customers/${c.id}/price-groups/${groups.Bronze}/unassign`, {})).status).toBe(403);
    expect(await ownGroups(c.id)).toEqual([groups.Bronze]);
  });

  it('lets staff limited to some shops change or hand out only groups that price nothing outside their shops', async () => {
    const c = await makeCustomer(knex, [shop.id, otherShop.id]);
    const [outsider] = await knex('products').insert({ shopId: otherShop.id, sku: 'PG-OUT', name: 'Other shop product', price: 5000 }).returning('id');
    const [elsewhere] = await knex('priceGroups').insert({ name: 'Other shop VIP', priority: 90 }).returning('id');
    await knex('priceGroupPrices').insert({ priceGroupId: elsewhere.id, productId: outsider.id, percentOff: 50 });

    // The manager of shop A may not give a group that halves shop B's prices, nor rename it.
    const refused = await postForm(manager, `/admin/customers/${c.id}/price-groups/assign`, { priceGroupId: String(elsewhere.id) }, { htmx: true });
    expect(refused.status).toBe(403);
    expect(textOf(refused.text)).toContain('also sets prices in shops you do not manage');
    expect(await ownGroups(c.id)).toEqual([]);
    expect((await postForm(manager, `/admin/price-groups/${elsewhere.id}`, { name: 'Renamed', priority: '1', description: '' })).status).toBe(403);
    expect(await knex('priceGroups').where({ id: elsewhere.id }).first('name')).toEqual({ name: 'Other shop VIP' });
    // An owner (all shops) may.
    expect((await postForm(owner, `/admin/customers/${c.id}/price-groups/assign`, { priceGroupId: String(elsewhere.id) }, { htmx: true })).status).toBe(200);
    expect(await ownGroups(c.id)).toEqual([elsewhere.id]);
  });

  it('refuses bad input: empty, unknown id, SQL, arrays', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    const url = `/admin/customers/${c.id}/price-groups/assign`;
    for (const value of ['', 'abc', "1' OR 1=1 --", '999999999']) {
      const response = await postForm(owner, url, { priceGroupId: value }, { htmx: true });
      expect(response.status, value).toBe(422);
      expect(fieldError(response.text, 'priceGroupId')).toBe('Choose a price group from the list.');
    }
    expect((await postForm(owner, url, { priceGroupId: [String(groups.Gold), String(groups.Silver)] })).status).toBe(400);
    expect((await postForm(owner, `/admin/customers/${c.id}/price-groups/..%2F1/unassign`, {})).status).toBe(404);
    expect(await ownGroups(c.id)).toEqual([]);
  });

  describe('admin page /admin/price-groups', () => {
    it('lists groups by priority and links them from the main navigation', async () => {
      const page = await support.get('/admin/price-groups');
      expect(page.status).toBe(200);
      expect(page.text).toContain('href="/admin/price-groups" aria-current=page');
      const names = [...page.text.matchAll(/<a href="\/admin\/price-groups\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]);
      expect(names.slice(0, 3)).toEqual(['Platinum', 'Trade', 'Gold']);
      // Support sees no buttons to change anything.
      expect(page.text).not.toContain('New price group');
    });

    it('creates a group, sets fixed and percent prices, gives it to a business account; names are inert', async () => {
      const [product] = await knex('products').insert({ shopId: shop.id, sku: 'PG-1', name: 'Merino Jacket', price: 12000 }).returning('id');
      const [other] = await knex('products').insert({ shopId: otherShop.id, sku: 'PG-2', name: 'Hidden', price: 500 }).returning('id');
      const name = '<script>alert(1)</script> VIP';
      const created = await postForm(manager, '/admin/price-groups/new', { name, priority: '75', description: "' OR 1=1 --" });
      expect(created.status).toBe(303);
      const row = await knex('priceGroups').where({ name }).first();
      expect(row).toMatchObject({ priority: 75, description: "' OR 1=1 --" });
      const page = await manager.get(created.headers.location!);
      expect(page.text).toContain(escapeHtml(name));
      expect(page.text).not.toContain('<script>alert(1)</script>');
      // The manager's product select offers only their shop's products.
      expect(page.text).toContain(`<option value="${product.id}"`);
      expect(page.text).not.toContain(`<option value="${other.id}"`);

      expect((await postForm(manager, `/admin/price-groups/${row.id}/prices`, { productId: String(product.id), fixedPrice: '99.90' })).status).toBe(303);
      expect(await knex('priceGroupPrices').where({ priceGroupId: row.id }).first('fixedPrice', 'percentOff')).toEqual({ fixedPrice: 9990, percentOff: null });
      // Setting it again replaces the price (a percentage now).
      expect((await postForm(manager, `/admin/price-groups/${row.id}/prices`, { productId: String(product.id), percentOff: '12.5' })).status).toBe(303);
      expect(await knex('priceGroupPrices').where({ priceGroupId: row.id }).first('fixedPrice', 'percentOff')).toEqual({ fixedPrice: null, percentOff: '12.50' });
      // Another shop's product is not the manager's to price.
      const outside = await postForm(manager, `/admin/price-groups/${row.id}/prices`, { productId: String(other.id), fixedPrice: '1' });
      expect(outside.status).toBe(422);
      expect(fieldError(outside.text, 'productId')).toBe('Choose a product from the list.');
      const both = await postForm(manager, `/admin/price-groups/${row.id}/prices`, { productId: String(product.id), fixedPrice: '1', percentOff: '5' });
      expect(fieldError(both.text, 'fixedPrice')).toBe('Enter either a fixed price or a percentage off, not both.');
      const badPercent = await postForm(manager, `/admin/price-groups/${row.id}/prices`, { productId: String(product.id), percentOff: '150' });
      expect(fieldError(badPercent.text, 'percentOff')).toBe('Enter a percentage off between 0.01 and 100, like 15 or 12.5.');

      const shown = await manager.get(`/admin/price-groups/${row.id}`);
      expect(textOf(shown.text)).toContain('PG-1 · Merino Jacket PG Shop €120.00 12.5 % off');

      expect((await postForm(manager, `/admin/price-groups/${row.id}/business-accounts`, { businessAccountId: String(business.id) })).status).toBe(303);
      expect(await knex('businessAccountPriceGroups').where({ priceGroupId: row.id }).pluck('business_account_id')).toEqual([business.id]);

      const edited = await postForm(manager, `/admin/price-groups/${row.id}`, { name: 'VIP', priority: '80', description: '' });
      expect(edited.status).toBe(303);
      expect(await knex('priceGroups').where({ id: row.id }).first('name', 'priority')).toEqual({ name: 'VIP', priority: 80 });
    });

    it('refuses duplicate names, bad priorities and arrays; only owners and managers may change', async () => {
      const dup = await postForm(owner, '/admin/price-groups/new', { name: 'gold', priority: '1' });
      expect(dup.status).toBe(422);
      expect(fieldError(dup.text, 'name')).toBe('A price group with this name already exists. Choose another name.');
      const bad = await postForm(owner, '/admin/price-groups/new', { name: 'Odd', priority: '1.5' });
      expect(fieldError(bad.text, 'priority')).toMatch(/whole number/);
      expect((await postForm(owner, '/admin/price-groups/new', { name: ['A', 'B'], priority: '1' })).status).toBe(400);
      expect((await postForm(owner, '/admin/price-groups/new', { name: '', priority: '1' })).status).toBe(422);
      for (const agent of [support, rep]) {
        expect((await agent.get('/admin/price-groups/new')).status).toBe(403);
        expect((await postForm(agent, '/admin/price-groups/new', { name: 'Sneaky', priority: '1' })).status).toBe(403);
        expect((await postForm(agent, `/admin/price-groups/${groups.Gold}`, { name: 'Renamed', priority: '1' })).status).toBe(403);
      }
      expect(await knex('priceGroups').where({ name: 'Sneaky' }).first()).toBeUndefined();
      expect((await owner.get('/admin/price-groups/999999999')).status).toBe(404);
      expect((await owner.get('/admin/price-groups/abc')).status).toBe(404);
    });
  });
});
