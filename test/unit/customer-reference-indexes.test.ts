import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { customerListFilter, resolveListSource } from '../../app/services/customer-list-filter.js';
import { listCustomers } from '../../app/services/customer-list.service.js';
import { useDatabaseWithShop } from '../support/database.js';
import { makeCustomer, makeSalesTeam } from '../support/factories.js';
import { planWithout } from '../support/statements.js';

/**
 * A customer's business account and sales team are indexed only for the customers who have one
 * (migration 28): most have neither, and an import of a million wrote two entries of nothing for
 * each. The list's filter and a sales rep's scope still find theirs through the indexes.
 */
describe("indexes of a customer's business account and sales team", () => {
  let knex: Knex;
  let shopId: number;
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  it('hold only the customers who have one', async () => {
    const definitions = await knex('pg_indexes').whereIn('indexname', ['customers_business_account_idx', 'customers_sales_team_idx']).orderBy('indexname').pluck('indexdef');
    expect(definitions).toEqual([
      'CREATE INDEX customers_business_account_idx ON public.customers USING btree (business_account_id) WHERE (business_account_id IS NOT NULL)',
      'CREATE INDEX customers_sales_team_idx ON public.customers USING btree (sales_team_id, id) WHERE (sales_team_id IS NOT NULL)',
    ]);
  });

  it("serve the list's business-account filter and a sales rep's scope", async () => {
    const [account] = await knex('businessAccounts').insert({ name: 'Acme Trading' }).returning('id');
    const team = await makeSalesTeam(knex);
    const member = await makeCustomer(knex, [shopId], { email: 'member@example.test', salesTeamId: team.id });
    await knex('customers').where({ id: member.id }).update({ businessAccountId: account.id });
    await makeCustomer(knex, [shopId], { email: 'loner@example.test' });

    const query = parseCustomerListQuery({ business: String(account.id) });
    const source = resolveListSource('all', [{ id: shopId }], query.shop)!;
    expect((await listCustomers(knex, source, query, team.id)).rows.map((row) => row.email)).toEqual([member.email]);
    const statement = customerListFilter(knex, source, query, null).select('c.id').toSQL().toNative();
    expect(await planWithout(knex, statement, ['enable_seqscan'])).toContain('customers_business_account_idx');
    const scoped = customerListFilter(knex, source, parseCustomerListQuery({}), team.id).select('c.id').toSQL().toNative();
    expect(await planWithout(knex, scoped, ['enable_seqscan'])).toContain('customers_sales_team_idx');
  });
});
