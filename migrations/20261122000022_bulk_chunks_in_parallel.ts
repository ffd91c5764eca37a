import type { Knex } from 'knex';

// Frozen. A bulk operation's chunks run two at a time, so they finish out of order and "done up to
// customer N" no longer describes the progress: each chunk records the first and last id it
// covered, and a retried run skips the ids inside those ranges.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE bulk_operations ADD COLUMN done_ranges jsonb NOT NULL DEFAULT '[]';
    UPDATE bulk_operations SET done_ranges = jsonb_build_array(jsonb_build_array(0, last_customer_id)) WHERE last_customer_id > 0;
    ALTER TABLE bulk_operations DROP COLUMN last_customer_id;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE bulk_operations ADD COLUMN last_customer_id bigint NOT NULL DEFAULT 0;
    UPDATE bulk_operations SET last_customer_id = coalesce((SELECT max((r->>1)::bigint) FROM jsonb_array_elements(done_ranges) r), 0);
    ALTER TABLE bulk_operations DROP COLUMN done_ranges;
  `);
}
