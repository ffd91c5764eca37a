import type { Knex } from 'knex';

// Frozen. A merchant whose shops sell in several currencies filters the all-shops list by what a
// customer spent in one of them: the sum of the customer's assignments in the shops of that
// currency. It was summed per listed row, so a filter that few customers pass read the whole table
// (at a million customers, "spent at least 8,000 EUR" with one shop in USD: 10 s for an empty page).
// The sums are now kept per customer and currency, by triggers on the assignments' figures and the
// shops' currency, and the filter reads them from an index.
//
// Rows exist only where something was spent; a sum that falls back to nothing keeps its row at 0,
// which filters as no row does. An assignment added with nothing spent (every imported customer)
// costs no more than its trigger's WHEN condition.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE customer_spent_by_currency (
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      currency char(3) NOT NULL,
      total_spent bigint NOT NULL,
      PRIMARY KEY (customer_id, currency)
    );
    CREATE INDEX customer_spent_by_currency_amount_idx ON customer_spent_by_currency (currency, total_spent, customer_id);

    INSERT INTO customer_spent_by_currency (customer_id, currency, total_spent)
    SELECT cs.customer_id, s.currency, sum(cs.total_spent) FROM customer_shops cs JOIN shops s ON s.id = cs.shop_id
     WHERE cs.total_spent <> 0 GROUP BY cs.customer_id, s.currency;

    -- Sums again, for when an amount cannot simply be added: an assignment removed (its shop may be
    -- going with it) or moved, a shop's currency changed.
    CREATE FUNCTION refresh_customer_spent_by_currency(p_customers bigint[]) RETURNS void
    LANGUAGE sql AS $$
      DELETE FROM customer_spent_by_currency WHERE customer_id = ANY(p_customers);
      INSERT INTO customer_spent_by_currency (customer_id, currency, total_spent)
      SELECT cs.customer_id, s.currency, sum(cs.total_spent) FROM customer_shops cs JOIN shops s ON s.id = cs.shop_id
       WHERE cs.customer_id = ANY(p_customers) AND cs.total_spent <> 0 GROUP BY cs.customer_id, s.currency;
    $$;

    -- An order adds to its assignment's total (the orders trigger): the difference is added to the
    -- customer's sum in the shop's currency, so that concurrent orders each add theirs.
    CREATE FUNCTION customer_shops_keep_spent_by_currency() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        PERFORM refresh_customer_spent_by_currency(ARRAY[OLD.customer_id]);
      ELSIF TG_OP = 'UPDATE' AND (NEW.customer_id <> OLD.customer_id OR NEW.shop_id <> OLD.shop_id) THEN
        PERFORM refresh_customer_spent_by_currency(ARRAY[OLD.customer_id, NEW.customer_id]);
      ELSE
        INSERT INTO customer_spent_by_currency AS f (customer_id, currency, total_spent)
        SELECT NEW.customer_id, s.currency, NEW.total_spent - CASE WHEN TG_OP = 'UPDATE' THEN OLD.total_spent ELSE 0 END
          FROM shops s WHERE s.id = NEW.shop_id
        ON CONFLICT (customer_id, currency) DO UPDATE SET total_spent = f.total_spent + EXCLUDED.total_spent;
      END IF;
      RETURN NULL;
    END $$;

    CREATE TRIGGER customer_shops_spent_by_currency_insert AFTER INSERT ON customer_shops
      FOR EACH ROW WHEN (NEW.total_spent <> 0) EXECUTE FUNCTION customer_shops_keep_spent_by_currency();
    CREATE TRIGGER customer_shops_spent_by_currency_update AFTER UPDATE OF total_spent, customer_id, shop_id ON customer_shops
      FOR EACH ROW WHEN (NEW.total_spent IS DISTINCT FROM OLD.total_spent OR NEW.customer_id <> OLD.customer_id OR NEW.shop_id <> OLD.shop_id)
      EXECUTE FUNCTION customer_shops_keep_spent_by_currency();
    CREATE TRIGGER customer_shops_spent_by_currency_delete AFTER DELETE ON customer_shops
      FOR EACH ROW WHEN (OLD.total_spent <> 0) EXECUTE FUNCTION customer_shops_keep_spent_by_currency();

    CREATE FUNCTION shops_move_spent_to_currency() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM refresh_customer_spent_by_currency(ARRAY(SELECT customer_id FROM customer_shops WHERE shop_id = NEW.id AND total_spent <> 0));
      RETURN NULL;
    END $$;

    CREATE TRIGGER shops_spent_by_currency AFTER UPDATE OF currency ON shops
      FOR EACH ROW WHEN (NEW.currency IS DISTINCT FROM OLD.currency) EXECUTE FUNCTION shops_move_spent_to_currency();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER shops_spent_by_currency ON shops;
    DROP FUNCTION shops_move_spent_to_currency();
    DROP TRIGGER customer_shops_spent_by_currency_insert ON customer_shops;
    DROP TRIGGER customer_shops_spent_by_currency_update ON customer_shops;
    DROP TRIGGER customer_shops_spent_by_currency_delete ON customer_shops;
    DROP FUNCTION customer_shops_keep_spent_by_currency();
    DROP FUNCTION refresh_customer_spent_by_currency(bigint[]);
    DROP TABLE customer_spent_by_currency;
  `);
}
