import type { Knex } from 'knex';

// Frozen. The orders trigger adds an order to its customer's assignment to the order's shop; an
// order placed while there was none (orders synced from a storefront before the customer was
// imported or registered there) counted nowhere, and still did not once the assignment was made:
// the shop's list showed such a customer with no orders. A new assignment now starts from the
// orders already placed in its shop, and adds them to the customer's platform figures. Set-based
// per statement: an import adds 5,000 assignments at a time, and those of customers it has just
// created find no orders in one index probe each.
//
// An order and an assignment made at the same moment do not see each other. The assignment's
// foreign-key check holds a share lock on the customer until it commits, so an order that finds no
// assignment waits for that lock (FOR UPDATE) and looks again; an assignment made while such an
// order is not yet committed waits in its foreign-key check. Locking in the assignment trigger
// instead would cost every imported customer a row lock. The platform figures are
// added to rather than summed again, so that a concurrent order's addition is kept.

const ADD_TO_ASSIGNMENT = `
            UPDATE customer_shops SET
              orders_count = orders_count + 1,
              total_spent = total_spent + NEW.total,
              last_order_id = CASE WHEN last_order_at IS NULL OR NEW.placed_at >= last_order_at THEN NEW.id ELSE last_order_id END,
              last_order_at = greatest(last_order_at, NEW.placed_at),
              updated_at = now()
            WHERE customer_id = NEW.customer_id AND shop_id = NEW.shop_id;`;

/** The orders trigger, with `addOrder` as its insert path (an order that counts). */
const ordersTrigger = (declarations: string, addOrder: string) => `
    CREATE OR REPLACE FUNCTION orders_maintain_customer_stats() RETURNS trigger
    LANGUAGE plpgsql AS $$
    ${declarations}
    BEGIN
      -- Inserts are the common path: add to the totals instead of re-reading every order.
      IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'cancelled' THEN
          ${addOrder}
          -- The platform figures are the sum of the assignments', so an order in a shop without an
          -- assignment counts in neither.
          IF assigned THEN
          UPDATE customers SET
            orders_count = orders_count + 1,
            total_spent = total_spent + NEW.total,
            last_order_id = CASE WHEN last_order_at IS NULL OR NEW.placed_at >= last_order_at THEN NEW.id ELSE last_order_id END,
            last_order_at = greatest(last_order_at, NEW.placed_at)
          WHERE id = NEW.customer_id;
          END IF;
        END IF;
        RETURN NULL;
      END IF;
      PERFORM refresh_customer_shop_order_stats(OLD.customer_id, OLD.shop_id);
      PERFORM refresh_customer_order_stats(OLD.customer_id);
      IF TG_OP = 'UPDATE' AND (NEW.customer_id <> OLD.customer_id OR NEW.shop_id <> OLD.shop_id) THEN
        PERFORM refresh_customer_shop_order_stats(NEW.customer_id, NEW.shop_id);
        PERFORM refresh_customer_order_stats(NEW.customer_id);
      END IF;
      RETURN NULL;
    END $$;
`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ${ordersTrigger(
      'DECLARE assigned boolean := false;',
      `FOR attempt IN 1..2 LOOP
            ${ADD_TO_ASSIGNMENT}
            assigned := FOUND;
            EXIT WHEN assigned OR attempt = 2;
            -- An assignment being made holds a share lock on the customer: wait for it, look again.
            PERFORM 1 FROM customers WHERE id = NEW.customer_id FOR UPDATE;
          END LOOP;`,
    )}

    CREATE FUNCTION customer_shops_count_earlier_orders() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      WITH earlier AS (
        SELECT o.customer_id, o.shop_id, count(*)::int AS orders_count, sum(o.total)::bigint AS total_spent,
               (array_agg(o.id ORDER BY o.placed_at DESC, o.id DESC))[1] AS last_order_id, max(o.placed_at) AS last_order_at
          FROM added a JOIN orders o ON o.customer_id = a.customer_id AND o.shop_id = a.shop_id AND o.status <> 'cancelled'
         GROUP BY o.customer_id, o.shop_id),
      counted AS (
        UPDATE customer_shops cs SET
          orders_count = e.orders_count, total_spent = e.total_spent, last_order_id = e.last_order_id, last_order_at = e.last_order_at,
          updated_at = now()
          FROM earlier e
         WHERE cs.customer_id = e.customer_id AND cs.shop_id = e.shop_id
        RETURNING e.*)
      UPDATE customers c SET
        orders_count = c.orders_count + s.orders_count,
        total_spent = c.total_spent + s.total_spent,
        last_order_id = CASE WHEN c.last_order_at IS NULL OR (s.last_order_at, s.last_order_id) > (c.last_order_at, c.last_order_id) THEN s.last_order_id ELSE c.last_order_id END,
        last_order_at = greatest(c.last_order_at, s.last_order_at)
        FROM (SELECT customer_id, sum(orders_count)::int AS orders_count, sum(total_spent)::bigint AS total_spent,
                     (array_agg(last_order_id ORDER BY last_order_at DESC, last_order_id DESC))[1] AS last_order_id, max(last_order_at) AS last_order_at
                FROM counted GROUP BY customer_id) s
       WHERE c.id = s.customer_id;
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
    ${ordersTrigger('DECLARE assigned boolean;', `${ADD_TO_ASSIGNMENT}
          assigned := FOUND;`)}
  `);
}
