import type { Knex } from 'knex';

// Frozen. Uploaded import files are deleted a while after their import ends (or is abandoned);
// this marks the rows whose file is gone, so the sweep does not look for it again.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE customer_imports ADD COLUMN file_removed_at timestamptz;
    CREATE INDEX customer_imports_file_kept_idx ON customer_imports (created_at) WHERE file_removed_at IS NULL;
    CREATE INDEX customer_imports_busy_idx ON customer_imports (created_at) WHERE status IN ('uploaded', 'analysing', 'dry_run', 'importing');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE customer_imports DROP COLUMN file_removed_at');
}
