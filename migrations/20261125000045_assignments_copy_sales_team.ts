import type { Knex } from 'knex';

// Frozen. A sales rep sees their team's customers only, and a shop's page of them walked the shop's
// whole (shop, created) index with the team tested on each entry: at a million customers, a team of
// 1 % of them crossed 27,500 entries for the rep's first page with a tag (6 ms), and counting the
// team's customers of the shop read each of the shop's customers (30–57 ms). Each assignment now
// keeps a copy of its customer's sales team as it keeps the type and the country (migration 44),
// and a partial (shop, team, created) index holds the team's assignments in the shop's default
// order: the rep's page reads its own entries, and the count counts them. Customers without a team
// (most of them, every imported one) have no entry in it, so it costs an insert nothing.

/** Each assignment column that copies a column of its customer, and that column. */
const WITH_TEAM = { customer_created_at: 'created_at', customer_type: 'customer_type', billing_country: 'billing_country', sales_team_id: 'sales_team_id' };
const WITHOUT_TEAM = { customer_created_at: 'created_at', customer_type: 'customer_type', billing_country: 'billing_country' };

/** The trigger functions and triggers of migration 44 that keep the copies, for `copies`. */
const copyTriggers = (copies: Record<string, string>) => {
  const customerColumns = Object.values(copies);
  return `
  CREATE OR REPLACE FUNCTION customer_shops_take_customer_copies() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    SELECT ${customerColumns.map((column) => `c.${column}`).join(', ')} INTO ${Object.keys(copies).map((column) => `NEW.${column}`).join(', ')}
      FROM customers c WHERE c.id = NEW.customer_id;
    IF NOT FOUND THEN
      RAISE foreign_key_violation USING MESSAGE = format('customer %s does not exist', NEW.customer_id),
        TABLE = 'customer_shops', CONSTRAINT = 'customer_shops_customer_id_fkey';
    END IF;
    RETURN NEW;
  END $$;
  DROP TRIGGER customer_shops_customer_copies_update ON customer_shops;
  CREATE TRIGGER customer_shops_customer_copies_update BEFORE UPDATE OF customer_id, ${Object.keys(copies).join(', ')} ON customer_shops
    FOR EACH ROW EXECUTE FUNCTION customer_shops_take_customer_copies();

  CREATE OR REPLACE FUNCTION customers_share_copies() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE customer_shops cs SET ${Object.entries(copies).map(([copy, column]) => `${copy} = NEW.${column}`).join(', ')} WHERE cs.customer_id = NEW.id;
    RETURN NULL;
  END $$;
  DROP TRIGGER customers_copies_update ON customers;
  CREATE TRIGGER customers_copies_update AFTER UPDATE OF ${customerColumns.join(', ')} ON customers
    FOR EACH ROW WHEN ((${customerColumns.map((column) => `OLD.${column}`).join(', ')}) IS DISTINCT FROM (${customerColumns.map((column) => `NEW.${column}`).join(', ')}))
    EXECUTE FUNCTION customers_share_copies();`;
};

// The insert trigger (migration 44) still fires only when the creation time or the type is missing:
// the inserts that bring them (the import's and the seed's of customers they have just created)
// create customers without a team, whose copy is the column's default, none.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE customer_shops ADD COLUMN sales_team_id bigint;
    UPDATE customer_shops cs SET sales_team_id = c.sales_team_id FROM customers c WHERE c.id = cs.customer_id AND c.sales_team_id IS NOT NULL;
    ${copyTriggers(WITH_TEAM)}
    CREATE INDEX customer_shops_sales_team_created_idx ON customer_shops (shop_id, sales_team_id, customer_created_at, customer_id)
      INCLUDE (status, orders_count, total_spent, last_order_at, customer_type, billing_country) WHERE sales_team_id IS NOT NULL;
    ANALYZE customer_shops;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX customer_shops_sales_team_created_idx;
    ${copyTriggers(WITHOUT_TEAM)}
    ALTER TABLE customer_shops DROP COLUMN sales_team_id;
  `);
}
