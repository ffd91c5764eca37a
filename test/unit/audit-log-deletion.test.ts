import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { useDatabase } from '../support/database.js';
import { makeCustomer, makeShop } from '../support/factories.js';

/**
 * The audit log has no foreign keys (migration 40: checking them was most of the cost of an
 * entry); statement triggers do what the keys did when a customer or a shop is deleted.
 */
describe('the audit log when customers and shops are deleted', () => {
  let knex: Knex;
  useDatabase((db) => {
    knex = db.knex;
  });

  const entry = (customerId: number | null, shopId: number | null, action: string) => ({ actorType: 'system', customerId, shopId, action });

  it('drops the entries of deleted customers, in one statement or many, and keeps everyone else’s', async () => {
    const shop = await makeShop(knex);
    const [kept, gone1, gone2] = await Promise.all([1, 2, 3].map(() => makeCustomer(knex, [shop.id])));
    await knex('auditLog').insert([entry(kept!.id, shop.id, 'kept'), entry(gone1!.id, shop.id, 'gone'), entry(gone2!.id, null, 'gone'), entry(null, shop.id, 'no customer')]);

    expect(await knex('customers').whereIn('id', [gone1!.id, gone2!.id]).delete()).toBe(2);

    expect(await knex('auditLog').orderBy('id').pluck('action')).toEqual(['kept', 'no customer']);
  });

  it('keeps a deleted shop’s entries without the shop', async () => {
    const [shop, other] = [await makeShop(knex), await makeShop(knex)];
    await knex('auditLog').insert([entry(null, shop.id, 'in the deleted shop'), entry(null, other.id, 'elsewhere')]);

    await knex('shopDomains').where({ shopId: shop.id }).delete();
    expect(await knex('shops').where({ id: shop.id }).delete()).toBe(1);

    expect(await knex('auditLog').whereIn('action', ['in the deleted shop', 'elsewhere']).orderBy('id').select('action', 'shopId')).toEqual([
      { action: 'in the deleted shop', shopId: null },
      { action: 'elsewhere', shopId: other.id },
    ]);
  });
});
