import type { Knex } from 'knex';

// Frozen. Large CSV exports of the customer list run as jobs (F-LIST-6); this row is one export's
// state and, when done, where its file is. Files are removed when the export expires.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE customer_exports (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      staff_user_id bigint NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
      idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 16 AND 100),
      -- The list source, search and filters as the staff member saw them; the scope is checked
      -- again when the export runs.
      selection jsonb NOT NULL,
      file_name text NOT NULL,
      status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
      rows_written integer,
      bytes bigint,
      storage_key text,
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      expires_at timestamptz NOT NULL DEFAULT now() + interval '1 day',
      UNIQUE (staff_user_id, idempotency_key)
    );
    CREATE INDEX customer_exports_status_idx ON customer_exports (status, created_at);
    CREATE INDEX customer_exports_expires_idx ON customer_exports (expires_at) WHERE storage_key IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE customer_exports');
}
