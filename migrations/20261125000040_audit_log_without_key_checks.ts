import type { Knex } from 'knex';

// Frozen. The audit log's entries are written only by our own code, in the transaction of the change
// they record, about a customer and a shop that change has just read or locked; its foreign keys
// checked that again with a look-up and a row lock per entry, which was most of an entry's cost:
// 50,000 entries took 0.8–1.1 s with them and 0.22–0.25 s without (an import writes one per new
// customer). What the keys did on delete is kept by statement triggers: a deleted customer's
// entries go with the account (a deletion is recorded without the customer, see deleteCustomer),
// a deleted shop's entries stay, without the shop. Deleting 10,000 customers at a million entries
// took 19 ms in the trigger, 90 ms in the key's cascade (a look-up per customer).

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE audit_log DROP CONSTRAINT audit_log_customer_id_fkey, DROP CONSTRAINT audit_log_shop_id_fkey;

    CREATE FUNCTION audit_log_forget_customers() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- As an array, so that the entries are found by their customer index: joined with the deleted
      -- rows, the planner read the whole log (100 customers deleted at a million entries: 161 ms; 10,000: 1 s).
      DELETE FROM audit_log a WHERE a.customer_id = ANY (ARRAY(SELECT d.id FROM deleted_customers d));
      RETURN NULL;
    END $$;
    CREATE TRIGGER customers_audit_log_delete AFTER DELETE ON customers
      REFERENCING OLD TABLE AS deleted_customers FOR EACH STATEMENT EXECUTE FUNCTION audit_log_forget_customers();

    CREATE FUNCTION audit_log_forget_shops() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE audit_log a SET shop_id = NULL FROM deleted_shops d WHERE a.shop_id = d.id;
      RETURN NULL;
    END $$;
    CREATE TRIGGER shops_audit_log_delete AFTER DELETE ON shops
      REFERENCING OLD TABLE AS deleted_shops FOR EACH STATEMENT EXECUTE FUNCTION audit_log_forget_shops();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER shops_audit_log_delete ON shops;
    DROP FUNCTION audit_log_forget_shops();
    DROP TRIGGER customers_audit_log_delete ON customers;
    DROP FUNCTION audit_log_forget_customers();
    DELETE FROM audit_log a WHERE a.customer_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = a.customer_id);
    UPDATE audit_log a SET shop_id = NULL WHERE a.shop_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shops s WHERE s.id = a.shop_id);
    ALTER TABLE audit_log
      ADD CONSTRAINT audit_log_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id) ON DELETE CASCADE,
      ADD CONSTRAINT audit_log_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE SET NULL;
  `);
}
