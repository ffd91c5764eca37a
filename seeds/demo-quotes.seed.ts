import type { Knex } from 'knex';

/**
 * Demo quotes (the Quotes module, F-DASH-10) and product subscriptions (F-DASH-4): alice@example.test
 * and the next five active customers of the north and south shops get a few quotes in different
 * states (a current draft and sent one, an accepted one, one past its day) and one or two
 * subscriptions. Prices come from the seeded products; numbers from the same per-shop counter the
 * app uses.
 */
export async function seedDemoQuotes(trx: Knex.Transaction): Promise<void> {
  const shops = (await trx('shops').whereIn('code', ['north', 'south']).select('id', 'code', 'currency')) as Array<{ id: number; code: string; currency: string }>;
  if (!shops.length) return;
  const owner = (await trx('staffUsers').where({ role: 'owner' }).orderBy('id').first('id')) as { id: number } | undefined;
  const rep = (await trx('staffUsers').where({ email: 'rep@example.test' }).first('id')) as { id: number } | undefined;
  const shopIds = shops.map((s) => s.id);

  const alice = (await trx('customers').where({ email: 'alice@example.test' }).first('id')) as { id: number } | undefined;
  const others = (await trx('customers')
    .where({ state: 'active' })
    .whereNot({ email: 'alice@example.test' })
    .whereExists((q) => q.select(trx.raw('1')).from('customerShops').whereRaw('customer_shops.customer_id = customers.id').whereIn('customerShops.shopId', shopIds).where('customerShops.status', 'active'))
    .orderBy('id')
    .limit(5)
    .pluck('id')) as number[];
  const customers = [...(alice ? [alice.id] : []), ...others];

  const products = new Map<number, Array<{ id: number; sku: string; name: string; price: number }>>();
  for (const shop of shops) products.set(shop.id, await trx('products').where({ shopId: shop.id, active: true }).orderBy('id').select('id', 'sku', 'name', 'price'));

  // [status, valid until (days from today), days ago created, lines]
  const plans: Array<[string, number, number, number]> = [
    ['draft', 30, 1, 2],
    ['sent', 14, 6, 3],
    ['accepted', 20, 40, 1],
    ['sent', -5, 60, 2],
  ];
  const intervals = ['monthly', 'weekly', 'quarterly', 'yearly'];

  for (const [ci, customerId] of customers.entries()) {
    const shopId = (await trx('customerShops').where({ customerId, status: 'active' }).whereIn('shopId', shopIds).orderBy('shopId').first('shopId')) as { shopId: number } | undefined;
    if (!shopId) continue;
    const shop = shops.find((s) => s.id === shopId.shopId)!;
    const catalogue = products.get(shop.id) ?? [];
    if (!catalogue.length) continue;
    const staffId = ci % 2 === 0 ? (owner?.id ?? null) : (rep?.id ?? owner?.id ?? null);

    const mine = ci === 0 ? plans : plans.filter((_, pi) => (pi + ci) % 2 === 0);
    for (const [pi, [status, validDays, ageDays, lineCount]] of mine.entries()) {
      const lines = Array.from({ length: lineCount }, (_, li) => {
        const product = catalogue[(ci * 3 + pi * 2 + li) % catalogue.length]!;
        const quantity = 1 + ((ci + pi + li) % 4);
        return { position: li + 1, productId: product.id, sku: product.sku, name: product.name, quantity, unitPrice: Number(product.price), lineTotal: quantity * Number(product.price) };
      });
      const total = lines.reduce((sum, l) => sum + l.lineTotal, 0);
      const counter = (await trx.raw(
        `INSERT INTO quote_counters (shop_id, last_number) VALUES (?, 1)
         ON CONFLICT (shop_id) DO UPDATE SET last_number = quote_counters.last_number + 1 RETURNING last_number`,
        [shop.id],
      )) as { rows: Array<{ last_number: number }> };
      const number = `Q-${String(counter.rows[0]!.last_number).padStart(5, '0')}`;
      const validUntil = ((await trx.raw(`SELECT to_char(current_date + ?::int, 'YYYY-MM-DD') AS day`, [validDays])) as { rows: Array<{ day: string }> }).rows[0]!.day;
      const [quote] = (await trx('quotes')
        .insert({
          shopId: shop.id,
          customerId,
          number,
          status,
          validUntil,
          currency: shop.currency,
          subtotal: total,
          total,
          note: pi === 0 ? 'Volume pricing as discussed on the phone.' : '',
          createdByStaffId: staffId,
          createdAt: trx.raw(`now() - ?::int * interval '1 day'`, [ageDays]),
          updatedAt: trx.raw(`now() - ?::int * interval '1 day'`, [Math.max(ageDays - 1, 0)]),
        })
        .returning('id')) as Array<{ id: number }>;
      await trx('quoteLines').insert(lines.map((line) => ({ ...line, quoteId: quote!.id })));
      await trx('auditLog').insert({
        actorType: staffId ? 'staff' : 'system',
        actorId: staffId,
        shopId: shop.id,
        customerId,
        action: 'quote.created',
        changes: JSON.stringify({ quoteId: quote!.id, number, total, currency: shop.currency, lines: lines.length, validUntil, note: pi === 0 ? 'Volume pricing as discussed on the phone.' : '' }),
        occurredAt: trx.raw(`now() - ?::int * interval '1 day'`, [ageDays]),
      });
    }

    const subscriptionCount = ci === 0 ? 3 : 1 + (ci % 2);
    for (let si = 0; si < subscriptionCount; si++) {
      const product = catalogue[(ci + si * 5) % catalogue.length]!;
      const status = ci === 0 && si === 2 ? 'paused' : 'active';
      await trx('productSubscriptions').insert({
        customerId,
        shopId: shop.id,
        productId: product.id,
        quantity: 1 + ((ci + si) % 3),
        interval: intervals[(ci + si) % intervals.length],
        nextDelivery: trx.raw('current_date + ?::int', [3 + si * 9 + ci]),
        status,
        createdByStaffId: staffId,
        createdAt: trx.raw(`now() - ?::int * interval '1 day'`, [20 + si * 30]),
        updatedAt: trx.raw(`now() - ?::int * interval '1 day'`, [10 + si * 30]),
      });
    }
  }
}
