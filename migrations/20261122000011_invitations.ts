import type { Knex } from 'knex';

// Frozen. Invitations (F-LIFE-2): a staff member invites a customer without a password (guest or
// invited) to one shop; the e-mail carries a single-use link valid 24 hours.
//
// - The token itself is never stored: only its SHA-256 (hex). The link is in the e-mail (the
//   outbox row) and nowhere else.
// - status: open → used (redeemed), superseded (a newer invitation replaced it), expired (the
//   periodic job found it past expires_at). At most one open invitation per customer and shop.
// - bulk_operation_id: the bulk action (F-LIST-5) that sent it; one invitation per customer and
//   operation, so an operation that runs twice mails each customer once.
// The bulk action 'invite' is added to bulk_operations' action list by extending the existing
// CHECK rather than replacing it, so other migrations that extend the list keep their actions.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE customer_invitations (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
      token_hash char(64) NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
      status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'used', 'superseded', 'expired')),
      -- No cascade from staff: an invitation keeps existing after its sender's account is gone.
      created_by_staff_id bigint REFERENCES staff_users(id) ON DELETE SET NULL,
      bulk_operation_id bigint REFERENCES bulk_operations(id) ON DELETE SET NULL,
      outbox_id bigint REFERENCES mail_outbox(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      -- When it stopped being open (used, superseded or expired).
      closed_at timestamptz,
      CHECK (expires_at > created_at),
      CHECK ((status = 'open') = (closed_at IS NULL)),
      CHECK ((status = 'used') = (used_at IS NOT NULL))
    );
    CREATE UNIQUE INDEX customer_invitations_one_open ON customer_invitations (customer_id, shop_id) WHERE status = 'open';
    CREATE INDEX customer_invitations_expiry_idx ON customer_invitations (expires_at) WHERE status = 'open';
    CREATE INDEX customer_invitations_customer_idx ON customer_invitations (customer_id, shop_id, created_at DESC);
    CREATE INDEX customer_invitations_shop_idx ON customer_invitations (shop_id);
    CREATE INDEX customer_invitations_staff_idx ON customer_invitations (created_by_staff_id) WHERE created_by_staff_id IS NOT NULL;
    CREATE INDEX customer_invitations_outbox_idx ON customer_invitations (outbox_id) WHERE outbox_id IS NOT NULL;
    CREATE UNIQUE INDEX customer_invitations_bulk_once ON customer_invitations (bulk_operation_id, customer_id) WHERE bulk_operation_id IS NOT NULL;
  `);

  await knex.raw(`
    DO $$
    DECLARE
      existing record;
    BEGIN
      SELECT conname, pg_get_constraintdef(oid) AS def INTO existing
        FROM pg_constraint
       WHERE conrelid = 'bulk_operations'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%''add_tag''%';
      IF existing.conname IS NULL THEN
        RETURN;
      END IF;
      IF existing.def LIKE '%''invite''%' THEN
        RETURN;
      END IF;
      EXECUTE format('ALTER TABLE bulk_operations DROP CONSTRAINT %I', existing.conname);
      EXECUTE format('ALTER TABLE bulk_operations ADD CONSTRAINT %I CHECK ((%s) OR action = ''invite'')',
        existing.conname, regexp_replace(existing.def, '^CHECK ', ''));
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS customer_invitations;
    DELETE FROM bulk_operations WHERE action = 'invite';
    DO $$
    DECLARE
      existing record;
    BEGIN
      SELECT conname, pg_get_constraintdef(oid) AS def INTO existing
        FROM pg_constraint
       WHERE conrelid = 'bulk_operations'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%''invite''%';
      IF existing.conname IS NULL THEN
        RETURN;
      END IF;
      EXECUTE format('ALTER TABLE bulk_operations DROP CONSTRAINT %I', existing.conname);
      EXECUTE format('ALTER TABLE bulk_operations ADD CONSTRAINT %I %s', existing.conname,
        replace(existing.def, ' OR (action = ''invite''::text)', ''));
    END $$;
  `);
}
