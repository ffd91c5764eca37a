import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginStaff, type Agent } from '../support/agents.js';
import { getHtmx, HTMX, postForm, sectionText, tokenOf, triggers } from '../support/dashboard.js';
import { makeAddress, makeCustomer, makeOrder, makeSalesTeam, makeShop, makeStaff } from '../support/factories.js';
import { textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * The customer dashboard page (F-DASH): widgets, the staff scope on every route, modals as htmx
 * fragments and as full pages, CSRF and malformed bodies, and order figures from the aggregates.
 */
describe('customer dashboard: page, scope and modals', () => {
  let t: TestApp;
  let north: { id: number }, south: { id: number };
  let owner: Agent, northStaff: Agent, teamRep: Agent;
  let alice: { id: number; email: string }, southOnly: { id: number; email: string }, otherTeam: { id: number; email: string };

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    north = await makeShop(knex, { code: 'dn', name: 'North' });
    south = await makeShop(knex, { code: 'ds', name: 'South' });
    const team = await makeSalesTeam(knex);
    const rival = await makeSalesTeam(knex);
    alice = await makeCustomer(knex, [north.id, south.id], { firstName: 'Alice', lastName: 'Account', salesTeamId: team.id });
    southOnly = await makeCustomer(knex, [south.id], { firstName: 'Sid', lastName: 'South' });
    otherTeam = await makeCustomer(knex, [north.id], { firstName: 'Otto', lastName: 'Other', salesTeamId: rival.id });
    await makeAddress(knex, alice.id, { city: 'Bergen', isDefaultBilling: true });
    await knex('addresses').insert({ customerId: alice.id, firstName: 'Shipping', lastName: 'Name', line1: '2 Dock Road', city: 'Oslo', countryCode: 'NO', isDefaultShipping: true });
    await makeOrder(knex, alice.id, north.id, 10_000);
    await makeOrder(knex, alice.id, north.id, 5_000);
    await makeOrder(knex, alice.id, south.id, 2_000);
    owner = await loginStaff(t.app, (await makeStaff(knex, { role: 'owner' })).email);
    northStaff = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [north.id] })).email);
    teamRep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [north.id], salesTeamId: team.id })).email);
  });
  afterAll(() => t?.close());

  it('shows every widget with the header, figures and default addresses (F-DASH-1)', async () => {
    const page = await owner.get(`/admin/customers/${alice.id}`);
    expect(page.status).toBe(200);
    for (const id of ['w-info', 'w-orders', 'w-timeline', 'w-credit', 'w-shops', 'w-notes', 'w-tags', 'w-danger']) expect(page.text).toContain(`id="${id}"`);
    const info = sectionText(page.text, 'w-info');
    // The header is the default shipping address's name; the account name is shown beside it.
    expect(/<h1>([^<]*)<\/h1>/.exec(page.text)?.[1]).toBe('Shipping Name');
    expect(info).toContain('account name Alice Account');
    expect(info).toContain('Orders 3');
    expect(info).toContain('Average order €56.67');
    expect(info).toContain('Lifetime total €170.00');
    expect(info).toContain('Default billing address 1 Test Street 10115 Bergen DE');
    expect(info).toContain('Default shipping address Shipping Name 2 Dock Road Oslo NO');
    expect(info).toContain(alice.email);
    expect(page.text).toContain('<dialog id="modal"');
    expect(page.text).toContain('<script src="/static/js/dashboard.js" defer></script>');
  });

  it('shows staff of one shop only that shop’s figures and orders', async () => {
    const page = await northStaff.get(`/admin/customers/${alice.id}`);
    const info = sectionText(page.text, 'w-info');
    expect(info).toContain('Orders 2');
    expect(info).toContain('Lifetime total €150.00');
    expect(sectionText(page.text, 'w-orders')).not.toContain('South');
    expect(sectionText(page.text, 'w-shops')).toContain('North');
    expect(sectionText(page.text, 'w-shops')).not.toContain('South');
  });

  it('answers 404 for another shop’s customer on every route, reading and writing', async () => {
    const id = southOnly.id;
    const gets = ['', '/edit', '/password', '/addresses', '/addresses/new', '/notes', '/notes/new', '/credit', '/credit/adjust', '/orders', '/timeline', '/tags', '/delete', '/widgets/info'];
    for (const path of gets) {
      const response = await northStaff.get(`/admin/customers/${id}${path}`);
      expect(response.status, path).toBe(404);
      expect(response.text).not.toContain(southOnly.email);
    }
    const posts: Array<[string, Record<string, string>]> = [
      ['/edit', { email: 'x@example.test', customerType: 'B2C' }],
      ['/password', { password: 'a long enough password', confirmPassword: 'a long enough password' }],
      ['/addresses/new', { line1: 'x', city: 'y', countryCode: 'DE' }],
      ['/notes/new', { body: 'hello' }],
      ['/credit/adjust', { key: 'k'.repeat(20), shopId: String(south.id), amount: '5', reason: 'r' }],
      ['/tags', { tags: 'x' }],
      ['/delete', {}],
      [`/shops/${south.id}/status`, { status: 'disabled' }],
    ];
    for (const [path, fields] of posts) expect((await postForm(northStaff, `/admin/customers/${id}${path}`, fields)).status, path).toBe(404);
    // Nothing was written for that customer.
    expect(Number((await t.ctx.knex('auditLog').where({ customerId: id }).count({ n: '*' }).first())!.n)).toBe(0);
    expect((await t.ctx.knex('customerShops').where({ customerId: id }).first()).status).toBe('active');
  });

  it('answers 404 to a sales rep for a customer of another team, and serves their own', async () => {
    expect((await teamRep.get(`/admin/customers/${otherTeam.id}`)).status).toBe(404);
    expect((await postForm(teamRep, `/admin/customers/${otherTeam.id}/notes/new`, { body: 'x' })).status).toBe(404);
    expect((await teamRep.get(`/admin/customers/${alice.id}`)).status).toBe(200);
  });

  it('answers 404 for ids that are not customers, and leaves the list routes alone', async () => {
    expect((await owner.get('/admin/customers/999999999')).status).toBe(404);
    expect((await owner.get('/admin/customers/99999999999999999999')).status).toBe(404);
    expect((await owner.get('/admin/customers/count')).status).toBe(200);
    expect((await owner.get(`/admin/customers/${alice.id}/widgets/nope`)).status).toBe(404);
  });

  it('serves a modal as a fragment to htmx and as a full page without, both with Vary: HX-Request', async () => {
    const fragment = await getHtmx(owner, `/admin/customers/${alice.id}/edit`);
    expect(fragment.status).toBe(200);
    expect(fragment.headers.vary).toContain('HX-Request');
    expect(fragment.text).not.toContain('<html');
    expect(fragment.text).toContain('<h2 id="modal-title">Edit customer</h2>');
    expect(fragment.text).toContain(`hx-post="/admin/customers/${alice.id}/edit" hx-target="#modal-body"`);

    const page = await owner.get(`/admin/customers/${alice.id}/edit`);
    expect(page.status).toBe(200);
    expect(page.headers.vary).toContain('HX-Request');
    expect(page.text).toContain('<html');
    expect(page.text).toContain('<meta name="csrf-token"');
    expect(page.text).toContain('<h2 id="modal-title">Edit customer</h2>');
    // A plain form on the page: no htmx target that only exists on the dashboard.
    expect(page.text).toContain(`<form class="modal-form" method="post" action="/admin/customers/${alice.id}/edit">`);
    expect(page.text).not.toContain('hx-target="#modal-body"');

    // htmx's own full-page requests get the page.
    const full = await owner.get(`/admin/customers/${alice.id}/edit`).set({ 'HX-Request': 'true', 'HX-Request-Type': 'full' });
    expect(full.text).toContain('<html');
  });

  it('re-renders a widget for htmx by name, and sends a plain request to the dashboard', async () => {
    const widget = await getHtmx(owner, `/admin/customers/${alice.id}/widgets/notes`);
    expect(widget.status).toBe(200);
    expect(widget.text.trim().startsWith('<section class="card widget" id="w-notes"')).toBe(true);
    const plain = await owner.get(`/admin/customers/${alice.id}/widgets/notes`);
    expect(plain.status).toBe(303);
    expect(plain.headers.location).toBe(`/admin/customers/${alice.id}#w-notes`);
  });

  it('answers a save with the changed widget for htmx (retargeted) and events for the others', async () => {
    const response = await postForm(owner, `/admin/customers/${alice.id}/notes/new`, { body: 'Prefers phone calls' }, { htmx: true });
    expect(response.status).toBe(200);
    expect(response.headers['hx-retarget']).toBe('#w-notes');
    expect(response.headers['hx-reswap']).toBe('outerHTML');
    expect(triggers(response)).toEqual({ timelineChanged: { target: 'body' }, closeModal: { target: 'body' } });
    expect(response.text).toContain('id="w-notes"');
    expect(response.text).toContain('Prefers phone calls');
    expect(response.text).toContain('<hx-partial hx-target="#toast"');

    const plain = await postForm(owner, `/admin/customers/${alice.id}/notes/new`, { body: 'Second note' });
    expect(plain.status).toBe(303);
    expect(plain.headers.location).toBe(`/admin/customers/${alice.id}`);
    const page = await owner.get(plain.headers.location!);
    expect(page.text).toContain('The note was added.');
  });

  it('refuses a state change without the CSRF token (403) and changes nothing', async () => {
    const before = await t.ctx.knex('customerNotes').count({ n: '*' }).first();
    const noToken = await owner.post(`/admin/customers/${alice.id}/notes/new`).type('form').send({ body: 'sneaky' });
    expect(noToken.status).toBe(403);
    const htmxNoToken = await owner.post(`/admin/customers/${alice.id}/credit/adjust`).set(HTMX).type('form').send({ key: 'k'.repeat(20), shopId: String(north.id), amount: '50', reason: 'x' });
    expect(htmxNoToken.status).toBe(403);
    const wrongToken = await owner.post(`/admin/customers/${alice.id}/delete`).set({ ...HTMX, 'X-CSRF-Token': 'nope' }).type('form').send({});
    expect(wrongToken.status).toBe(403);
    expect(await t.ctx.knex('customerNotes').count({ n: '*' }).first()).toEqual(before);
    expect(Number((await t.ctx.knex('creditTransactions').count({ n: '*' }).first())!.n)).toBe(0);
    expect(await t.ctx.knex('customers').where({ id: alice.id }).first('id')).toBeTruthy();
  });

  it('answers 400 for a field sent as an array, on every form', async () => {
    const cases: Array<[string, string]> = [
      ['/edit', 'email=a%40example.test&email=b%40example.test&customerType=B2C'],
      ['/notes/new', 'body=one&body=two'],
      ['/credit/adjust', `key=${'k'.repeat(20)}&shopId=${north.id}&amount=5&amount=6&reason=x`],
      ['/tags', 'tags=a&tags=b'],
      ['/addresses/new', 'line1=a&line1=b&city=c&countryCode=DE'],
      ['/password', 'password=a&password=b'],
    ];
    const token = await tokenOf(owner);
    for (const [path, body] of cases) {
      const response = await owner.post(`/admin/customers/${alice.id}${path}`).set('X-CSRF-Token', token).type('form').send(body);
      expect(response.status, path).toBe(400);
    }
  });

  it('shows the error of a refused action inside the modal for htmx', async () => {
    const response = await getHtmx(northStaff, `/admin/customers/${southOnly.id}/edit`);
    expect(response.status).toBe(404);
    expect(response.text).not.toContain('<html');
    expect(textOf(response.text)).toContain('We could not find that customer.');
  });
});

describe('customer dashboard: figures from the maintained aggregates', () => {
  let t: TestApp;
  let owner: Agent;

  beforeAll(async () => {
    t = await createTestApp();
    owner = await loginStaff(t.app, (await makeStaff(t.ctx.knex, { role: 'owner' })).email);
  });
  afterAll(() => t?.close());

  it('renders a customer with 10,000 orders from the aggregates, with the right figures', async () => {
    const knex = t.ctx.knex;
    const shop = await makeShop(knex, { code: 'big', name: 'Big Shop' });
    const customer = await makeCustomer(knex, [shop.id], { firstName: 'Many', lastName: 'Orders' });
    // 10,000 orders of 1.00 … 100.00, and a cancelled one that does not count. Inserted through the
    // orders trigger that maintains the aggregates, in batches of 100 (one statement updating the
    // same aggregate row many times walks an ever longer chain of row versions: 500 a statement
    // took 8 s, 100 take 5 s).
    for (let from = 1; from <= 10_001; from += 100) {
      await knex.raw(
        `INSERT INTO orders (shop_id, customer_id, number, status, currency, subtotal, total, placed_at)
         SELECT ?, ?, 'BIG-' || g, CASE WHEN g = 10001 THEN 'cancelled' ELSE 'placed' END, 'EUR', (g % 100 + 1) * 100, (g % 100 + 1) * 100,
                timestamptz '2026-01-01' + g * interval '1 minute'
           FROM generate_series(?::int, least(? + 99, 10001)) g`,
        [shop.id, customer.id, from, from],
      );
    }
    const expected = await knex.raw(`SELECT count(*)::int AS n, sum(total)::bigint AS total FROM orders WHERE customer_id = ? AND status <> 'cancelled'`, [customer.id]);
    const { n, total } = expected.rows[0] as { n: number; total: number };
    expect(n).toBe(10_000);

    const page = await owner.get(`/admin/customers/${customer.id}`);
    expect(page.status).toBe(200);
    const info = sectionText(page.text, 'w-info');
    expect(info).toContain('Orders 10,000');
    expect(info).toContain(`Lifetime total €${(Number(total) / 100).toLocaleString('en-GB', { minimumFractionDigits: 2 })}`);
    expect(info).toContain(`Average order €${(Math.round(Number(total) / n) / 100).toLocaleString('en-GB', { minimumFractionDigits: 2 })}`);
    // The 6 most recent: the newest non-cancelled and the cancelled one, newest first.
    const orders = sectionText(page.text, 'w-orders');
    expect(orders).toContain('Orders 10,000'); // cancelled orders do not count
    expect(orders.indexOf('BIG-10001')).toBeLessThan(orders.indexOf('BIG-10000'));
    expect(orders).not.toContain('BIG-9995');

    // The figures come from customer_shops, not from a scan of orders: changing the aggregate changes the page.
    await knex('customerShops').where({ customerId: customer.id }).update({ ordersCount: 4, totalSpent: 1000 });
    expect(sectionText((await owner.get(`/admin/customers/${customer.id}`)).text, 'w-info')).toContain('Average order €2.50');
    // Inserting the orders through the trigger is most of the time: 5 s alone on a slow machine,
    // past 30 s with the rest of the suite running beside it.
  }, 120_000);

  it('pages through all orders, sorted from an allow-list', async () => {
    const knex = t.ctx.knex;
    const customer = (await knex('customers').where({ firstName: 'Many' }).first('id')) as { id: number };
    const first = await owner.get(`/admin/customers/${customer.id}/orders`);
    expect(first.status).toBe(200);
    expect(first.text).toContain('rel="next"');
    expect((first.text.match(/<tr id="order-/g) ?? []).length).toBe(25);
    const byTotal = await owner.get(`/admin/customers/${customer.id}/orders?sort=total&dir=asc&page=2`);
    expect(byTotal.status).toBe(200);
    expect(byTotal.text).toContain('rel="prev"');
    expect(textOf(byTotal.text)).toContain('€1.00');
    const hostile = await owner.get(`/admin/customers/${customer.id}/orders?sort=${encodeURIComponent('total; drop table orders')}&dir=sideways&page=-3`);
    expect(hostile.status).toBe(200);
    expect(Number((await knex('orders').count({ n: '*' }).first())!.n)).toBe(10_001);
  });
});
