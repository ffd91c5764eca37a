import type { Knex } from 'knex';

// Frozen. A shop's page filtered by its customers' type or country and by a tag, sorted by what the
// assignments hold (total spent, orders, creation), walked the assignments' index and probed the tag
// for every entry before the customer's own row could say B2B or AT: five filters (one shop, B2B,
// AT, tag vip, spent ≥ 100, by total spent) probed the tag 18,827 times for a page at a million
// customers. Each assignment now keeps a copy of its customer's type and billing country, as it
// keeps the customer's creation time (migration 41), and the indexes a shop's page walks include
// them, so that the walk tests them on the entry first. Inserts that bring the creation time and
// the type (the import, the seed) bring the country too; others get all three from their customer,
// and triggers follow the customer's should they change (the country follows the default billing
// address, see migration 21).

// Each key's index then includes what every filter of a shop's page asks of the assignment, as the
// creation time's did (migration 41): orders with a total spent, or the reverse, read no table either.
const INDEXES = [
  { name: 'customer_shops_customer_created_idx', columns: 'shop_id, customer_created_at, customer_id', included: ['status', 'orders_count', 'total_spent', 'last_order_at'], added: [] },
  { name: 'customer_shops_total_spent_idx', columns: 'shop_id, total_spent, customer_id', included: [], added: ['status', 'orders_count', 'last_order_at'] },
  { name: 'customer_shops_orders_count_idx', columns: 'shop_id, orders_count, customer_id', included: [], added: ['status', 'total_spent', 'last_order_at'] },
];

const indexesSql = (withCopies: boolean) =>
  INDEXES.map(({ name, columns, included, added }) => {
    const include = [...included, ...(withCopies ? [...added, 'customer_type', 'billing_country'] : [])];
    return `DROP INDEX ${name}; CREATE INDEX ${name} ON customer_shops (${columns})${include.length ? ` INCLUDE (${include.join(', ')})` : ''};`;
  }).join('\n');

/** Each assignment column that copies a column of its customer, and that column. */
const COPIES = { customer_created_at: 'created_at', customer_type: 'customer_type', billing_country: 'billing_country' };
const CREATED_ONLY = { customer_created_at: 'created_at' };

/** A trigger function that sets an assignment's `copies` from its customer. */
const takeFromCustomer = (name: string, copies: Record<string, string>) => `
  CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    SELECT ${Object.values(copies).map((column) => `c.${column}`).join(', ')} INTO ${Object.keys(copies).map((column) => `NEW.${column}`).join(', ')}
      FROM customers c WHERE c.id = NEW.customer_id;
    -- Said as the foreign key would say it: left empty, the row would fail its NOT NULL first.
    IF NOT FOUND THEN
      RAISE foreign_key_violation USING MESSAGE = format('customer %s does not exist', NEW.customer_id),
        TABLE = 'customer_shops', CONSTRAINT = 'customer_shops_customer_id_fkey';
    END IF;
    RETURN NEW;
  END $$;`;

/** A trigger function that writes a customer's columns into its assignments' `copies`. */
const shareWithAssignments = (name: string, copies: Record<string, string>) => `
  CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE customer_shops cs SET ${Object.entries(copies).map(([copy, column]) => `${copy} = NEW.${column}`).join(', ')} WHERE cs.customer_id = NEW.id;
    RETURN NULL;
  END $$;`;

// The indexes are rebuilt outside the transaction that rewrote every assignment: built in it, they
// also hold the rows' old versions (191 MB instead of 99 MB at 1.2M assignments), and so would the
// others, which the rewrite doubled.
export const config = { transaction: false };

async function compacted(knex: Knex): Promise<void> {
  await knex.raw('REINDEX TABLE customer_shops');
  await knex.raw('ANALYZE customer_shops');
}

export async function up(knex: Knex): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx.raw(`
      ALTER TABLE customer_shops ADD COLUMN customer_type text, ADD COLUMN billing_country char(2);
      UPDATE customer_shops cs SET customer_type = c.customer_type, billing_country = c.billing_country FROM customers c WHERE c.id = cs.customer_id;
      ALTER TABLE customer_shops ALTER COLUMN customer_type SET NOT NULL;

      DROP TRIGGER customer_shops_customer_created_at_insert ON customer_shops;
      DROP TRIGGER customer_shops_customer_created_at_update ON customer_shops;
      DROP FUNCTION customer_shops_take_customer_created_at();
      DROP TRIGGER customers_created_at_update ON customers;
      DROP FUNCTION customers_share_created_at();

      ${takeFromCustomer('customer_shops_take_customer_copies', COPIES)}
      -- WHEN, so that an insert that brings the copies (the import, the seed) calls no function per row.
      CREATE TRIGGER customer_shops_customer_copies_insert BEFORE INSERT ON customer_shops
        FOR EACH ROW WHEN (NEW.customer_created_at IS NULL OR NEW.customer_type IS NULL) EXECUTE FUNCTION customer_shops_take_customer_copies();
      CREATE TRIGGER customer_shops_customer_copies_update BEFORE UPDATE OF customer_id, customer_created_at, customer_type, billing_country ON customer_shops
        FOR EACH ROW EXECUTE FUNCTION customer_shops_take_customer_copies();

      ${shareWithAssignments('customers_share_copies', COPIES)}
      CREATE TRIGGER customers_copies_update AFTER UPDATE OF created_at, customer_type, billing_country ON customers
        FOR EACH ROW WHEN ((OLD.created_at, OLD.customer_type, OLD.billing_country) IS DISTINCT FROM (NEW.created_at, NEW.customer_type, NEW.billing_country))
        EXECUTE FUNCTION customers_share_copies();
      ${indexesSql(true)}
    `);
  });
  await compacted(knex);
}

export async function down(knex: Knex): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx.raw(`
      ${indexesSql(false)}
      DROP TRIGGER customers_copies_update ON customers;
      DROP FUNCTION customers_share_copies();
      DROP TRIGGER customer_shops_customer_copies_update ON customer_shops;
      DROP TRIGGER customer_shops_customer_copies_insert ON customer_shops;
      DROP FUNCTION customer_shops_take_customer_copies();
      ALTER TABLE customer_shops DROP COLUMN customer_type, DROP COLUMN billing_country;

      ${takeFromCustomer('customer_shops_take_customer_created_at', CREATED_ONLY)}
      CREATE TRIGGER customer_shops_customer_created_at_insert BEFORE INSERT ON customer_shops
        FOR EACH ROW WHEN (NEW.customer_created_at IS NULL) EXECUTE FUNCTION customer_shops_take_customer_created_at();
      CREATE TRIGGER customer_shops_customer_created_at_update BEFORE UPDATE OF customer_id, customer_created_at ON customer_shops
        FOR EACH ROW EXECUTE FUNCTION customer_shops_take_customer_created_at();
      ${shareWithAssignments('customers_share_created_at', CREATED_ONLY)}
      CREATE TRIGGER customers_created_at_update AFTER UPDATE OF created_at ON customers
        FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at) EXECUTE FUNCTION customers_share_created_at();
    `);
  });
  await compacted(knex);
}
