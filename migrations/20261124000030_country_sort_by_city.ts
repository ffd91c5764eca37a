import type { Knex } from 'knex';

// Frozen. The list sorts by country as (country, city, id) since this migration, which
// customers_country_city_idx (migration 29) holds: the country index, (country, id), served
// nothing the other does not and cost every customer insert one more B-tree.

export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX customers_country_idx');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX customers_country_idx ON customers ((coalesce(billing_country, '')), id)`);
}
