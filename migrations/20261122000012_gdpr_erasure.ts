import type { Knex } from 'knex';

// Frozen. GDPR erasure (F-CUST-9): an erased customer keeps its row (orders and the credit ledger
// point at it and stay for accounting) but loses every personal field; `erased_at` says when.
// The export and erasure read the customer's mail, so mail_outbox gets an index on customer_id.
//
// The credit ledger is append-only (20261122000006). Erasure must still scrub the personal text a
// booking carries (reason, reference) while the amounts stay: the guard now lets through exactly
// that update — on credit_transactions, only `reason`/`reference` changed, and only for a
// customer already marked erased (in the same transaction, erased_at is set first).

const ORIGINAL_GUARD = `
    CREATE OR REPLACE FUNCTION credit_ledger_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      -- The only way out: the cascade from deleting the customer or the shop (already gone by now).
      IF TG_OP = 'DELETE' AND (NOT EXISTS (SELECT 1 FROM customers WHERE id = OLD.customer_id)
                               OR NOT EXISTS (SELECT 1 FROM shops WHERE id = OLD.shop_id)) THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'the credit ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
    END $$;`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE customers ADD COLUMN erased_at timestamptz;
    CREATE INDEX customers_erased_idx ON customers (erased_at) WHERE erased_at IS NOT NULL;
    -- The export and erasure read a customer's mail; the outbox had no index on the customer.
    CREATE INDEX mail_outbox_customer_idx ON mail_outbox (customer_id) WHERE customer_id IS NOT NULL;

    CREATE OR REPLACE FUNCTION credit_ledger_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      -- The only way out: the cascade from deleting the customer or the shop (already gone by now).
      IF TG_OP = 'DELETE' AND (NOT EXISTS (SELECT 1 FROM customers WHERE id = OLD.customer_id)
                               OR NOT EXISTS (SELECT 1 FROM shops WHERE id = OLD.shop_id)) THEN
        RETURN OLD;
      END IF;
      -- GDPR erasure: a booking of an erased customer may lose its text, never its money.
      IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'credit_transactions'
         AND (to_jsonb(NEW) - 'reason' - 'reference') = (to_jsonb(OLD) - 'reason' - 'reference')
         AND EXISTS (SELECT 1 FROM customers WHERE id = OLD.customer_id AND erased_at IS NOT NULL) THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'the credit ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ${ORIGINAL_GUARD}
    DROP INDEX mail_outbox_customer_idx;
    DROP INDEX customers_erased_idx;
    ALTER TABLE customers DROP COLUMN erased_at;
  `);
}
