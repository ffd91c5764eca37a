import type { Knex } from 'knex';

// Frozen. The customer dashboard (F-DASH): notes on a customer, and the store-credit ledger.
//
// Store credit is kept per customer AND shop: a shop has one currency, so a balance never mixes
// currencies, and staff scoped to some shops see and book only those shops' credit.
//
// - credit_accounts: one row per customer and shop that ever had credit. It holds no money; it is
//   the row a booking locks (SELECT … FOR UPDATE) so that concurrent debits are serialised.
// - credit_transactions: one row per booking as the staff member submitted it (amount, reason,
//   reference, expiry, notify), unique per idempotency key, so a repeated submission books once.
// - credit_entries: the ledger. A grant (positive amount) is a "lot" with an optional expiry; a
//   debit is split over the lots it draws from (soonest expiry first) and each part carries its
//   lot's expiry. The balance is the sum of unexpired entries and never goes below zero: a lot's
//   debits never exceed its grant, and they expire together with it.
// Ledger rows are append-only: a trigger refuses UPDATE and DELETE, except the cascade that
// removes them together with their customer or shop.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE customer_notes (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      -- No foreign key: a note keeps its author after the staff account is gone.
      author_staff_id bigint,
      author_name text NOT NULL,
      body text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX customer_notes_customer_idx ON customer_notes (customer_id, created_at DESC, id DESC);

    CREATE TABLE credit_accounts (
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
      currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (customer_id, shop_id)
    );

    CREATE TABLE credit_transactions (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id bigint NOT NULL,
      shop_id bigint NOT NULL,
      idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 16 AND 100),
      amount bigint NOT NULL CHECK (amount <> 0),
      currency char(3) NOT NULL,
      reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
      reference text NOT NULL DEFAULT '' CHECK (length(reference) <= 100),
      expires_at timestamptz CHECK (expires_at IS NULL OR amount > 0),
      notify_customer boolean NOT NULL DEFAULT false,
      -- No foreign key: the booking keeps who made it after the staff account is gone.
      staff_user_id bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (customer_id, shop_id) REFERENCES credit_accounts (customer_id, shop_id) ON DELETE CASCADE,
      UNIQUE (customer_id, shop_id, idempotency_key)
    );
    CREATE INDEX credit_transactions_account_idx ON credit_transactions (customer_id, shop_id, created_at DESC, id DESC);

    CREATE TABLE credit_entries (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      transaction_id bigint NOT NULL REFERENCES credit_transactions(id) ON DELETE CASCADE,
      customer_id bigint NOT NULL,
      shop_id bigint NOT NULL,
      amount bigint NOT NULL CHECK (amount <> 0),
      -- The grant a debit draws from; NULL for a grant (which is its own lot).
      lot_entry_id bigint REFERENCES credit_entries(id) ON DELETE CASCADE,
      expires_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (customer_id, shop_id) REFERENCES credit_accounts (customer_id, shop_id) ON DELETE CASCADE,
      CHECK ((amount > 0) = (lot_entry_id IS NULL))
    );
    CREATE INDEX credit_entries_account_idx ON credit_entries (customer_id, shop_id) INCLUDE (amount, expires_at);
    CREATE INDEX credit_entries_lot_idx ON credit_entries (lot_entry_id) WHERE lot_entry_id IS NOT NULL;
    CREATE INDEX credit_entries_transaction_idx ON credit_entries (transaction_id);

    CREATE FUNCTION credit_ledger_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      -- The only way out: the cascade from deleting the customer or the shop (already gone by now).
      IF TG_OP = 'DELETE' AND (NOT EXISTS (SELECT 1 FROM customers WHERE id = OLD.customer_id)
                               OR NOT EXISTS (SELECT 1 FROM shops WHERE id = OLD.shop_id)) THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'the credit ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
    END $$;

    CREATE TRIGGER credit_transactions_append_only BEFORE UPDATE OR DELETE ON credit_transactions
      FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
    CREATE TRIGGER credit_entries_append_only BEFORE UPDATE OR DELETE ON credit_entries
      FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE credit_entries, credit_transactions, credit_accounts, customer_notes;
    DROP FUNCTION credit_ledger_append_only();
  `);
}
