import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerPrices } from '../../app/services/pricing.service.js';
import { purchaseLimitStatus } from '../../app/services/purchase-limit.service.js';
import { seedDemoData } from '../../seeds/demo.seed.js';
import { makeCustomer, makeShop } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * F-PRICE-1: a customer's price is the best of list, wholesale (wholesale customers, Active or
 * Invited), their own price groups and their business account's price groups. A small known data
 * set on a real database.
 */
describe('pricing: the customer price resolver', () => {
  let t: TestApp;
  let knex: Knex;
  let shop: { id: number }, otherShop: { id: number };
  const p: Record<string, number> = {};
  const g: Record<string, number> = {};
  let business: number;

  const product = async (shopId: number, sku: string, price: number, wholesalePrice: number | null = null) => {
    const [row] = await knex('products').insert({ shopId, sku, name: sku, price, wholesalePrice }).returning('id');
    return row.id as number;
  };
  const group = async (name: string, priority: number) => {
    const [row] = await knex('priceGroups').insert({ name, priority }).returning('id');
    return row.id as number;
  };
  const price = (priceGroupId: number, productId: number, value: { fixedPrice?: number; percentOff?: number }) => knex('priceGroupPrices').insert({ priceGroupId, productId, ...value });

  beforeAll(async () => {
    t = await createTestApp({ backend: 'postgres' });
    knex = t.ctx.knex;
    shop = await makeShop(knex, { code: 'pricing' });
    otherShop = await makeShop(knex, { code: 'pricing-other' });
    // list prices in cents
    p.jacket = await product(shop.id, 'JACKET', 10000, 8000); // wholesale 80.00
    p.tote = await product(shop.id, 'TOTE', 2000); // no wholesale price
    p.boots = await product(shop.id, 'BOOTS', 15000, 14000);
    p.scarf = await product(shop.id, 'SCARF', 999);
    p.foreign = await product(otherShop.id, 'FOREIGN', 5000);

    g.gold = await group('Gold', 100);
    g.silver = await group('Silver', 50);
    g.trade = await group('Trade', 10);
    await price(g.gold, p.jacket, { percentOff: 15 }); // 85.00: worse than wholesale 80.00
    await price(g.gold, p.tote, { fixedPrice: 1500 }); // 15.00
    await price(g.silver, p.tote, { fixedPrice: 1400 }); // 14.00: better than gold
    await price(g.silver, p.scarf, { percentOff: 12.5 }); // 999 * 0.875 = 874.125 → 874
    await price(g.trade, p.boots, { percentOff: 20 }); // 120.00, through the business account
    await price(g.trade, p.foreign, { fixedPrice: 1 }); // another shop's product: never applies here
    await price(g.gold, p.scarf, { fixedPrice: 1200 }); // above list: the list price stays

    const [account] = await knex('businessAccounts').insert({ name: 'Fjord Trading' }).returning('id');
    business = account.id;
    await knex('businessAccountPriceGroups').insert({ businessAccountId: business, priceGroupId: g.trade });
  });
  afterAll(() => t?.close());

  it('gives list prices to a customer with no groups and no wholesale flag', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    const prices = await customerPrices(knex, { customerId: c.id, shopId: shop.id, productIds: [p.jacket!, p.tote!, p.boots!, p.scarf!] });
    expect([...prices.values()].map((x) => [x.price, x.source])).toEqual(
      expect.arrayContaining([
        [10000, 'list'],
        [2000, 'list'],
        [15000, 'list'],
        [999, 'list'],
      ]),
    );
    expect(prices.size).toBe(4);
  });

  it('picks the best of list, wholesale, own groups and the business account’s groups', async () => {
    const c = await makeCustomer(knex, [shop.id], { wholesale: true });
    await knex('customers').where({ id: c.id }).update({ businessAccountId: business });
    await knex('customerPriceGroups').insert([
      { customerId: c.id, priceGroupId: g.gold },
      { customerId: c.id, priceGroupId: g.silver },
    ]);
    const prices = await customerPrices(knex, { customerId: c.id, shopId: shop.id, productIds: [p.jacket!, p.tote!, p.boots!, p.scarf!, p.foreign!] });
    expect(prices.get(p.jacket!)).toMatchObject({ price: 8000, listPrice: 10000, source: 'wholesale', priceGroup: null });
    expect(prices.get(p.tote!)).toMatchObject({ price: 1400, source: 'price_group', priceGroup: { id: g.silver, name: 'Silver', viaBusinessAccount: null } });
    expect(prices.get(p.boots!)).toMatchObject({ price: 12000, source: 'price_group', priceGroup: { id: g.trade, name: 'Trade', viaBusinessAccount: 'Fjord Trading' } });
    expect(prices.get(p.scarf!)).toMatchObject({ price: 874, source: 'price_group', priceGroup: { name: 'Silver' } });
    // Another shop's product is not priced in this shop.
    expect(prices.has(p.foreign!)).toBe(false);
  });

  it('gives no wholesale price to a guest or disabled wholesale customer, but does to an invited one', async () => {
    for (const [state, expected] of [['guest', 10000], ['disabled', 10000], ['invited', 8000], ['active', 8000]] as const) {
      const c = await makeCustomer(knex, [shop.id], { wholesale: true, state });
      const prices = await customerPrices(knex, { customerId: c.id, shopId: shop.id, productIds: [p.jacket!] });
      expect(prices.get(p.jacket!)!.price, state).toBe(expected);
    }
  });

  it('inherits the business account’s groups only while the customer belongs to it', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    await knex('customers').where({ id: c.id }).update({ businessAccountId: business });
    expect((await customerPrices(knex, { customerId: c.id, shopId: shop.id, productIds: [p.boots!] })).get(p.boots!)!.price).toBe(12000);
    await knex('customers').where({ id: c.id }).update({ businessAccountId: null });
    expect((await customerPrices(knex, { customerId: c.id, shopId: shop.id, productIds: [p.boots!] })).get(p.boots!)).toMatchObject({ price: 15000, source: 'list' });
  });

  it('answers an empty map for no ids, unknown products or an unknown customer', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    expect((await customerPrices(knex, { customerId: c.id, shopId: shop.id, productIds: [] })).size).toBe(0);
    expect((await customerPrices(knex, { customerId: c.id, shopId: shop.id, productIds: [999999999] })).size).toBe(0);
    expect((await customerPrices(knex, { customerId: 999999999, shopId: shop.id, productIds: [p.jacket!] })).size).toBe(0);
  });

  it('refuses a group price that is both fixed and a percentage, or neither (CHECK constraint)', async () => {
    await expect(knex('priceGroupPrices').insert({ priceGroupId: g.trade, productId: p.scarf, fixedPrice: 100, percentOff: 10 })).rejects.toThrow(/check constraint/);
    await expect(knex('priceGroupPrices').insert({ priceGroupId: g.trade, productId: p.scarf })).rejects.toThrow(/check constraint/);
  });

  it('seeds demo price groups, a card and a purchase limit for alice (SPEC 15)', async () => {
    await seedDemoData(knex, { customers: 30 });
    const alice = await knex('customers').where({ email: 'alice@example.test' }).first('id');
    const north = await knex('shops').where({ code: 'north' }).first('id');
    const names = await knex('customerPriceGroups as c').join('priceGroups as g', 'g.id', 'c.priceGroupId').where('c.customerId', alice.id).orderBy('g.priority', 'desc').pluck('g.name');
    expect(names).toEqual(['VIP customers', 'Staff discount']);
    const fjord = await knex('businessAccounts').where({ name: 'Fjord Logistics AS' }).first('id');
    expect(await knex('businessAccountPriceGroups').where({ businessAccountId: fjord.id }).count({ n: '*' }).first()).toEqual({ n: 1 });
    expect(await knex('paymentCards').where({ customerId: alice.id }).first('brand', 'last4')).toEqual({ brand: 'visa', last4: '4242' });
    expect(await purchaseLimitStatus(knex, { customerId: alice.id, shopId: north.id })).toMatchObject({ state: 'active', limit: { amount: 150000, period: 'monthly' } });
    // Alice pays the VIP price (10 % off, or the fixed price on the first product) where it beats the list price.
    const products = await knex('products').where({ shopId: north.id }).orderBy('id').limit(6).select('id', 'price');
    const prices = await customerPrices(knex, { customerId: alice.id, shopId: north.id, productIds: products.map((p: { id: number }) => p.id) });
    expect(prices.get(products[0].id)).toMatchObject({ price: Math.round(products[0].price * 0.75), source: 'price_group', priceGroup: { name: 'Staff discount' } });
    expect(prices.get(products[5].id)).toMatchObject({ price: Math.round(products[5].price * 0.9), priceGroup: { name: 'VIP customers' } });
  });
});
