import type { Knex } from 'knex';

// Frozen. E-mail addresses are unique, so the list sorted by e-mail is read from the unique index
// (customers_email_key) and the id tiebreak costs an incremental sort of one row per address. The
// separate (email, id) index was a second case-insensitive index kept up to date on every new or
// changed customer (about a tenth of the cost of inserting a customer in an import) for nothing.

export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS customers_email_sort_idx');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX IF NOT EXISTS customers_email_sort_idx ON customers (email, id)');
}
