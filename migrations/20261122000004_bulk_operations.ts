import type { Knex } from 'knex';

// Frozen. Bulk actions on the customer list run as jobs; this row is their state and result.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE bulk_operations (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      staff_user_id bigint NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
      idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 16 AND 100),
      action text NOT NULL CHECK (action IN ('add_tag', 'remove_tag', 'disable_on_shop', 'delete')),
      params jsonb NOT NULL DEFAULT '{}'::jsonb,
      -- What to act on: the list source, search and filters as the staff member saw them, and
      -- optionally the ids they ticked. The staff member's scope is applied again when it runs.
      selection jsonb NOT NULL,
      status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
      processed integer NOT NULL DEFAULT 0,
      changed integer NOT NULL DEFAULT 0,
      skipped integer NOT NULL DEFAULT 0,
      skipped_examples jsonb NOT NULL DEFAULT '[]'::jsonb,
      last_customer_id bigint NOT NULL DEFAULT 0,
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      UNIQUE (staff_user_id, idempotency_key)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE bulk_operations');
}
