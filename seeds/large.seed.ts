import type { Knex } from 'knex';

/**
 * A pseudo-random whole number in [0, n) drawn from a row's id, one stream per `salt`. Attributes
 * drawn with different salts are independent, as in real data; `id % n` would tie them together
 * (every B2B customer in the same country, a group's members never among the newest), which makes
 * some list filters look far slower, or faster, than they are.
 */
const draw = (id: string, salt: number | string, n: number) => `((hashint8(${id}::bigint * 7919 + ${salt}) & 2147483647) % ${n})`;

/** A seeded customer's default billing address's country, drawn from its id (`c.id`). */
const BILLING_COUNTRY = `(ARRAY['DE','DE','AT','CH','DK','NL','FR','IT','ES','NO'])[1 + p.k]`;
const BILLING_PICK = `CROSS JOIN LATERAL (SELECT ${draw('c.id', 23, 10)} AS k) p`;

export interface LargeSeedReport {
  customers: number;
  orders: number;
  seconds: number;
}

/** Triggers that keep figures the seed computes once itself, set-based, after inserting the rows. */
const FIGURE_TRIGGERS = [
  ['orders', 'orders_customer_stats'],
  ['addresses', 'addresses_billing_insert'],
  // The assignments are inserted with their copies of the customer's billing country (BILLING_COUNTRY).
  ['customers', 'customers_copies_update'],
  ['customer_shops', 'customer_shops_earlier_orders'],
  ['customer_shops', 'customer_shops_spent_by_currency_update'],
] as const;

/**
 * The benchmark data set: `count` more customers spread over the existing shops, ~5 orders each,
 * addresses and tags. Rows are generated inside PostgreSQL (INSERT … SELECT over generate_series),
 * which, like COPY, avoids a round trip per row; the per-customer order figures are then computed
 * once, set-based, instead of by the orders trigger row by row.
 */
export async function seedLargeData(knex: Knex, count: number, log: (message: string) => void = () => {}): Promise<LargeSeedReport> {
  const started = Date.now();
  const step = async (label: string, sql: string, bindings: Knex.RawBinding[] = []) => {
    const t = Date.now();
    await knex.raw(sql, bindings);
    log(`${label} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  };

  const shops = (await knex('shops').orderBy('id').pluck('id')) as number[];
  if (shops.length === 0) throw new Error('Seed the demo data first: the large set is spread over its shops.');
  const firstId = Number((await knex('customers').max('id as max').first())?.max ?? 0) + 1;

  // Building an index once over the finished tables is far cheaper than keeping it up to date row
  // by row (the trigram indexes most of all): drop the secondary indexes, recreate them at the end.
  const indexes = (
    await knex.raw(
      `SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(?)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
      [['customers', 'customer_shops', 'addresses', 'orders', 'customer_tags', 'customer_group_members', 'segment_customers']],
    )
  ).rows as Array<{ indexname: string; indexdef: string }>;
  for (const index of indexes) await knex.raw(`DROP INDEX "${index.indexname.replace(/"/g, `""`)}"`);
  for (const [table, trigger] of FIGURE_TRIGGERS) await knex.raw(`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`);
  try {
    await step(
      `${count} customers`,
      `INSERT INTO customers (email, first_name, last_name, state, customer_type, phone, company_name1, marketing_opt_in, tax_exempt, wholesale, created_at, updated_at, password_changed_at)
       SELECT 'bench' || g || '@' || (ARRAY['example.test','mail.test','corp.test','shop.test'])[1 + g % 4],
              (ARRAY['Alice','Bruno','Chloe','Dmitri','Elif','Farah','Giulia','Hannes','Ines','Jonas','Kaito','Lena','Mateo','Nora','Oskar','Priya','Quentin','Rosa','Soren','Tomas','Ugo','Vera','Wiebke','Xavier','Yara','Zoe'])[1 + ${draw('g', 1, 26)}],
              (ARRAY['Andersen','Becker','Costa','Dubois','Eriksen','Fischer','Garcia','Hansen','Ivanova','Jansen','Kowalski','Larsen','Mueller','Novak','OBrien','Petrov','Rossi','Schmidt','Tanaka','Umarov','Vogel','Weber','Yilmaz','Zimmermann'])[1 + ${draw('g', 2, 24)}] || CASE WHEN g % 3 = 0 THEN '' ELSE chr((65 + g % 26)::int) || lpad((g % 997)::text, 3, '0') END,
              CASE WHEN r.state < 20 THEN 'disabled' WHEN r.state < 79 THEN 'invited' WHEN r.state < 122 THEN 'guest' ELSE 'active' END,
              CASE WHEN r.state BETWEEN 79 AND 121 THEN 'GUEST' WHEN r.type < 200 THEN 'B2B' WHEN r.type < 291 THEN 'B2E' ELSE 'B2C' END,
              '+49 ' || (100000000 + (g * 7919) % 899999999)::text,
              CASE WHEN r.type < 200 THEN 'Company ' || (g % 5000) ELSE '' END,
              ${draw('g', 5, 3)} = 0, ${draw('g', 6, 41)} = 0, ${draw('g', 7, 7)} = 0,
              timestamptz '2021-01-01' + r.day * interval '1 day' + ${draw('g', 8, 86400)} * interval '1 second',
              timestamptz '2021-01-01' + r.day * interval '1 day',
              CASE WHEN ${draw('g', 9, 23)} = 0 THEN NULL ELSE timestamptz '2022-01-01' + ${draw('g', 10, 1000)} * interval '1 day' END
         FROM generate_series(?::bigint, ?::bigint) g
        CROSS JOIN LATERAL (SELECT ${draw('g', 3, 1000)} AS state, ${draw('g', 4, 1000)} AS type, ${draw('g', 11, 1800)} AS day) r`,
      [firstId, firstId + count - 1],
    );

    await step(
      'shop assignments',
      `INSERT INTO customer_shops (customer_id, shop_id, status, created_at, customer_created_at, customer_type, billing_country)
       SELECT c.id, (?::bigint[])[1 + ${draw('c.id', 20, shops.length)}], CASE WHEN c.state = 'disabled' THEN 'disabled' WHEN ${draw('c.id', 21, 97)} = 0 THEN 'pending_approval' ELSE 'active' END,
              c.created_at, c.created_at, c.customer_type, ${BILLING_COUNTRY}
         FROM customers c ${BILLING_PICK} WHERE c.id >= ?
       UNION ALL
       SELECT c.id, (?::bigint[])[1 + (${draw('c.id', 20, shops.length)} + 1) % ${shops.length}], 'active', c.created_at, c.created_at, c.customer_type, ${BILLING_COUNTRY}
         FROM customers c ${BILLING_PICK} WHERE c.id >= ? AND ${draw('c.id', 22, 5)} = 0`,
      [shops, firstId, shops, firstId],
    );

    await step(
      'addresses',
      `INSERT INTO addresses (customer_id, first_name, last_name, line1, city, postcode, country_code, is_default_billing, is_default_shipping)
       SELECT c.id, c.first_name, c.last_name, 'Harbour Street ' || (c.id % 200 + 1),
              (ARRAY['Hamburg','Berlin','Vienna','Zurich','Copenhagen','Amsterdam','Lyon','Milan','Madrid','Oslo'])[1 + p.k],
              lpad((c.id % 99999)::text, 5, '0'),
              ${BILLING_COUNTRY},
              true, true
         FROM customers c ${BILLING_PICK} WHERE c.id >= ?`,
      [firstId],
    );

    await step(
      'tags',
      `INSERT INTO customer_tags (customer_id, tag, customer_created_at)
       SELECT c.id, t.tag, c.created_at FROM customers c
         JOIN (VALUES (30, 'vip'), (31, 'newsletter'), (32, 'friend'), (33, 'wholesale-lead'), (34, 'returns'), (35, 'gift-buyer')) AS t(salt, tag)
           ON ${draw('c.id', 't.salt', 13)} = 0
        WHERE c.id >= ?`,
      [firstId],
    );

    // Two static groups (one customer in 7, one in 50) and a segment holding the second group and
    // one customer in 997, for the list's group and segment filters.
    const member = (group: string, every: number, salt: number) =>
      `WITH g AS (INSERT INTO customer_groups (name, kind, description) VALUES ('${group}', 'static', 'Large benchmark set')
                  ON CONFLICT (name) DO UPDATE SET updated_at = now() RETURNING id)
       INSERT INTO customer_group_members (group_id, customer_id, source) SELECT g.id, c.id, 'manual' FROM g, customers c WHERE c.id >= ? AND ${draw('c.id', salt, every)} = 0`;
    await step('group "Bench: every 7th"', member('Bench: every 7th', 7, 40), [firstId]);
    await step('group "Bench: every 50th"', member('Bench: every 50th', 50, 41), [firstId]);
    await step(
      'segment "Bench segment"',
      `WITH s AS (INSERT INTO segments (name, description) VALUES ('Bench segment', 'Large benchmark set') ON CONFLICT (name) DO UPDATE SET updated_at = now() RETURNING id),
            g AS (INSERT INTO segment_groups (segment_id, group_id) SELECT s.id, g.id FROM s, customer_groups g WHERE g.name = 'Bench: every 50th' ON CONFLICT DO NOTHING)
       INSERT INTO segment_customers (segment_id, customer_id) SELECT s.id, c.id FROM s, customers c WHERE c.id >= ? AND ${draw('c.id', 42, 997)} = 0`,
      [firstId],
    );
    await step(
      'business accounts (every 40th B2B customer)',
      `WITH b AS (INSERT INTO business_accounts (name) SELECT 'Bench Company ' || n FROM generate_series(1, 50) n RETURNING id),
            numbered AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM b)
       UPDATE customers c SET business_account_id = numbered.id FROM numbered
        WHERE c.id >= ? AND c.customer_type = 'B2B' AND ${draw('c.id', 43, 40)} = 0 AND numbered.k = ${draw('c.id', 44, 50)}`,
      [firstId],
    );

    await step(
      'orders (~5 per customer)',
      `INSERT INTO orders (shop_id, customer_id, number, status, currency, subtotal, tax, total, placed_at)
       SELECT cs.shop_id, cs.customer_id, 'B' || cs.customer_id || '-' || cs.shop_id || '-' || n,
              (ARRAY['completed','completed','completed','shipped','processing','placed','cancelled'])[1 + (cs.customer_id + n) % 7],
              'EUR', s.amount, s.amount * 19 / 100, s.amount + s.amount * 19 / 100,
              least(cs.created_at + ((cs.customer_id * 31 + n * 17) % 700) * interval '1 day', now() - n * interval '1 hour')
         FROM customer_shops cs
         CROSS JOIN LATERAL generate_series(1, ${draw('cs.customer_id', 45, 9)}::int) n
         CROSS JOIN LATERAL (SELECT (500 + (cs.customer_id * 131 + n * 977) % 40000)::bigint AS amount) s
        WHERE cs.customer_id >= ? AND cs.status <> 'pending_approval'`,
      [firstId],
    );

    await step(
      'order figures per customer and shop',
      `UPDATE customer_shops cs SET orders_count = s.orders_count, total_spent = s.total_spent, last_order_id = s.last_order_id, last_order_at = s.last_order_at
         FROM (SELECT customer_id, shop_id, count(*)::int AS orders_count, sum(total)::bigint AS total_spent,
                      (array_agg(id ORDER BY placed_at DESC, id DESC))[1] AS last_order_id, max(placed_at) AS last_order_at
                 FROM orders WHERE customer_id >= ? AND status <> 'cancelled' GROUP BY customer_id, shop_id) s
        WHERE cs.customer_id = s.customer_id AND cs.shop_id = s.shop_id`,
      [firstId],
    );
    await step('spent per currency', 'SELECT refresh_customer_spent_by_currency(ARRAY(SELECT id FROM customers WHERE id >= ?))', [firstId]);
    await step(
      'billing city and country',
      `UPDATE customers c SET billing_city = a.city, billing_country = a.country_code FROM addresses a WHERE a.customer_id = c.id AND a.is_default_billing AND c.id >= ?`,
      [firstId],
    );
    await step(
      'platform order figures',
      `UPDATE customers c SET orders_count = s.orders_count, total_spent = s.total_spent, last_order_id = s.last_order_id, last_order_at = s.last_order_at
         FROM (SELECT customer_id, sum(orders_count)::int AS orders_count, sum(total_spent)::bigint AS total_spent,
                      (array_agg(last_order_id ORDER BY last_order_at DESC NULLS LAST))[1] AS last_order_id, max(last_order_at) AS last_order_at
                 FROM customer_shops WHERE customer_id >= ? GROUP BY customer_id) s
        WHERE c.id = s.customer_id`,
      [firstId],
    );
  } finally {
    for (const [table, trigger] of FIGURE_TRIGGERS) await knex.raw(`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`);
    for (const index of indexes) await step(`index ${index.indexname}`, index.indexdef);
  }
  // VACUUM, not only ANALYZE: it sets the visibility map, without which every index-only scan reads the table too.
  await step('vacuum and analyze', 'VACUUM (ANALYZE)');

  const orders = Number((await knex('orders').where('customerId', '>=', firstId).count('* as count').first())?.count ?? 0);
  return { customers: count, orders, seconds: Math.round((Date.now() - started) / 1000) };
}
