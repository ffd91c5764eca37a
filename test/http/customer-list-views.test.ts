import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../support/agents.js';
import { csrfToken, loginStaff } from '../support/agents.js';
import { getList } from '../support/customer-list.js';
import { decodeEntities, textOf } from '../support/html.js';
import { makeCustomer, makeOrder, makeShop, makeStaff } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** Saved views and remembered columns of the customer list (F-LIST-4, F-LIST-1's optional columns). */

/** The "Saved views" menu as shown: name and link of each view. */
function savedViewsMenu(html: string): Array<{ name: string; href: string; id: number }> {
  const menu = /<summary class="button">Saved views<\/summary>([\s\S]*?)<\/details>/.exec(html)?.[1];
  if (!menu) return [];
  return [...menu.matchAll(/<li><a href="([^"]+)">([^<]*)<\/a>\s*<form method="post" action="\/admin\/customers\/views\/(\d+)\/delete"/g)].map((m) => ({
    href: decodeEntities(m[1]!),
    name: decodeEntities(m[2]!),
    id: Number(m[3]),
  }));
}

describe('saved views and list columns', () => {
  let t: TestApp;
  let shop: { id: number };
  let alice: Agent, bob: Agent;
  let aliceId: number, bobId: number;
  let vipDe: { id: number }, vipAt: { id: number }, plain: { id: number };

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    shop = await makeShop(knex, { code: 'views' });
    vipDe = await makeCustomer(knex, [shop.id], { firstName: 'Vera', lastName: 'Deutsch' });
    vipAt = await makeCustomer(knex, [shop.id], { firstName: 'Viktor', lastName: 'Austria' });
    plain = await makeCustomer(knex, [shop.id], { firstName: 'Paul', lastName: 'Plain' });
    await knex('customerTags').insert([{ customerId: vipDe.id, tag: 'vip' }, { customerId: vipDe.id, tag: 'wine' }, { customerId: vipAt.id, tag: 'vip' }]);
    await knex('addresses').insert([
      { customerId: vipDe.id, line1: 'A 1', city: 'Bonn', countryCode: 'DE', isDefaultBilling: true },
      { customerId: vipAt.id, line1: 'B 2', city: 'Graz', countryCode: 'AT', isDefaultBilling: true },
    ]);
    await makeOrder(knex, vipDe.id, shop.id, 1000);
    await makeOrder(knex, vipDe.id, shop.id, 2000);
    const a = await makeStaff(knex, { role: 'manager', shopIds: [shop.id] });
    const b = await makeStaff(knex, { role: 'manager', shopIds: [shop.id] });
    aliceId = a.id;
    bobId = b.id;
    alice = await loginStaff(t.app, a.email);
    bob = await loginStaff(t.app, b.email);
  });
  afterAll(() => t?.close());

  async function saveView(agent: Agent, name: string, query: string) {
    const token = await csrfToken(agent, '/admin/customers');
    return agent.post('/admin/customers/views').type('form').send({ name, query, _csrf: token });
  }

  it('saves a view that then appears in the menu and opens with its filters, sort and columns', async () => {
    const saved = await saveView(alice, 'German VIPs', 'tag=vip&country=DE&sort=name&dir=asc&cols=tags&after=WyJ4IiwxXQ');
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe('/admin/customers?tag=vip&country=DE&sort=name&dir=asc&cols=tags');

    const landing = await alice.get(saved.headers.location!);
    expect(textOf(landing.text)).toContain('Saved the view “German VIPs”.');

    const menu = savedViewsMenu((await alice.get('/admin/customers')).text);
    expect(menu.map((v) => v.name)).toEqual(['German VIPs']);
    // A saved view never keeps a page position.
    expect(menu[0]!.href).toBe('/admin/customers?tag=vip&country=DE&sort=name&dir=asc&cols=tags');

    const opened = await getList(alice, menu[0]!.href);
    expect(opened.ids).toEqual([vipDe.id]);
    expect(opened.chips.map((c) => c.label).sort()).toEqual(['Country: DE', 'Tag: vip']);
    expect(opened.headers).toContain('Tags');
    expect(opened.html).toMatch(/aria-sort="ascending">\s*<a class="sort is-active"[^>]*>Name/);
    const row = await t.ctx.knex('savedViews').where({ staffUserId: aliceId }).first();
    expect(row.queryString).toBe('tag=vip&country=DE&sort=name&dir=asc&cols=tags');
  });

  it('updates a view saved again under the same name in another case, instead of adding one', async () => {
    await saveView(alice, 'Austria', 'country=AT');
    const again = await saveView(alice, 'AUSTRIA', 'country=AT&tag=vip');
    expect(again.status).toBe(303);
    const rows = await t.ctx.knex('savedViews').where({ staffUserId: aliceId }).whereRaw('lower(name) = ?', ['austria']);
    expect(rows).toHaveLength(1);
    expect(rows[0].queryString).toBe('country=AT&tag=vip');

    const menu = savedViewsMenu((await alice.get('/admin/customers')).text);
    expect(menu.filter((v) => v.name.toLowerCase() === 'austria')).toHaveLength(1);
    const opened = await getList(alice, menu.find((v) => v.name.toLowerCase() === 'austria')!.href);
    expect(opened.ids).toEqual([vipAt.id]);
  });

  it('keeps views private: another staff member neither sees nor deletes them', async () => {
    const bobsPage = await bob.get('/admin/customers');
    expect(bobsPage.text).not.toContain('Saved views');
    expect(bobsPage.text).not.toContain('German VIPs');
    expect(savedViewsMenu(bobsPage.text)).toEqual([]);

    const alicesView = await t.ctx.knex('savedViews').where({ staffUserId: aliceId, name: 'German VIPs' }).first();
    const token = await csrfToken(bob, '/admin/customers');
    const refused = await bob.post(`/admin/customers/views/${alicesView.id}/delete`).type('form').send({ _csrf: token });
    expect(refused.status).toBe(404);
    expect(await t.ctx.knex('savedViews').where({ id: alicesView.id }).first()).toBeDefined();
    expect((await bob.post('/admin/customers/views/not-a-number/delete').type('form').send({ _csrf: token })).status).toBe(404);

    // Bob's own view of the same name is his own.
    expect((await saveView(bob, 'German VIPs', 'tag=vip')).status).toBe(303);
    const owners = (await t.ctx.knex('savedViews').where({ name: 'German VIPs' }).select('staffUserId')).map((r: { staffUserId: number }) => r.staffUserId);
    expect(owners.sort()).toEqual([aliceId, bobId].sort());
    expect(savedViewsMenu((await alice.get('/admin/customers')).text).find((v) => v.name === 'German VIPs')!.href).toContain('country=DE');
  });

  it('deletes one’s own view', async () => {
    const view = savedViewsMenu((await alice.get('/admin/customers')).text).find((v) => v.name === 'German VIPs')!;
    const token = await csrfToken(alice, '/admin/customers');
    const deleted = await alice.post(`/admin/customers/views/${view.id}/delete`).type('form').send({ _csrf: token });
    expect(deleted.status).toBe(303);
    const after = await alice.get(deleted.headers.location!);
    expect(after.text).toContain('The view was deleted.');
    expect(savedViewsMenu(after.text).map((v) => v.name)).not.toContain('German VIPs');
    expect((await alice.post(`/admin/customers/views/${view.id}/delete`).type('form').send({ _csrf: token })).status).toBe(404);
  });

  it('refuses an empty or over-long name with a clear message', async () => {
    const before = await t.ctx.knex('savedViews').count<Array<{ count: string }>>('* as count');
    const empty = await saveView(alice, '   ', 'tag=vip');
    expect(empty.status).toBe(422);
    expect(empty.text).toContain('View name is required.');
    const long = await saveView(alice, 'x'.repeat(81), 'tag=vip');
    expect(long.status).toBe(422);
    expect(long.text).toContain('View name must be at most 80 characters.');
    const missing = await alice.post('/admin/customers/views').type('form').send({ query: 'tag=vip', _csrf: await csrfToken(alice, '/admin/customers') });
    expect(missing.status).toBe(422);
    expect(missing.text).toContain('View name is required.');
    expect(await t.ctx.knex('savedViews').count<Array<{ count: string }>>('* as count')).toEqual(before);
    // Without the CSRF token nothing is saved.
    expect((await alice.post('/admin/customers/views').type('form').send({ name: 'Sneaky', query: '' })).status).toBe(403);
    expect(await t.ctx.knex('savedViews').where({ name: 'Sneaky' }).first()).toBeUndefined();
  });

  it('remembers chosen columns per staff member; unknown names are ignored', async () => {
    const token = await csrfToken(alice, '/admin/customers');
    const chosen = await alice.post('/admin/customers/columns').type('form').send(`cols=tags&cols=aov&cols=bogus&cols=password_hash&return=${encodeURIComponent('tag=vip&cols=type')}&_csrf=${token}`);
    expect(chosen.status).toBe(303);
    expect(chosen.headers.location).toBe('/admin/customers?tag=vip');
    expect((await t.ctx.knex('staffUsers').where({ id: aliceId }).first('listColumns')).listColumns).toEqual(['tags', 'aov']);

    const page = await getList(alice, '/admin/customers');
    expect(page.headers).toEqual(expect.arrayContaining(['Tags', 'AOV']));
    expect(page.headers).not.toContain('Type');
    const vera = page.rows.find((r) => r.id === vipDe.id)!;
    const tagsAt = page.headers.indexOf('Tags');
    const aovAt = page.headers.indexOf('AOV');
    expect(vera.cells[tagsAt]).toBe('vip wine');
    expect(vera.cells[aovAt]).toBe('€15.00');
    expect(page.rows.find((r) => r.id === plain.id)!.cells[aovAt]).toBe('—');

    // Bob's list is unchanged.
    const bobs = await getList(bob, '/admin/customers');
    expect(bobs.headers).not.toContain('Tags');
    expect(bobs.headers).not.toContain('AOV');
  });

  it('saves the columns on screen with a view, also those chosen in the Columns menu rather than in the URL', async () => {
    const token = await csrfToken(alice, '/admin/customers');
    await alice.post('/admin/customers/columns').type('form').send(`cols=tags&cols=aov&_csrf=${token}`);
    const page = await alice.get('/admin/customers?tag=vip&sort=name&dir=asc&after=WyJ4IiwxXQ');
    const query = decodeEntities(/action="\/admin\/customers\/views"[\s\S]*?name="query" value="([^"]*)"/.exec(page.text)![1]!);
    expect(query).toBe('tag=vip&sort=name&dir=asc&cols=tags%2Caov');

    expect((await saveView(alice, 'VIPs with tags', query)).status).toBe(303);
    // The remembered columns change afterwards; the view keeps its own.
    await alice.post('/admin/customers/columns').type('form').send(`cols=type&_csrf=${token}`);
    const href = savedViewsMenu((await alice.get('/admin/customers')).text).find((v) => v.name === 'VIPs with tags')!.href;
    const opened = await getList(alice, href);
    expect(opened.headers).toEqual(expect.arrayContaining(['Tags', 'AOV']));
    expect(opened.headers).not.toContain('Type');
    // As the earlier test left them, for the next.
    await alice.post('/admin/customers/columns').type('form').send(`cols=tags&cols=aov&_csrf=${token}`);
  });

  it('lets `cols` in the URL override the remembered columns for that view only', async () => {
    const typeOnly = await getList(alice, '/admin/customers?cols=type,created');
    expect(typeOnly.headers).toEqual(expect.arrayContaining(['Type', 'Created']));
    expect(typeOnly.headers).not.toContain('Tags');
    expect(typeOnly.headers).not.toContain('AOV');
    const none = await getList(alice, '/admin/customers?cols=');
    expect(none.headers).toEqual(['Name', 'E-mail', 'City', 'Country', 'Orders', 'Last order', 'Total spent', 'State']);
    // Still remembered afterwards.
    expect((await getList(alice, '/admin/customers')).headers).toEqual(expect.arrayContaining(['Tags', 'AOV']));
    // Choosing no columns forgets them.
    const token = await csrfToken(alice, '/admin/customers');
    expect((await alice.post('/admin/customers/columns').type('form').send({ _csrf: token })).status).toBe(303);
    expect((await getList(alice, '/admin/customers')).headers).not.toContain('Tags');
  });
});
