import type { Knex } from 'knex';

// Frozen. Makes the admin customer list answer from indexes at a million customers:
// - platform-wide order figures on customers (the "all shops" view), next to the per-shop ones
//   in customer_shops, both kept by the orders trigger;
// - the default billing city/country copied onto customers by an addresses trigger;
// - a sort name and a lower-cased search text as stored generated columns;
// - one (sort key, id) index per offered sort, for keyset paging (nullable keys are coalesced so
//   row comparisons work), and trigram indexes for search.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE customers
      ADD COLUMN orders_count integer NOT NULL DEFAULT 0,
      ADD COLUMN total_spent bigint NOT NULL DEFAULT 0,
      ADD COLUMN last_order_id bigint,
      ADD COLUMN last_order_at timestamptz,
      ADD COLUMN billing_city text,
      ADD COLUMN billing_country char(2),
      ADD COLUMN sort_name text GENERATED ALWAYS AS (lower(last_name || ' ' || first_name)) STORED,
      ADD COLUMN search_text text GENERATED ALWAYS AS (
        lower(email::text || ' ' || first_name || ' ' || last_name || ' ' || company_name1 || ' ' || company_name2 || ' ' || phone)
      ) STORED;

    UPDATE customers c SET orders_count = s.orders_count, total_spent = s.total_spent, last_order_id = s.last_order_id, last_order_at = s.last_order_at
      FROM (SELECT customer_id, sum(orders_count)::int AS orders_count, sum(total_spent)::bigint AS total_spent,
                   (array_agg(last_order_id ORDER BY last_order_at DESC NULLS LAST))[1] AS last_order_id, max(last_order_at) AS last_order_at
              FROM customer_shops GROUP BY customer_id) s
     WHERE s.customer_id = c.id;
    UPDATE customers c SET billing_city = a.city, billing_country = a.country_code
      FROM addresses a WHERE a.customer_id = c.id AND a.is_default_billing;

    CREATE OR REPLACE FUNCTION refresh_customer_order_stats(p_customer bigint) RETURNS void
    LANGUAGE sql AS $$
      UPDATE customers c SET
        orders_count = s.orders_count, total_spent = s.total_spent, last_order_id = s.last_order_id, last_order_at = s.last_order_at
      FROM (SELECT coalesce(sum(orders_count), 0)::int AS orders_count, coalesce(sum(total_spent), 0)::bigint AS total_spent,
                   (array_agg(last_order_id ORDER BY last_order_at DESC NULLS LAST))[1] AS last_order_id, max(last_order_at) AS last_order_at
              FROM customer_shops WHERE customer_id = p_customer) s
      WHERE c.id = p_customer;
    $$;

    CREATE OR REPLACE FUNCTION orders_maintain_customer_stats() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      -- Inserts are the common path: add to the totals instead of re-reading every order.
      IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'cancelled' THEN
          UPDATE customer_shops SET
            orders_count = orders_count + 1,
            total_spent = total_spent + NEW.total,
            last_order_id = CASE WHEN last_order_at IS NULL OR NEW.placed_at >= last_order_at THEN NEW.id ELSE last_order_id END,
            last_order_at = greatest(last_order_at, NEW.placed_at),
            updated_at = now()
          WHERE customer_id = NEW.customer_id AND shop_id = NEW.shop_id;
          -- The platform figures are the sum of the assignments' (as refresh_customer_order_stats
          -- recomputes them), so an order in a shop without an assignment counts in neither.
          IF FOUND THEN
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

    CREATE FUNCTION addresses_maintain_customer_billing() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
      target bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.customer_id ELSE NEW.customer_id END;
    BEGIN
      UPDATE customers c SET billing_city = a.city, billing_country = a.country_code
        FROM (SELECT NULL::text AS city, NULL::char(2) AS country_code
              UNION ALL
              SELECT city, country_code FROM addresses WHERE customer_id = target AND is_default_billing
              ORDER BY 1 NULLS LAST LIMIT 1) a
       WHERE c.id = target AND (c.billing_city IS DISTINCT FROM a.city OR c.billing_country IS DISTINCT FROM a.country_code);
      RETURN NULL;
    END $$;

    CREATE TRIGGER addresses_customer_billing AFTER INSERT OR UPDATE OF city, country_code, is_default_billing OR DELETE
      ON addresses FOR EACH ROW EXECUTE FUNCTION addresses_maintain_customer_billing();

    CREATE INDEX customers_sort_name_idx ON customers (sort_name, id);
    CREATE INDEX customers_email_sort_idx ON customers (email, id);
    CREATE INDEX customers_created_idx ON customers (created_at, id);
    CREATE INDEX customers_state_idx ON customers (state, id);
    CREATE INDEX customers_city_idx ON customers ((coalesce(lower(billing_city), '')), id);
    CREATE INDEX customers_country_idx ON customers ((coalesce(billing_country, '')), id);
    CREATE INDEX customers_orders_count_idx ON customers (orders_count, id);
    CREATE INDEX customers_total_spent_idx ON customers (total_spent, id);
    CREATE INDEX customers_last_order_idx ON customers ((coalesce(last_order_at, '-infinity')), id);
    CREATE INDEX customers_search_trgm_idx ON customers USING gin (search_text gin_trgm_ops);
    CREATE INDEX customers_name_trgm_idx ON customers USING gin ((first_name || ' ' || last_name) gin_trgm_ops);

    CREATE INDEX customer_shops_orders_count_idx ON customer_shops (shop_id, orders_count, customer_id);
    CREATE INDEX customer_shops_total_spent_idx ON customer_shops (shop_id, total_spent, customer_id);
    CREATE INDEX customer_shops_last_order_idx ON customer_shops (shop_id, (coalesce(last_order_at, '-infinity')), customer_id);
    CREATE INDEX customer_tags_tag_customer_idx ON customer_tags (tag, customer_id);
    DROP INDEX customer_tags_tag_idx;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX customer_tags_tag_idx ON customer_tags (tag);
    DROP INDEX customer_tags_tag_customer_idx, customer_shops_last_order_idx, customer_shops_total_spent_idx, customer_shops_orders_count_idx;
    DROP TRIGGER addresses_customer_billing ON addresses;
    DROP FUNCTION addresses_maintain_customer_billing();
    DROP FUNCTION refresh_customer_order_stats(bigint);
    CREATE OR REPLACE FUNCTION orders_maintain_customer_stats() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'cancelled' THEN
          UPDATE customer_shops SET
            orders_count = orders_count + 1,
            total_spent = total_spent + NEW.total,
            last_order_id = CASE WHEN last_order_at IS NULL OR NEW.placed_at >= last_order_at THEN NEW.id ELSE last_order_id END,
            last_order_at = greatest(last_order_at, NEW.placed_at),
            updated_at = now()
          WHERE customer_id = NEW.customer_id AND shop_id = NEW.shop_id;
        END IF;
        RETURN NULL;
      END IF;
      PERFORM refresh_customer_shop_order_stats(OLD.customer_id, OLD.shop_id);
      IF TG_OP = 'UPDATE' AND (NEW.customer_id <> OLD.customer_id OR NEW.shop_id <> OLD.shop_id) THEN
        PERFORM refresh_customer_shop_order_stats(NEW.customer_id, NEW.shop_id);
      END IF;
      RETURN NULL;
    END $$;
    ALTER TABLE customers
      DROP COLUMN search_text, DROP COLUMN sort_name, DROP COLUMN billing_country, DROP COLUMN billing_city,
      DROP COLUMN last_order_at, DROP COLUMN last_order_id, DROP COLUMN total_spent, DROP COLUMN orders_count;
  `);
}
