import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../support/agents.js';
import { makeProduct, makeStaffCast } from '../support/dashboard-scene.js';
import { auditOf, getHtmx, postForm, sectionText, triggers } from '../support/dashboard.js';
import { makeCustomer, makeShop } from '../support/factories.js';
import { escapeHtml, fieldError, inputValue, tableRows, textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** The day `days` from now (UTC), as YYYY-MM-DD; ±2 days keeps clear of the shop's time zone. */
const day = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/** Product subscriptions (F-DASH-4): the widget, add, view all, pause / resume / cancel, scope and input checks. */
describe('customer dashboard: product subscriptions', () => {
  let t: TestApp;
  let north: { id: number }, south: { id: number }, far: { id: number };
  let coffee: { id: number }, filters: { id: number }, southTea: { id: number }, retired: { id: number };
  let owner: Agent, northManager: Agent, farManager: Agent, support: Agent, rivalRep: Agent, teamRep: Agent;
  let ownerId: number;
  let team: { id: number };

  const subs = (customerId: number) => `/admin/customers/${customerId}/subscriptions`;
  const add = (agent: Agent, customerId: number, fields: Record<string, string | string[]>, htmx = false) =>
    postForm(agent, `${subs(customerId)}/new`, { shopId: String(north.id), productId: String(coffee.id), quantity: '2', interval: 'monthly', firstDelivery: day(7), ...fields }, { htmx });
  const status = (agent: Agent, customerId: number, id: number, action: string | string[], htmx = false) => postForm(agent, `${subs(customerId)}/${id}/status`, { action }, { htmx });
  const count = async (where: object) => Number((await t.ctx.knex('productSubscriptions').where(where).count({ n: '*' }).first())!.n);

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    north = await makeShop(knex, { code: 'snorth', name: 'Sub North' });
    south = await makeShop(knex, { code: 'ssouth', name: 'Sub South' });
    far = await makeShop(knex, { code: 'sfar', name: 'Sub Far' });
    coffee = await makeProduct(knex, north.id, 'COF-1', 'House Coffee 1kg', 1_890);
    filters = await makeProduct(knex, north.id, 'FIL-2', 'Paper Filters', 399);
    retired = await makeProduct(knex, north.id, 'OLD-3', 'Old Blend', 999, false);
    southTea = await makeProduct(knex, south.id, 'TEA-9', 'Green Tea', 1_200);
    ({ owner, ownerId, manager: northManager, foreign: farManager, support, rep: teamRep, rivalRep, team } = await makeStaffCast(t, { home: north.id, other: far.id, support: [north.id, south.id] }));
  });
  afterAll(() => t?.close());

  it('adds a subscription with htmx: the widget swapped, the timeline told, the row stored', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [north.id]);
    const form = await getHtmx(owner, `${subs(c.id)}/new`);
    expect(form.status).toBe(200);
    expect(inputValue(form.text, 'shopId')).toBe(String(north.id));
    expect(textOf(form.text)).toContain('House Coffee 1kg (COF-1) — €18.90');
    expect(form.text).not.toContain('Green Tea');
    expect(form.text).not.toContain('Old Blend');
    expect(inputValue(form.text, 'quantity')).toBe('1');

    const firstDelivery = day(7);
    const response = await add(owner, c.id, { quantity: '3', interval: 'weekly', firstDelivery, status: 'cancelled', customerId: '1' }, true);
    expect(response.status).toBe(200);
    expect(response.headers['hx-retarget']).toBe('#w-subscriptions');
    expect(triggers(response)).toEqual({ closeModal: { target: 'body' }, timelineChanged: { target: 'body' } });
    expect(textOf(response.text)).toContain('The subscription to House Coffee 1kg was added in Sub North.');
    expect(tableRows(response.text)[0]!.slice(1, 3)).toEqual(['3', 'weekly']);

    const row = await knex('productSubscriptions').where({ customerId: c.id }).first();
    expect(row).toMatchObject({ shopId: north.id, productId: coffee.id, quantity: 3, interval: 'weekly', status: 'active', createdByStaffId: ownerId });
    const stored = await knex('productSubscriptions').where({ id: row.id }).first(knex.raw(`to_char(next_delivery, 'YYYY-MM-DD') AS d`));
    expect(stored.d).toBe(firstDelivery);
    const [entry] = await auditOf(knex, c.id);
    expect(entry).toMatchObject({ action: 'subscription.created', shopId: north.id, actorId: ownerId, changes: { product: 'House Coffee 1kg', quantity: 3, interval: 'weekly', nextDelivery: firstDelivery } });
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(page.text, 'w-subscriptions')).toContain('House Coffee 1kg');
    expect(sectionText(page.text, 'w-timeline')).toContain('Subscription added: 3 × House Coffee 1kg');
  });

  it('adds from a plain form: 303 back to the dashboard with a flash message', async () => {
    const c = await makeCustomer(t.ctx.knex, [north.id]);
    const response = await add(owner, c.id, { productId: String(filters.id) });
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/admin/customers/${c.id}`);
    const page = await owner.get(response.headers.location!);
    expect(textOf(page.text)).toContain('The subscription to Paper Filters was added in Sub North.');
    expect(sectionText(page.text, 'w-subscriptions')).toContain('Paper Filters');
    const formPage = await owner.get(`${subs(c.id)}/new`);
    expect(formPage.text).toContain('<html');
    expect(formPage.text).toContain(`action="${subs(c.id)}/new"`);
  });

  it('asks for the shop first when the customer is in several, then offers that shop’s products only', async () => {
    const c = await makeCustomer(t.ctx.knex, [north.id, south.id]);
    const step1 = await getHtmx(owner, `${subs(c.id)}/new`);
    expect(step1.text).toContain('name="shop"');
    expect(step1.text).not.toContain('name="productId"');
    const step2 = await getHtmx(owner, `${subs(c.id)}/new?shop=${south.id}`);
    expect(step2.text).toContain('Green Tea');
    expect(step2.text).not.toContain('House Coffee');
    expect((await getHtmx(northManager, `${subs(c.id)}/new?shop=${south.id}`)).status).toBe(404);
    // The North manager goes straight to North's products: it is the only shop in their scope.
    expect(inputValue((await getHtmx(northManager, `${subs(c.id)}/new`)).text, 'shopId')).toBe(String(north.id));
  });

  it('shows the 6 most recent on the dashboard and all of them in "view all", paged', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [north.id]);
    await knex('productSubscriptions').insert(
      Array.from({ length: 55 }, (_, i) => ({
        customerId: c.id,
        shopId: north.id,
        productId: coffee.id,
        quantity: i + 1,
        interval: 'monthly',
        nextDelivery: day(10),
        status: i % 3 === 0 ? 'cancelled' : 'active',
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)),
      })),
    );
    const widgetHtml = (await getHtmx(owner, `/admin/customers/${c.id}/widgets/subscriptions`)).text;
    expect(textOf(widgetHtml)).toContain('Subscriptions 55');
    expect(tableRows(widgetHtml).map((r) => r[1])).toEqual(['55', '54', '53', '52', '51', '50']);
    const first = await getHtmx(owner, subs(c.id));
    expect(tableRows(first.text)).toHaveLength(50);
    const next = /hx-get="([^"]*\?before=\d+)"/.exec(first.text)![1]!;
    expect(tableRows((await getHtmx(owner, next)).text).map((r) => r[2])).toEqual(['5', '4', '3', '2', '1']);
    // Cancelled ones offer no actions; active ones pause or cancel.
    const rows = tableRows(first.text);
    expect(rows.find((r) => r[5] === 'cancelled')![6]).toBe('');
    expect(rows.find((r) => r[5] === 'active')![6]).toBe('Pause Cancel');
    expect((await owner.get(subs(c.id))).text).toContain('<html');
  });

  it('pauses, resumes (moving a passed delivery forward) and cancels; cancelled is final (409)', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [north.id]);
    await add(owner, c.id, { interval: 'weekly' });
    const { id } = await knex('productSubscriptions').where({ customerId: c.id }).first('id');

    const paused = await status(owner, c.id, id, 'pause', true);
    expect(paused.status).toBe(200);
    expect(triggers(paused)).toEqual({ subscriptionsChanged: { target: 'body' }, timelineChanged: { target: 'body' } });
    expect(textOf(paused.text)).toContain('The subscription to House Coffee 1kg is paused.');
    expect(tableRows(paused.text)[0]![5]).toBe('paused');
    expect((await status(owner, c.id, id, 'pause', true)).status).toBe(409);

    // Paused for a while: the next delivery has passed; resuming moves it forward by whole weeks.
    await knex('productSubscriptions').where({ id }).update({ nextDelivery: day(-10) });
    const resumed = await status(owner, c.id, id, 'resume');
    expect(resumed.status).toBe(303);
    expect(resumed.headers.location).toBe(subs(c.id));
    const after = await knex('productSubscriptions').where({ id }).first('status', knex.raw(`to_char(next_delivery, 'YYYY-MM-DD') AS d`));
    expect(after.status).toBe('active');
    expect(after.d >= day(-1) && after.d <= day(7)).toBe(true);
    expect((Date.parse(after.d) - Date.parse(day(-10))) % (7 * 86_400_000)).toBe(0);

    expect((await status(owner, c.id, id, 'cancel', true)).status).toBe(200);
    const again = await status(owner, c.id, id, 'resume', true);
    expect(again.status).toBe(409);
    expect(textOf(again.text)).toContain('The subscription to House Coffee 1kg was cancelled; add a new one instead.');
    expect((await knex('productSubscriptions').where({ id }).first('status')).status).toBe('cancelled');
    expect((await status(owner, c.id, id, 'explode', true)).status).toBe(422);
    expect((await status(owner, c.id, 99_999_999, 'pause', true)).status).toBe(404);

    const changes = (await auditOf(knex, c.id)).filter((a) => a.action === 'subscription.status_changed').map((a) => a.changes.fields.status.to);
    expect(changes).toEqual(['cancelled', 'active', 'paused']);
    const timeline = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-timeline');
    expect(timeline).toContain('Subscription cancelled: House Coffee 1kg');
    expect(timeline).toContain('Subscription resumed: House Coffee 1kg');
    expect(timeline).toContain('Next delivery');
    expect(timeline).toContain('Subscription paused: House Coffee 1kg');
  });

  it('refuses a product of another shop and an inactive product, storing nothing', async () => {
    const c = await makeCustomer(t.ctx.knex, [north.id, south.id]);
    const other = await add(owner, c.id, { productId: String(southTea.id) }, true);
    expect(other.status).toBe(422);
    expect(fieldError(other.text, 'productId')).toBe('Choose a product of Sub North from the list.');
    expect(fieldError((await add(owner, c.id, { productId: String(retired.id) }, true)).text, 'productId')).toBe('Choose a product of Sub North from the list.');
    expect(await count({ customerId: c.id })).toBe(0);
  });

  it('answers 404 for a shop outside the staff member’s scope, staff of another shop and a sales rep of another team', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [north.id, south.id], { salesTeamId: team.id });
    expect((await add(northManager, c.id, {})).status).toBe(303);
    expect((await add(northManager, c.id, { shopId: String(south.id), productId: String(southTea.id) })).status).toBe(404);
    await add(owner, c.id, { shopId: String(south.id), productId: String(southTea.id) });
    const southSub = await knex('productSubscriptions').where({ customerId: c.id, shopId: south.id }).first('id');
    expect(tableRows((await getHtmx(northManager, subs(c.id))).text)).toHaveLength(1);
    expect((await status(northManager, c.id, southSub.id, 'pause')).status).toBe(404);
    for (const agent of [farManager, rivalRep]) {
      expect((await getHtmx(agent, subs(c.id))).status).toBe(404);
      expect((await getHtmx(agent, `${subs(c.id)}/new`)).status).toBe(404);
      expect((await getHtmx(agent, `/admin/customers/${c.id}/widgets/subscriptions`)).status).toBe(404);
      expect((await add(agent, c.id, {})).status).toBe(404);
      expect((await status(agent, c.id, southSub.id, 'cancel')).status).toBe(404);
    }
    expect((await add(teamRep, c.id, { productId: String(filters.id) })).status).toBe(303);
    expect(await count({ customerId: c.id })).toBe(3);
    expect((await knex('productSubscriptions').where({ id: southSub.id }).first('status')).status).toBe('active');
  });

  it('lets support staff pause, resume and cancel but not add (403)', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [north.id]);
    await add(owner, c.id, {});
    const { id } = await knex('productSubscriptions').where({ customerId: c.id }).first('id');
    expect(sectionText((await support.get(`/admin/customers/${c.id}`)).text, 'w-subscriptions')).not.toContain('Add subscription');
    expect((await getHtmx(support, `${subs(c.id)}/new`)).status).toBe(403);
    expect((await add(support, c.id, {})).status).toBe(403);
    expect((await status(support, c.id, id, 'pause')).status).toBe(303);
    expect((await knex('productSubscriptions').where({ id }).first('status')).status).toBe('paused');
    expect(await count({ customerId: c.id })).toBe(1);
  });

  it('validates the form with field messages (422) and answers 400 for arrays', async () => {
    const c = await makeCustomer(t.ctx.knex, [north.id]);
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ productId: '' }, 'productId', 'Choose a product from the list.'],
      [{ productId: 'abc' }, 'productId', 'Choose a product from the list.'],
      [{ productId: "1 OR 1=1" }, 'productId', 'Choose a product from the list.'],
      [{ quantity: '' }, 'quantity', 'Enter a whole number from 1 to 999.'],
      [{ quantity: '0' }, 'quantity', 'Enter a whole number from 1 to 999.'],
      [{ quantity: '-1' }, 'quantity', 'Enter a whole number from 1 to 999.'],
      [{ quantity: 'abc' }, 'quantity', 'Enter a whole number from 1 to 999.'],
      [{ quantity: '1e9' }, 'quantity', 'Enter a whole number from 1 to 999.'],
      [{ quantity: '1000' }, 'quantity', 'Enter a whole number from 1 to 999.'],
      [{ quantity: '2.5' }, 'quantity', 'Enter a whole number from 1 to 999.'],
      [{ interval: 'daily' }, 'interval', 'Choose how often it is delivered.'],
      [{ interval: '' }, 'interval', 'Choose how often it is delivered.'],
      [{ firstDelivery: day(-2) }, 'firstDelivery', 'The first delivery cannot be in the past.'],
      [{ firstDelivery: day(400) }, 'firstDelivery', 'The first delivery can be at most a year ahead.'],
      [{ firstDelivery: 'tomorrow' }, 'firstDelivery', 'Enter the date as YYYY-MM-DD.'],
      [{ firstDelivery: '2027-02-30' }, 'firstDelivery', 'Enter the date as YYYY-MM-DD.'],
      [{ firstDelivery: '<script>alert(1)</script>' }, 'firstDelivery', 'Enter the date as YYYY-MM-DD.'],
    ];
    for (const [fields, field, message] of cases) {
      const response = await add(owner, c.id, fields, true);
      expect(response.status, JSON.stringify(fields)).toBe(422);
      expect(fieldError(response.text, field), JSON.stringify(fields)).toBe(message);
      expect(response.text).not.toContain('<script>alert(1)');
    }
    // What was typed comes back escaped.
    const typed = await add(owner, c.id, { firstDelivery: "<script>alert(1)</script>' OR 1=1 --" }, true);
    expect(inputValue(typed.text, 'firstDelivery')).toBe("<script>alert(1)</script>' OR 1=1 --");
    expect(typed.text).toContain(escapeHtml("<script>alert(1)</script>' OR 1=1 --"));
    const arrays: Array<Record<string, string[]>> = [{ quantity: ['1', '2'] }, { productId: [String(coffee.id), String(filters.id)] }, { interval: ['weekly', 'monthly'] }];
    for (const fields of arrays) {
      expect((await add(owner, c.id, fields)).status).toBe(400);
    }
    expect((await status(owner, c.id, 1, ['pause', 'cancel'])).status).toBe(400);
    expect((await getHtmx(owner, `${subs(c.id)}/abc/status`)).status).toBe(404);
    expect(await count({ customerId: c.id })).toBe(0);
  });
});
