import type { Knex } from 'knex';

// Frozen. A customer's last order across shops was the assignments' last order with the latest
// time; two shops' orders placed at the same moment gave either. Now the later one by id, as
// within a shop and as the orders trigger does when it adds an order.

const refresh = (order: string) => `
    CREATE OR REPLACE FUNCTION refresh_customer_order_stats(p_customer bigint) RETURNS void
    LANGUAGE sql AS $$
      UPDATE customers c SET
        orders_count = s.orders_count, total_spent = s.total_spent, last_order_id = s.last_order_id, last_order_at = s.last_order_at
      FROM (SELECT coalesce(sum(orders_count), 0)::int AS orders_count, coalesce(sum(total_spent), 0)::bigint AS total_spent,
                   (array_agg(last_order_id ORDER BY ${order}))[1] AS last_order_id, max(last_order_at) AS last_order_at
              FROM customer_shops WHERE customer_id = p_customer) s
      WHERE c.id = p_customer;
    $$;
`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(refresh('last_order_at DESC NULLS LAST, last_order_id DESC NULLS LAST'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(refresh('last_order_at DESC NULLS LAST'));
}
