import type { Knex } from 'knex';

// Frozen. Customers of one country sorted by city: cities cluster by country, so the list's walk
// along the city index crossed every city sorting before the country's own (all of Austria's come
// after most of Germany's), hundreds of milliseconds at a million customers. Within one country
// this index holds the customers in the list's city order (`customerKeys.city` in
// app/services/customer-list.service.ts).

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX customers_country_city_idx ON customers ((coalesce(billing_country, '')), (coalesce(lower(billing_city), '')), id)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX customers_country_city_idx');
}
