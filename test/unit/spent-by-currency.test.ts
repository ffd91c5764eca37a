import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { listCustomers } from '../../app/services/customer-list.service.js';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { useDatabase } from '../support/database.js';
import { makeCustomer, makeOrder, makeShop } from '../support/factories.js';

/**
 * What a customer spent per currency (the sum of their assignments' totals in the shops of each) is
 * kept by triggers, so that the all-shops list filters by it from an index (migration 35). Each
 * test checks the kept sums against the assignments they come from and against the expected
 * amounts.
 */
describe('the spent per currency kept for each customer', () => {
  let knex: Knex;
  let euro: number;
  let pound: number;
  let euroToo: number;
  useDatabase(async (db) => {
    knex = db.knex;
    [euro, pound, euroToo] = [(await makeShop(knex)).id, (await makeShop(knex)).id, (await makeShop(knex)).id];
    await knex('shops').where({ id: pound }).update({ currency: 'GBP' });
  });

  /** The kept sums of one customer, and (checked here) the same summed from the assignments. */
  async function spentOf(customerId: number): Promise<Record<string, number>> {
    const kept = (await knex('customerSpentByCurrency').where({ customerId }).where('totalSpent', '<>', 0).select('currency', 'totalSpent')) as Array<{ currency: string; totalSpent: string }>;
    const summed = (await knex('customerShops as cs')
      .join('shops as s', 's.id', 'cs.shopId')
      .where('cs.customerId', customerId)
      .groupBy('s.currency')
      .havingRaw('sum(cs.total_spent) <> 0')
      .select('s.currency', knex.raw('sum(cs.total_spent) AS total_spent'))) as Array<{ currency: string; totalSpent: string }>;
    const asRecord = (rows: Array<{ currency: string; totalSpent: string }>) => Object.fromEntries(rows.map((row) => [row.currency, Number(row.totalSpent)]));
    expect(asRecord(kept)).toEqual(asRecord(summed));
    return asRecord(kept);
  }

  /** A customer of all three shops who spent 1,000 and 400 in the two euro shops and 600 in pounds. */
  async function spenderInAllThree() {
    const c = await makeCustomer(knex, [euro, pound, euroToo]);
    await makeOrder(knex, c.id, euro, 1_000);
    await makeOrder(knex, c.id, euroToo, 400);
    await makeOrder(knex, c.id, pound, 600);
    return c;
  }

  it('adds each order to its shop’s currency, and takes back a cancelled or deleted one', async () => {
    const c = await makeCustomer(knex, [euro, pound, euroToo]);
    await makeOrder(knex, c.id, euro, 1_000);
    await makeOrder(knex, c.id, euroToo, 250);
    const cancelled = await makeOrder(knex, c.id, pound, 700);
    const deleted = await makeOrder(knex, c.id, pound, 300);
    expect(await spentOf(c.id)).toEqual({ EUR: 1_250, GBP: 1_000 });

    await knex('orders').where({ id: cancelled.id }).update({ status: 'cancelled' });
    await knex('orders').where({ id: deleted.id }).delete();
    expect(await spentOf(c.id)).toEqual({ EUR: 1_250 });
  });

  it('counts the orders a new assignment finds in its shop; an assignment with nothing spent writes nothing', async () => {
    const c = await makeCustomer(knex, [euro]);
    await makeOrder(knex, c.id, pound, 900);
    expect(await spentOf(c.id)).toEqual({});

    await knex('customerShops').insert({ customerId: c.id, shopId: pound, status: 'active' });
    expect(await spentOf(c.id)).toEqual({ GBP: 900 });

    const imported = await makeCustomer(knex, [euro, pound]);
    expect(await knex('customerSpentByCurrency').where({ customerId: imported.id })).toEqual([]);
  });

  it('takes an assignment’s spend away with it, and leaves the other customers and currencies alone', async () => {
    const c = await spenderInAllThree();
    const other = await makeCustomer(knex, [euro]);
    await makeOrder(knex, other.id, euro, 50);

    await knex('customerShops').where({ customerId: c.id, shopId: euro }).delete();
    expect(await spentOf(c.id)).toEqual({ EUR: 400, GBP: 600 });
    await knex('customerShops').where({ customerId: c.id, shopId: pound }).delete();
    expect(await spentOf(c.id)).toEqual({ EUR: 400 });
    expect(await spentOf(other.id)).toEqual({ EUR: 50 });
  });

  it('moves the spend of a shop’s customers when the shop changes its currency', async () => {
    const c = await spenderInAllThree();
    const euroOnly = await makeCustomer(knex, [euroToo]);
    await makeOrder(knex, euroOnly.id, euroToo, 80);

    await knex('shops').where({ id: euroToo }).update({ currency: 'GBP' });
    expect(await spentOf(c.id)).toEqual({ EUR: 1_000, GBP: 1_000 });
    expect(await spentOf(euroOnly.id)).toEqual({ GBP: 80 });

    // Saving the shop with the same currency changes nothing.
    await knex('shops').where({ id: euroToo }).update({ currency: 'GBP', name: 'Renamed' });
    expect(await spentOf(c.id)).toEqual({ EUR: 1_000, GBP: 1_000 });
  });

  it('is what the all-shops list filters by, a lower bound from its index and an upper one per row', async () => {
    // The search leaves out the customers of the tests above.
    const big = await makeCustomer(knex, [euro, pound], { email: 'listed-big@example.test' });
    const small = await makeCustomer(knex, [euro, pound], { email: 'listed-small@example.test' });
    await makeCustomer(knex, [euro], { email: 'listed-none@example.test' });
    await makeOrder(knex, big.id, euro, 60_00);
    await makeOrder(knex, big.id, euroToo, 0);
    await makeOrder(knex, big.id, pound, 5_00);
    await makeOrder(knex, small.id, euro, 5_00);
    await makeOrder(knex, small.id, pound, 90_00);
    const emails = async (qs: string) =>
      (await listCustomers(knex, { kind: 'all' }, parseCustomerListQuery(Object.fromEntries(new URLSearchParams(`q=listed&sort=email&dir=asc&${qs}`))), null)).rows.map((row) => row.email);

    expect(await emails('spent_min=50&spent_currency=EUR')).toEqual(['listed-big@example.test']);
    expect(await emails('spent_min=50&spent_currency=GBP')).toEqual(['listed-small@example.test']);
    expect(await emails('spent_min=1&spent_max=10&spent_currency=GBP')).toEqual(['listed-big@example.test']);
    expect(await emails('spent_max=10&spent_currency=EUR')).toEqual(['listed-none@example.test', 'listed-small@example.test']);
    expect(await emails('spent_min=0&spent_max=10&spent_currency=GBP')).toEqual(['listed-big@example.test', 'listed-none@example.test']);
    expect(await emails('spent_min=100&spent_currency=EUR')).toEqual([]);
  });
});
