import type { Knex } from 'knex';

// Frozen. A sales rep's page walks the sort key's index and asks, of each customer it passes,
// whether the rep's team has it: with the customer's id in the team's index, that is a probe of the
// index alone, where the team's id alone made it a read of the customer's row (a shop's first page
// newest first for a team of 1 % of a million customers: 12 ms against 18 ms, without parallel
// workers).

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX customers_sales_team_idx;
    CREATE INDEX customers_sales_team_idx ON customers (sales_team_id, id) WHERE sales_team_id IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX customers_sales_team_idx;
    CREATE INDEX customers_sales_team_idx ON customers (sales_team_id) WHERE sales_team_id IS NOT NULL;
  `);
}
