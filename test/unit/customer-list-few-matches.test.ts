import type { Knex } from 'knex';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { customerListFilter, listCustomers, WALK_BUDGET_MS, walkBudgetMs, type ListSource } from '../../app/services/customer-list.service.js';
import { insertManyCustomers } from '../support/customer-list.js';
import { useDatabaseWithShop } from '../support/database.js';
import { makeShop } from '../support/factories.js';
import { planWithout, statementsOf } from '../support/statements.js';

/**
 * Filters that few customers pass are read from their own indexes: a shop's page narrowed only by
 * what its assignments hold is collected instead of walked along a customer sort key when the
 * planner expects few matches (walkBudgetMs), and "password changed before" has an index of the
 * customers who have a password (migration 36).
 */
describe('filters that few customers pass', () => {
  let knex: Knex;
  let shopId: number;
  let bigShopId: number;
  let ours: number[];
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  beforeAll(async () => {
    bigShopId = (await makeShop(knex)).id;
    ours = await insertManyCustomers(knex, 400, { emailPrefix: 'ours-', shopIds: [shopId] });
    await knex('customerShops').where({ shopId }).whereIn('customerId', ours.slice(0, 60)).update({ status: 'disabled' });
    await insertManyCustomers(knex, 6_000, { emailPrefix: 'big-', shopIds: [bigShopId] });
    await knex('customers').whereIn('id', ours.slice(0, 30)).update({ passwordChangedAt: new Date('2015-03-01T00:00:00Z') });
    await knex('customers').whereNotIn('id', ours.slice(0, 30)).update({ passwordChangedAt: new Date('2024-06-01T00:00:00Z') });
    await knex.raw('ANALYZE customers, customer_shops');
  });

  const queryOf = (search: string) => parseCustomerListQuery(Object.fromEntries(new URLSearchParams(search)));
  const inShop = (id: number): ListSource => ({ kind: 'shop', shopId: id });

  it('collects a shop’s few matches of its assignment filters at once, and gives the pages the walk gives', async () => {
    for (const search of ['status=disabled', 'status=disabled&spent_min=0', 'orders_max=0&status=disabled']) {
      expect(await walkBudgetMs(knex, inShop(shopId), queryOf(search)), search).toBe(0);
    }
    const query = queryOf('status=disabled&sort=email&dir=asc');
    const { result: collected, statements } = await statementsOf(knex, () => listCustomers(knex, inShop(shopId), query, null, { walkBudgetMs: 0 }));
    expect(statements.some(({ sql }) => sql.includes('enable_seqscan'))).toBe(true);
    const walked = await listCustomers(knex, inShop(shopId), query, null, { walkBudgetMs: 10_000 });
    expect(collected.rows).toHaveLength(25);
    expect(collected.rows.map((row) => row.email)).toEqual(walked.rows.map((row) => row.email));
    expect(collected.next).toBe(walked.next);
    const next = queryOf(`status=disabled&sort=email&dir=asc&after=${walked.next}`);
    const [second, secondWalked] = [await listCustomers(knex, inShop(shopId), next, null, { walkBudgetMs: 0 }), await listCustomers(knex, inShop(shopId), next, null, { walkBudgetMs: 10_000 })];
    expect(second.rows.map((row) => row.email)).toEqual(secondWalked.rows.map((row) => row.email));
    expect(second.rows.every((row) => ours.slice(0, 60).includes(row.id))).toBe(true);
  });

  it('walks first where the matches are many, the filters are the customer’s, a search narrows the page, or the page is over all shops', async () => {
    const cases: Array<[string, ListSource]> = [
      ['status=active', inShop(bigShopId)],
      ['state=active', inShop(shopId)],
      ['status=disabled&state=active', inShop(shopId)],
      ['status=disabled&q=ours', inShop(shopId)],
      ['orders_max=0', { kind: 'all' }],
      [`status=${encodeURIComponent("' OR 1=1 --")}`, inShop(shopId)],
      ['status=%3Cscript%3E&orders_min=abc', inShop(shopId)],
    ];
    for (const [search, source] of cases) expect(await walkBudgetMs(knex, source, queryOf(search)), search).toBe(WALK_BUDGET_MS);
  });

  it('finds who last changed their password before a date through the index of those who have one', async () => {
    const query = queryOf('pwd_before=2016-01-01&sort=email&dir=asc&size=50');
    const page = await listCustomers(knex, { kind: 'all' }, query, null);
    expect(page.rows.map((row) => row.id).sort((a, b) => a - b)).toEqual(ours.slice(0, 30));
    const statement = customerListFilter(knex, { kind: 'all' }, query, null).select('c.id').toSQL().toNative();
    expect(await planWithout(knex, statement, ['enable_seqscan'])).toContain('customers_password_changed_idx');
    const [definition] = await knex('pg_indexes').where({ indexname: 'customers_password_changed_idx' }).pluck('indexdef');
    expect(definition).toBe('CREATE INDEX customers_password_changed_idx ON public.customers USING btree (password_changed_at) WHERE (password_changed_at IS NOT NULL)');
  });
});
