import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMonths, limitWindow, purchaseLimitStatus, spentQuery, todayIn } from '../../app/services/purchase-limit.service.js';
import type { Agent } from '../support/agents.js';
import { makeStaffCast } from '../support/dashboard-scene.js';
import { auditOf, getHtmx, postForm, sectionText, triggers } from '../support/dashboard.js';
import { makeCustomer, makeOrder, makeShop } from '../support/factories.js';
import { fieldError, inputValue, textOf } from '../support/html.js';
import { planWithout } from '../support/statements.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** F-LIMIT-1 purchase limits per customer and shop (dashboard part, and the window/remaining service the storefront will use). */
describe('purchase limits', () => {
  let t: TestApp;
  let knex: Knex;
  let shop: { id: number }, otherShop: { id: number };
  let owner: Agent, support: Agent, foreign: Agent, rivalRep: Agent, rep: Agent;
  let ownerId: number;
  let team: { id: number };
  const TZ = 'Europe/Berlin';

  /** The instant of midnight (plus `minutes`) of a calendar day in the shop's time zone. */
  const at = async (day: string, minutes: number) => {
    const row = (await knex.raw(`SELECT ((?::date)::timestamp AT TIME ZONE ?) + make_interval(mins => ?) AS t`, [day, TZ, minutes])).rows[0] as { t: Date };
    return new Date(row.t);
  };
  const set = (agent: Agent, customerId: number, fields: Record<string, string | string[]>, htmx = false) =>
    postForm(agent, `/admin/customers/${customerId}/purchase-limit`, { shopId: String(shop.id), amount: '500', period: 'monthly', startDate: '2026-01-01', endDate: '', ...fields }, { htmx });
  const limitOf = (customerId: number) => knex('purchaseLimits').where({ customerId }).first('amount', 'period', knex.raw("to_char(start_date, 'YYYY-MM-DD') AS start_date"), knex.raw("to_char(end_date, 'YYYY-MM-DD') AS end_date"));

  beforeAll(async () => {
    t = await createTestApp({ backend: 'postgres' });
    knex = t.ctx.knex;
    shop = await makeShop(knex, { code: 'limits', name: 'Limit Shop' });
    otherShop = await makeShop(knex, { code: 'limits-other', name: 'Other Limit Shop' });
    ({ owner, ownerId, support, foreign, rep, rivalRep, team } = await makeStaffCast(t, { home: shop.id, other: otherShop.id }));
  });
  afterAll(() => t?.close());

  it('computes fixed and recurring windows, clamping to short months', () => {
    const fixed = { startDate: '2026-03-01', endDate: '2026-03-31', period: null };
    expect(limitWindow(fixed, '2026-02-28').state).toBe('upcoming');
    expect(limitWindow(fixed, '2026-03-31')).toEqual({ state: 'active', window: { start: '2026-03-01', end: '2026-03-31', endExclusive: '2026-04-01' } });
    expect(limitWindow(fixed, '2026-04-01').state).toBe('ended');

    const monthly = { startDate: '2026-01-31', endDate: null, period: 'monthly' as const };
    expect(limitWindow(monthly, '2026-02-27').window).toEqual({ start: '2026-01-31', end: '2026-02-27', endExclusive: '2026-02-28' });
    expect(limitWindow(monthly, '2026-02-28').window).toEqual({ start: '2026-02-28', end: '2026-03-30', endExclusive: '2026-03-31' });
    expect(limitWindow(monthly, '2026-03-31').window.start).toBe('2026-03-31');
    expect(limitWindow(monthly, '2026-01-30')).toMatchObject({ state: 'upcoming', window: { start: '2026-01-31' } });

    const quarterly = { startDate: '2026-01-15', endDate: null, period: 'quarterly' as const };
    expect(limitWindow(quarterly, '2026-04-14').window).toEqual({ start: '2026-01-15', end: '2026-04-14', endExclusive: '2026-04-15' });
    expect(limitWindow(quarterly, '2026-04-15').window).toEqual({ start: '2026-04-15', end: '2026-07-14', endExclusive: '2026-07-15' });
    expect(limitWindow(quarterly, '2029-12-31').window.start).toBe('2029-10-15');

    const yearly = { startDate: '2024-02-29', endDate: null, period: 'yearly' as const };
    expect(limitWindow(yearly, '2025-02-27').window).toEqual({ start: '2024-02-29', end: '2025-02-27', endExclusive: '2025-02-28' });
    expect(limitWindow(yearly, '2028-03-01').window.start).toBe('2028-02-29');
    expect(addMonths('2026-11-30', 3)).toBe('2027-02-28');
  });

  it('counts only this window’s non-cancelled orders in the shop, in the shop’s time zone', async () => {
    const c = await makeCustomer(knex, [shop.id, otherShop.id]);
    await knex('purchaseLimits').insert({ customerId: c.id, shopId: shop.id, amount: 50000, startDate: '2026-01-15', period: 'monthly' });
    await makeOrder(knex, c.id, shop.id, 10000, await at('2026-02-14', 23 * 60 + 30)); // 23:30 on the 14th: January's window
    await makeOrder(knex, c.id, shop.id, 2500, await at('2026-02-15', 30)); // 00:30 on the 15th: February's
    const cancelled = await makeOrder(knex, c.id, shop.id, 7000, await at('2026-02-16', 0));
    await knex('orders').where({ id: cancelled.id }).update({ status: 'cancelled' });
    await makeOrder(knex, c.id, otherShop.id, 9900, await at('2026-02-16', 0)); // another shop

    const before = await purchaseLimitStatus(knex, { customerId: c.id, shopId: shop.id, now: await at('2026-02-14', 23 * 60 + 45) });
    expect(before).toMatchObject({ state: 'active', window: { start: '2026-01-15', end: '2026-02-14' }, spent: 10000, remaining: 40000, currency: 'EUR' });
    const after = await purchaseLimitStatus(knex, { customerId: c.id, shopId: shop.id, now: await at('2026-02-20', 12 * 60) });
    expect(after).toMatchObject({ state: 'active', window: { start: '2026-02-15', end: '2026-03-14' }, spent: 2500, remaining: 47500 });
    expect(await purchaseLimitStatus(knex, { customerId: c.id, shopId: otherShop.id })).toBeNull();
  });

  it('reads what was spent through the orders index (customer, shop, placed_at), not a scan of all orders', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    const query = spentQuery(knex, { customerId: c.id, shopId: shop.id, timeZone: TZ, start: '2026-02-01', endExclusive: '2026-03-01' });
    const plan = await planWithout(knex, query.toSQL().toNative(), ['enable_seqscan']);
    expect(plan).toMatch(/Index (Only )?Scan.* using orders_customer_idx/);
    expect(plan).toMatch(/Index Cond: .*customer_id.*shop_id.*placed_at/s);
    expect(plan).not.toContain('Seq Scan');
  });

  it('shows spent and remaining across a monthly window boundary on the dashboard', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    const today = todayIn(TZ);
    const first = `${today.slice(0, 8)}01`;
    await knex('purchaseLimits').insert({ customerId: c.id, shopId: shop.id, amount: 50000, startDate: addMonths(first, -2), period: 'monthly' });
    await makeOrder(knex, c.id, shop.id, 40000, await at(first, -1)); // last minute of the previous window
    await makeOrder(knex, c.id, shop.id, 12000, await at(first, 1)); // first minute of this one
    await makeOrder(knex, c.id, shop.id, 3050, await at(first, 2));
    const other = await makeCustomer(knex, [shop.id]);
    await makeOrder(knex, other.id, shop.id, 9999, await at(first, 3));
    const widget = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-purchaseLimit');
    expect(widget).toContain('Limit Shop €500.00 per month');
    expect(widget).toContain('Spent €150.50 · remaining €349.50');
  });

  it('shows a limit that has not started yet and one whose fixed window has ended', async () => {
    const upcoming = await makeCustomer(knex, [shop.id]);
    await knex('purchaseLimits').insert({ customerId: upcoming.id, shopId: shop.id, amount: 20000, startDate: '2099-03-15', period: 'yearly' });
    const ended = await makeCustomer(knex, [shop.id]);
    await knex('purchaseLimits').insert({ customerId: ended.id, shopId: shop.id, amount: 20000, startDate: '2020-01-01', endDate: '2020-12-31' });
    await makeOrder(knex, ended.id, shop.id, 5000, await at('2020-06-01', 600));
    const first = sectionText((await owner.get(`/admin/customers/${upcoming.id}`)).text, 'w-purchaseLimit');
    expect(first).toContain('€200.00 per year recurring from 15 Mar 2099 · starts 15 Mar 2099');
    expect(first).toContain('Spent €0.00 · remaining €200.00');
    const second = sectionText((await owner.get(`/admin/customers/${ended.id}`)).text, 'w-purchaseLimit');
    expect(second).toContain('€200.00 ended 31 Dec 2020');
    expect(second).not.toContain('remaining');
  });

  it('sets a limit (htmx), changes it (plain form) and removes it, each on the timeline', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    expect(sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-purchaseLimit')).toContain('Limit Shop No limit Set limit');
    const form = await getHtmx(owner, `/admin/customers/${c.id}/purchase-limit?shop=${shop.id}`);
    expect(form.status).toBe(200);
    expect(inputValue(form.text, 'shopId')).toBe(String(shop.id));

    const response = await set(owner, c.id, { amount: '1250.50', period: 'quarterly', startDate: '2026-01-01' }, true);
    expect(response.status).toBe(200);
    expect(response.headers['hx-retarget']).toBe('#w-purchaseLimit');
    expect(triggers(response)).toMatchObject({ closeModal: { target: 'body' }, timelineChanged: { target: 'body' } });
    expect(textOf(response.text)).toContain('Limit Shop €1,250.50 per quarter');
    expect(await limitOf(c.id)).toEqual({ amount: 125050, period: 'quarterly', startDate: '2026-01-01', endDate: null });
    expect((await auditOf(knex, c.id))[0]).toMatchObject({ action: 'purchase_limit.set', shopId: shop.id, actorId: ownerId, changes: { limit: '€1,250.50 per quarter from 2026-01-01' } });

    const changed = await set(owner, c.id, { amount: '300', period: 'fixed', startDate: '2026-01-01', endDate: '2099-12-31' });
    expect(changed.status).toBe(303);
    expect(await limitOf(c.id)).toEqual({ amount: 30000, period: null, startDate: '2026-01-01', endDate: '2099-12-31' });
    expect((await auditOf(knex, c.id))[0]).toMatchObject({
      action: 'purchase_limit.changed',
      changes: { fields: { 'purchase limit': { from: '€1,250.50 per quarter from 2026-01-01', to: '€300.00 from 2026-01-01 to 2099-12-31' } } },
    });
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(page.text, 'w-purchaseLimit')).toContain('current window 1 Jan 2026 – 31 Dec 2099');
    expect(sectionText(page.text, 'w-timeline')).toMatch(/Purchase limit changed.*Purchase limit set/);

    const edit = await getHtmx(owner, `/admin/customers/${c.id}/purchase-limit?shop=${shop.id}`);
    expect(inputValue(edit.text, 'amount')).toBe('300.00');
    expect(inputValue(edit.text, 'endDate')).toBe('2099-12-31');

    const removed = await postForm(owner, `/admin/customers/${c.id}/purchase-limit/${shop.id}/remove`, {}, { htmx: true });
    expect(removed.status).toBe(200);
    expect(await limitOf(c.id)).toBeUndefined();
    expect((await auditOf(knex, c.id))[0]).toMatchObject({ action: 'purchase_limit.removed', changes: { limit: '€300.00 from 2026-01-01 to 2099-12-31' } });
    expect(sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-timeline')).toContain('Purchase limit removed');
    expect((await postForm(owner, `/admin/customers/${c.id}/purchase-limit/${shop.id}/remove`, {})).status).toBe(404);
  });

  it('refuses bad input with field messages', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ amount: '' }, 'amount', /above zero/],
      [{ amount: '0' }, 'amount', /above zero/],
      [{ amount: '-5' }, 'amount', /above zero/],
      [{ amount: "1' OR 1=1 --" }, 'amount', /above zero/],
      [{ period: 'weekly' }, 'period', /fixed dates or a recurring period/],
      [{ startDate: '' }, 'startDate', /Enter the start date/],
      [{ startDate: '2026-02-30' }, 'startDate', /YYYY-MM-DD/],
      [{ startDate: '0000-01-01' }, 'startDate', /YYYY-MM-DD/],
      [{ startDate: '../../etc' }, 'startDate', /YYYY-MM-DD/],
      [{ period: 'fixed', endDate: '' }, 'endDate', /Enter the end date/],
      [{ period: 'fixed', startDate: '2026-05-01', endDate: '2026-04-30' }, 'endDate', /cannot be before the start date/],
      [{ period: 'monthly', endDate: '2026-12-31' }, 'endDate', /recurring limit has no end date/],
    ];
    for (const [fields, field, message] of cases) {
      const response = await set(owner, c.id, fields, true);
      expect(response.status, JSON.stringify(fields)).toBe(422);
      expect(fieldError(response.text, field), JSON.stringify(fields)).toMatch(message);
    }
    expect((await set(owner, c.id, { amount: ['1', '2'] })).status).toBe(400);
    // A shop the customer is not in, or an id that is no number: 404.
    expect((await set(owner, c.id, { shopId: String(otherShop.id) })).status).toBe(404);
    expect((await set(owner, c.id, { shopId: 'abc' })).status).toBe(404);
    expect(await limitOf(c.id)).toBeUndefined();
    // The database holds the same rule: an end date or a period, not both, not neither.
    await expect(knex('purchaseLimits').insert({ customerId: c.id, shopId: shop.id, amount: 1, startDate: '2026-01-01', endDate: '2026-02-01', period: 'monthly' })).rejects.toThrow(/check constraint/);
    await expect(knex('purchaseLimits').insert({ customerId: c.id, shopId: shop.id, amount: 1, startDate: '2026-01-01' })).rejects.toThrow(/check constraint/);
  });

  it('scopes every route: another shop’s staff and another team’s rep get 404, support may only look', async () => {
    const c = await makeCustomer(knex, [shop.id], { salesTeamId: team.id });
    expect((await set(rep, c.id, {})).status).toBe(303);
    for (const agent of [foreign, rivalRep]) {
      expect((await agent.get(`/admin/customers/${c.id}/purchase-limit?shop=${shop.id}`)).status).toBe(404);
      expect((await set(agent, c.id, { amount: '1' })).status).toBe(404);
      expect((await postForm(agent, `/admin/customers/${c.id}/purchase-limit/${shop.id}/remove`, {})).status).toBe(404);
    }
    const seen = sectionText((await support.get(`/admin/customers/${c.id}`)).text, 'w-purchaseLimit');
    expect(seen).toContain('€500.00 per month');
    expect(seen).not.toContain('Edit');
    expect((await support.get(`/admin/customers/${c.id}/purchase-limit?shop=${shop.id}`)).status).toBe(403);
    expect((await set(support, c.id, { amount: '1' })).status).toBe(403);
    expect((await postForm(support, `/admin/customers/${c.id}/purchase-limit/${shop.id}/remove`, {})).status).toBe(403);
    expect(await limitOf(c.id)).toMatchObject({ amount: 50000 });
  });
});
