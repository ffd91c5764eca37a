import type { Knex } from 'knex';

// Frozen. Most customers have no business account and no sales team, yet every customer written
// added a NULL entry to both indexes. They are only ever searched for one account or team (the
// list's filter, a sales rep's scope, deleting an account or a team), which a partial index of the
// customers who have one answers as well.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX customers_business_account_idx;
    CREATE INDEX customers_business_account_idx ON customers (business_account_id) WHERE business_account_id IS NOT NULL;
    DROP INDEX customers_sales_team_idx;
    CREATE INDEX customers_sales_team_idx ON customers (sales_team_id) WHERE sales_team_id IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX customers_business_account_idx;
    CREATE INDEX customers_business_account_idx ON customers (business_account_id);
    DROP INDEX customers_sales_team_idx;
    CREATE INDEX customers_sales_team_idx ON customers (sales_team_id);
  `);
}
