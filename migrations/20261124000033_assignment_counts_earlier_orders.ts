import type { Knex } from 'knex';

// Frozen. The orders trigger adds an order to its customer's assignment to the order's shop; an
// order placed while there was none (orders synced from a storefront before the customer was
// imported or registered there) counted nowhere, and still did not once the assignment was made:
// the shop's list showed such a customer with no orders. A new assignment now starts from the
// orders already placed in its shop, and the customer's platform figures (the sum of the
// assignments') follow. Set-based per statement: an import adds 5,000 assignments at a time, and
// those of customers it has just created find no orders in one index probe each.
//
// The customers are locked first (FOR UPDATE conflicts with the FOR KEY SHARE of an order's
// foreign-key check): an order inserted meanwhile would otherwise miss the uncommitted assignment
// while the assignment missed the uncommitted order, and count nowhere. Each statement after the
// lock sees what the orders committed before it (READ COMMITTED).

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION customer_shops_count_earlier_orders() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM customers c WHERE c.id IN (SELECT a.customer_id FROM added a) ORDER BY c.id FOR UPDATE;
      UPDATE customer_shops cs SET
        orders_count = f.orders_count, total_spent = f.total_spent, last_order_id = f.last_order_id, last_order_at = f.last_order_at,
        updated_at = now()
        FROM (SELECT o.customer_id, o.shop_id, count(*)::int AS orders_count, sum(o.total)::bigint AS total_spent,
                     (array_agg(o.id ORDER BY o.placed_at DESC, o.id DESC))[1] AS last_order_id, max(o.placed_at) AS last_order_at
                FROM added a JOIN orders o ON o.customer_id = a.customer_id AND o.shop_id = a.shop_id AND o.status <> 'cancelled'
               GROUP BY o.customer_id, o.shop_id) f
       WHERE cs.customer_id = f.customer_id AND cs.shop_id = f.shop_id;
      IF FOUND THEN
        UPDATE customers c SET
          orders_count = s.orders_count, total_spent = s.total_spent, last_order_id = s.last_order_id, last_order_at = s.last_order_at
          FROM (SELECT cs.customer_id, sum(cs.orders_count)::int AS orders_count, sum(cs.total_spent)::bigint AS total_spent,
                       (array_agg(cs.last_order_id ORDER BY cs.last_order_at DESC NULLS LAST, cs.last_order_id DESC))[1] AS last_order_id, max(cs.last_order_at) AS last_order_at
                  FROM customer_shops cs
                 WHERE cs.customer_id IN (SELECT a.customer_id FROM added a
                                           WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = a.customer_id AND o.shop_id = a.shop_id AND o.status <> 'cancelled'))
                 GROUP BY cs.customer_id) s
         WHERE c.id = s.customer_id;
      END IF;
      RETURN NULL;
    END $$;

    CREATE TRIGGER customer_shops_earlier_orders AFTER INSERT ON customer_shops
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION customer_shops_count_earlier_orders();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER customer_shops_earlier_orders ON customer_shops;
    DROP FUNCTION customer_shops_count_earlier_orders();
  `);
}
