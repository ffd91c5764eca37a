import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { useDatabase } from '../support/database.js';
import { makeCustomer, makeOrder, makeShop } from '../support/factories.js';

/**
 * Orders placed in a shop before the customer was assigned to it (synced from the storefront before
 * an import or a registration) count once the assignment is made, in the shop's figures and in the
 * customer's across shops, as the list sorts and filters by them.
 */
describe('the order figures of a new assignment', () => {
  let knex: Knex;
  let north: number;
  let south: number;
  useDatabase(async (db) => {
    knex = db.knex;
    [north, south] = [(await makeShop(knex)).id, (await makeShop(knex)).id];
  });

  const assignment = (customerId: number, shopId: number) =>
    knex('customerShops').where({ customerId, shopId }).first('ordersCount', 'totalSpent', 'lastOrderId', 'lastOrderAt');
  const platform = (customerId: number) => knex('customers').where({ id: customerId }).first('ordersCount', 'totalSpent', 'lastOrderId');

  /**
   * Runs `first` in a transaction, then `second` on another connection while that transaction is
   * open; commits it after 300 ms and waits for `second`. Answers whether `second` had ended
   * before the commit (it had not if it waited for a lock of the first).
   */
  async function meanwhile(first: (trx: Knex.Transaction) => Promise<unknown>, second: () => Promise<unknown>): Promise<boolean> {
    const trx = await knex.transaction();
    try {
      await first(trx);
      let ended = false;
      const running = second().then(() => (ended = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const endedBeforeCommit = ended;
      await trx.commit();
      await running;
      return endedBeforeCommit;
    } finally {
      if (!trx.isCompleted()) await trx.rollback();
    }
  }

  it('starts from the orders already placed in its shop, and adds them to the customer’s figures', async () => {
    const c = await makeCustomer(knex, [north]);
    await makeOrder(knex, c.id, north, 1_000, new Date('2025-01-10T10:00:00Z'));
    // Placed in the south shop while the customer was not assigned there: counted nowhere yet.
    await makeOrder(knex, c.id, south, 2_500, new Date('2025-02-01T10:00:00Z'));
    const newest = await makeOrder(knex, c.id, south, 4_000, new Date('2025-03-01T10:00:00Z'));
    const cancelled = await makeOrder(knex, c.id, south, 9_900, new Date('2025-04-01T10:00:00Z'));
    await knex('orders').where({ id: cancelled.id }).update({ status: 'cancelled' });
    expect(await platform(c.id)).toEqual({ ordersCount: 1, totalSpent: 1000, lastOrderId: expect.anything() });

    await knex('customerShops').insert({ customerId: c.id, shopId: south, status: 'active' });

    expect(await assignment(c.id, south)).toEqual({ ordersCount: 2, totalSpent: 6500, lastOrderId: newest.id, lastOrderAt: new Date('2025-03-01T10:00:00Z') });
    expect(await assignment(c.id, north)).toMatchObject({ ordersCount: 1, totalSpent: 1000 });
    expect(await platform(c.id)).toEqual({ ordersCount: 3, totalSpent: 7500, lastOrderId: newest.id });

    // From then on the orders trigger adds to them as before.
    await makeOrder(knex, c.id, south, 500, new Date('2025-05-01T10:00:00Z'));
    expect(await assignment(c.id, south)).toMatchObject({ ordersCount: 3, totalSpent: 7000 });
    expect(await platform(c.id)).toMatchObject({ ordersCount: 4, totalSpent: 8000 });
  });

  it('handles many assignments in one statement, as an import makes them, and leaves the others alone', async () => {
    const withOrders = await makeCustomer(knex, [north]);
    const without = await makeCustomer(knex, [north]);
    const untouched = await makeCustomer(knex, [north]);
    await makeOrder(knex, withOrders.id, south, 1_200);
    await makeOrder(knex, untouched.id, south, 700);

    await knex('customerShops').insert([withOrders, without].map((c) => ({ customerId: c.id, shopId: south, status: 'active' })));

    expect(await assignment(withOrders.id, south)).toMatchObject({ ordersCount: 1, totalSpent: 1200 });
    expect(await platform(withOrders.id)).toMatchObject({ ordersCount: 1, totalSpent: 1200 });
    expect(await assignment(without.id, south)).toEqual({ ordersCount: 0, totalSpent: 0, lastOrderId: null, lastOrderAt: null });
    expect(await platform(without.id)).toMatchObject({ ordersCount: 0, totalSpent: 0 });
    // Not assigned to the south shop: its order there still counts nowhere.
    expect(await platform(untouched.id)).toMatchObject({ ordersCount: 0, totalSpent: 0 });
  });

  it('takes the later order as the last one when orders in two shops were placed at the same moment', async () => {
    const c = await makeCustomer(knex, [north]);
    const moment = new Date('2025-06-01T10:00:00Z');
    await makeOrder(knex, c.id, north, 100, moment);
    const later = await makeOrder(knex, c.id, south, 200, moment);
    await knex('customerShops').insert({ customerId: c.id, shopId: south, status: 'active' });
    expect(await platform(c.id)).toEqual({ ordersCount: 2, totalSpent: 300, lastOrderId: later.id });

    // And when the figures are computed again (an order cancelled).
    const cancelled = await makeOrder(knex, c.id, south, 50, new Date('2025-01-01T10:00:00Z'));
    await knex('orders').where({ id: cancelled.id }).update({ status: 'cancelled' });
    expect(await platform(c.id)).toEqual({ ordersCount: 2, totalSpent: 300, lastOrderId: later.id });
  });

  it('counts an order placed while the assignment is being made, whichever commits first', async () => {
    const c = await makeCustomer(knex, [north]);
    // The order waits for the assignment's transaction (its foreign-key check's lock on the customer).
    const orderEndedFirst = await meanwhile(
      (trx) => trx('customerShops').insert({ customerId: c.id, shopId: south, status: 'active' }),
      () => makeOrder(knex, c.id, south, 900),
    );
    expect(orderEndedFirst).toBe(false);
    expect(await assignment(c.id, south)).toMatchObject({ ordersCount: 1, totalSpent: 900 });
    expect(await platform(c.id)).toMatchObject({ ordersCount: 1, totalSpent: 900 });

    // The other way round: an order not yet committed when the assignment is made.
    const d = await makeCustomer(knex, [north]);
    await meanwhile(
      (trx) => makeOrder(trx, d.id, south, 400),
      () => knex('customerShops').insert({ customerId: d.id, shopId: south, status: 'active' }),
    );
    expect(await assignment(d.id, south)).toMatchObject({ ordersCount: 1, totalSpent: 400 });
    expect(await platform(d.id)).toMatchObject({ ordersCount: 1, totalSpent: 400 });
  });

  it('keeps an order another transaction adds to the customer’s figures while the assignment is made', async () => {
    const c = await makeCustomer(knex, [north]);
    await makeOrder(knex, c.id, north, 100);
    await makeOrder(knex, c.id, south, 250);
    // An order in the north shop, not yet committed, has added itself to the customer's figures.
    await meanwhile(
      (trx) => makeOrder(trx, c.id, north, 1_000),
      () => knex('customerShops').insert({ customerId: c.id, shopId: south, status: 'active' }),
    );
    expect(await assignment(c.id, north)).toMatchObject({ ordersCount: 2, totalSpent: 1_100 });
    expect(await assignment(c.id, south)).toMatchObject({ ordersCount: 1, totalSpent: 250 });
    expect(await platform(c.id)).toMatchObject({ ordersCount: 3, totalSpent: 1_350 });
  });
});
