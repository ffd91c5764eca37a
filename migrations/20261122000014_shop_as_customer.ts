import type { Knex } from 'knex';

// Frozen. Shop As Customer (F-SAC): a staff member serves a customer on the customer's shop.
//
// - sac_sessions: one row per start. The hand-over is a single-use token (≥ 128 bits from a
//   CSPRNG) of which only the SHA-256 is stored; it is valid 60 seconds and redeemed with a
//   conditional UPDATE (redeemed_at IS NULL), so of two concurrent redemptions exactly one wins.
//   A redeemed session is open until ended_at is set: on request, after its time box (ends_at),
//   at staff logout, when the staff member loses the permission, or when a new one replaces it.
// - customers.allow_remote_assistance: the customer's consent ("allow remote shopping
//   assistance"), set by the customer in My Account; a shop may require it (shops.settings).

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE sac_sessions (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      -- No foreign key: the record keeps who served the customer after the staff account is gone
      -- (and an open session of a deleted staff member is ended, with a reason, on its next request).
      staff_user_id bigint NOT NULL,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
      reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
      token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
      token_expires_at timestamptz NOT NULL,
      redeemed_at timestamptz,
      started_at timestamptz NOT NULL DEFAULT now(),
      ends_at timestamptz,
      ended_at timestamptz,
      end_reason text CHECK (end_reason IN ('requested', 'timed_out', 'staff_logout', 'permission_revoked', 'replaced')),
      CHECK ((ended_at IS NULL) = (end_reason IS NULL)),
      CHECK (redeemed_at IS NULL OR ends_at IS NOT NULL)
    );
    CREATE INDEX sac_sessions_open_staff_idx ON sac_sessions (staff_user_id) WHERE ended_at IS NULL;
    CREATE INDEX sac_sessions_customer_idx ON sac_sessions (customer_id, started_at DESC);

    ALTER TABLE customers ADD COLUMN allow_remote_assistance boolean NOT NULL DEFAULT false;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE customers DROP COLUMN IF EXISTS allow_remote_assistance;
    DROP TABLE IF EXISTS sac_sessions;
  `);
}
