import type { Knex } from 'knex';

// Frozen. An import can set each customer's order rules (F-CUST-1, F-LIST-6 "credit limits"):
// the staging table keeps the four cells until the merge.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE customer_import_rows
      ADD COLUMN require_approval text,
      ADD COLUMN approval_limit text,
      ADD COLUMN block_checkout text,
      ADD COLUMN checkout_limit text
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE customer_import_rows
      DROP COLUMN require_approval, DROP COLUMN approval_limit, DROP COLUMN block_checkout, DROP COLUMN checkout_limit
  `);
}
