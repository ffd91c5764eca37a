import type { Knex } from 'knex';

// Frozen. An import can set each customer's purchase limit in the import's shop (F-LIST-6,
// F-LIMIT-1): the staging table keeps the four cells until the merge.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE customer_import_rows
      ADD COLUMN purchase_limit text,
      ADD COLUMN purchase_limit_period text,
      ADD COLUMN purchase_limit_start text,
      ADD COLUMN purchase_limit_end text
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE customer_import_rows
      DROP COLUMN purchase_limit, DROP COLUMN purchase_limit_period, DROP COLUMN purchase_limit_start, DROP COLUMN purchase_limit_end
  `);
}
