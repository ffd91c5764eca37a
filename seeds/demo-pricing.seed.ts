import type { Knex } from 'knex';

/**
 * Demo price groups (F-PRICE-1, F-DASH-6), a payment card (F-DASH-7) and a purchase limit
 * (F-LIMIT-1), from the rows the main demo seed made:
 * - "VIP customers" (priority 100): 10 % off the first six north products, a fixed price on one;
 * - "Trade partners" (priority 80): 20 % off and fixed prices in the trade shops; given to the
 *   business account "Fjord Logistics AS", so all its customers inherit it;
 * - "Staff discount" (priority 20): 25 % off the first three north and south products;
 * - trade-shop products get a wholesale price (85 % of list);
 * - alice@example.test has VIP customers and Staff discount, a Visa card (only token, brand,
 *   last 4, expiry — the token stands for a payment vault's reference), and a purchase limit of
 *   €1,500.00 per month in north; three more active north customers get VIP customers.
 */
export async function seedDemoPricing(trx: Knex.Transaction): Promise<void> {
  const shops = new Map(((await trx('shops').select('id', 'code')) as Array<{ id: number; code: string }>).map((s) => [s.code, s.id]));
  const north = shops.get('north');
  if (!north) return;
  const owner = (await trx('staffUsers').where({ role: 'owner' }).orderBy('id').first('id')) as { id: number } | undefined;
  const by = owner?.id ?? null;
  const productsOf = async (code: string, limit: number) =>
    shops.has(code) ? ((await trx('products').where({ shopId: shops.get(code) }).orderBy('id').limit(limit).select('id', 'price')) as Array<{ id: number; price: number }>) : [];

  const tradeShops = ['trade', 'trade-east', 'trade-west'].filter((code) => shops.has(code)).map((code) => shops.get(code)!);
  if (tradeShops.length) await trx('products').whereIn('shopId', tradeShops).update({ wholesalePrice: trx.raw('round(price * 0.85)::bigint') });

  const groups = (await trx('priceGroups')
    .insert([
      { name: 'VIP customers', priority: 100, description: 'Loyal customers: 10 % off the core range' },
      { name: 'Trade partners', priority: 80, description: 'Business accounts with a trade agreement' },
      { name: 'Staff discount', priority: 20, description: 'Employees and their families' },
    ])
    .returning(['id', 'name'])) as Array<{ id: number; name: string }>;
  const [vip, trade, staff] = groups.map((g) => g.id) as [number, number, number];

  const northProducts = await productsOf('north', 6);
  const prices: Array<{ priceGroupId: number; productId: number; fixedPrice?: number; percentOff?: number }> = [];
  for (const [i, p] of northProducts.entries()) prices.push(i === 0 ? { priceGroupId: vip, productId: p.id, fixedPrice: Math.round(p.price * 0.8) } : { priceGroupId: vip, productId: p.id, percentOff: 10 });
  for (const code of ['trade', 'trade-east', 'trade-west']) {
    for (const [i, p] of (await productsOf(code, 4)).entries()) prices.push(i % 2 ? { priceGroupId: trade, productId: p.id, percentOff: 20 } : { priceGroupId: trade, productId: p.id, fixedPrice: Math.round(p.price * 0.75) });
  }
  for (const p of [...northProducts.slice(0, 3), ...(await productsOf('south', 3))]) prices.push({ priceGroupId: staff, productId: p.id, percentOff: 25 });
  await trx('priceGroupPrices').insert(prices);

  const fjord = (await trx('businessAccounts').where({ name: 'Fjord Logistics AS' }).first('id')) as { id: number } | undefined;
  if (fjord) await trx('businessAccountPriceGroups').insert({ businessAccountId: fjord.id, priceGroupId: trade, assignedBy: by });

  const alice = (await trx('customers').where({ email: 'alice@example.test' }).first('id')) as { id: number } | undefined;
  const others = (await trx('customers')
    .where({ state: 'active' })
    .whereNot({ email: 'alice@example.test' })
    .whereExists((q) => q.select(trx.raw('1')).from('customerShops').whereRaw('customer_shops.customer_id = customers.id').where({ 'customerShops.shopId': north, 'customerShops.status': 'active' }))
    .orderBy('id')
    .limit(3)
    .pluck('id')) as number[];
  await trx('customerPriceGroups').insert(others.map((customerId) => ({ customerId, priceGroupId: vip, assignedBy: by })));
  if (!alice) return;
  await trx('customerPriceGroups').insert([
    { customerId: alice.id, priceGroupId: vip, assignedBy: by },
    { customerId: alice.id, priceGroupId: staff, assignedBy: by },
  ]);
  // A fixed, recognisable token: it stands for the payment vault's reference (no gateway is wired).
  await trx('paymentCards').insert({ customerId: alice.id, token: 'card_demo_alice_visa_0001', brand: 'visa', last4: '4242', expMonth: 8, expYear: new Date().getUTCFullYear() + 2, holderName: 'Alice Andersen', createdBy: by });
  await trx('purchaseLimits').insert({ customerId: alice.id, shopId: north, amount: 150000, startDate: `${new Date().getUTCFullYear()}-01-01`, period: 'monthly', createdBy: by });
}
