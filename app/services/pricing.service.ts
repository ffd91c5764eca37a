import type { Knex } from 'knex';

// F-PRICE-1: what a customer pays for a product in a shop. The best (lowest) applicable price of:
// - the list price (products.price);
// - the wholesale price (products.wholesale_price), when the customer is a wholesale customer whose
//   account is Active or Invited (F-CUST-3: guests and disabled accounts get no wholesale price);
// - each of the customer's own price groups with a price for the product;
// - each price group of the customer's business account with a price for the product.
// A group's price is fixed (minor units) or a percentage off the list price, rounded to the
// nearest minor unit (half away from zero). On equal prices the list price wins over wholesale,
// wholesale over a group, and a group of higher priority (then the customer's own) over the rest,
// so the answer names the simplest reason for the price.

type Db = Knex | Knex.Transaction;

export type PriceSource = 'list' | 'wholesale' | 'price_group';

export interface CustomerPrice {
  productId: number;
  /** What the customer pays, in minor units of the shop's currency. */
  price: number;
  listPrice: number;
  source: PriceSource;
  /** The group that gives the price (source 'price_group'). */
  priceGroup: { id: number; name: string; viaBusinessAccount: string | null } | null;
}

interface Row {
  product_id: number;
  list_price: number;
  wholesale_price: number | null;
  group_id: number | null;
  group_name: string | null;
  group_price: number | null;
  via: string | null;
}

/**
 * The customer's price for each of `productIds` that belongs to `shopId` (other ids are left out).
 * One query: the candidate groups are read once, and each product picks its best group price
 * through the (product_id, price_group_id) index.
 */
export async function customerPrices(db: Db, options: { customerId: number; shopId: number; productIds: number[] }): Promise<Map<number, CustomerPrice>> {
  const ids = [...new Set(options.productIds.filter((id) => Number.isSafeInteger(id) && id > 0))];
  const prices = new Map<number, CustomerPrice>();
  if (ids.length === 0) return prices;
  const { rows } = (await db.raw(
    `WITH c AS (
       SELECT id, business_account_id, (wholesale AND state IN ('active', 'invited')) AS wholesale
         FROM customers WHERE id = :customerId
     ), groups AS (
       SELECT cpg.price_group_id, NULL::text AS via
         FROM customer_price_groups cpg WHERE cpg.customer_id = :customerId
       UNION ALL
       SELECT bpg.price_group_id, ba.name AS via
         FROM c
         JOIN business_account_price_groups bpg ON bpg.business_account_id = c.business_account_id
         JOIN business_accounts ba ON ba.id = bpg.business_account_id
     )
     SELECT p.id AS product_id, p.price AS list_price,
            CASE WHEN c.wholesale THEN p.wholesale_price END AS wholesale_price,
            best.group_id, best.group_name, best.group_price, best.via
       FROM products p
       CROSS JOIN c
       LEFT JOIN LATERAL (
         SELECT pg.id AS group_id, pg.name::text AS group_name, g.via,
                coalesce(gp.fixed_price, round(p.price * (100 - gp.percent_off) / 100)::bigint) AS group_price
           FROM groups g
           JOIN price_group_prices gp ON gp.product_id = p.id AND gp.price_group_id = g.price_group_id
           JOIN price_groups pg ON pg.id = g.price_group_id
          ORDER BY group_price, pg.priority DESC, (g.via IS NULL) DESC, pg.id
          LIMIT 1
       ) best ON true
      WHERE p.id = ANY(CAST(:ids AS bigint[])) AND p.shop_id = :shopId`,
    { customerId: options.customerId, shopId: options.shopId, ids },
  )) as { rows: Row[] };

  for (const row of rows) {
    const listPrice = Number(row.list_price);
    let best: CustomerPrice = { productId: Number(row.product_id), price: listPrice, listPrice, source: 'list', priceGroup: null };
    if (row.wholesale_price !== null && Number(row.wholesale_price) < best.price) best = { ...best, price: Number(row.wholesale_price), source: 'wholesale' };
    if (row.group_price !== null && Number(row.group_price) < best.price) {
      best = { ...best, price: Number(row.group_price), source: 'price_group', priceGroup: { id: Number(row.group_id), name: row.group_name!, viaBusinessAccount: row.via } };
    }
    prices.set(best.productId, best);
  }
  return prices;
}
