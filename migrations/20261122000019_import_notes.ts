import type { Knex } from 'knex';

// Frozen. A "Note" column (Shopify's customer export has one) is imported as a note on the
// customer: the staging table keeps the cell until the merge adds it.

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE customer_import_rows ADD COLUMN note text');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE customer_import_rows DROP COLUMN note');
}
