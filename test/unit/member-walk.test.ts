import type { Knex } from 'knex';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { listCustomers } from '../../app/services/customer-list.service.js';
import { insertManyCustomers } from '../support/customer-list.js';
import { useDatabaseWithShop } from '../support/database.js';
import { statementsOf } from '../support/statements.js';

/**
 * Two membership sets over all shops, each too large to read as a hash (over 40,000 members by the
 * planner's statistics), that the planner expects to share many customers: a stretch of the sort
 * key's index is walked first, each entry probed against both, before their shared members are
 * read as ids. When the stretch holds no page, the page is read the usual way.
 */
describe('a page of two large sets over all shops', () => {
  let knex: Knex;
  let shopId: number;
  let customers: number[];
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  const tag = (ids: number[], name: string) => knex.raw(`INSERT INTO customer_tags (customer_id, tag) SELECT id, ? FROM unnest(?::bigint[]) id`, [name, ids]);

  beforeAll(async () => {
    customers = await insertManyCustomers(knex, 42_000, { emailPrefix: 'many-sets-', shopIds: [shopId] });
    await tag(customers, 'big-a');
    await tag(customers.slice(1_000), 'big-b');
    // The same sizes, and no customer in both: the planner cannot tell.
    await tag(customers.slice(0, 20_500), 'apart-a');
    await tag(customers.slice(20_500, 41_000), 'apart-b');
    await knex.raw('VACUUM ANALYZE customers, customer_tags');
  }, 60_000);

  const pageOf = (search: string) => {
    const query = parseCustomerListQuery(Object.fromEntries(new URLSearchParams(search)));
    query.filters.tag = new URLSearchParams(search).getAll('tag');
    return statementsOf(knex, () => listCustomers(knex, { kind: 'all' }, query, null));
  };

  // Created in one statement: ties all, in id order.
  it('walks a stretch of the key probing both sets, without reading their shared members first', async () => {
    const { result: first, statements } = await pageOf('tag=big-a&tag=big-b&tagmode=all&sort=created&dir=desc');
    expect(first.rows.map((row) => row.id)).toEqual(customers.slice(-25).reverse());
    const { result: second } = await pageOf(`tag=big-a&tag=big-b&tagmode=all&sort=created&dir=desc&after=${first.next}`);
    expect(second.rows.map((row) => row.id)).toEqual(customers.slice(-50, -25).reverse());
    expect(statements.some(({ sql }) => sql.includes('as "w"') && !sql.includes(') IS TRUE'))).toBe(true);
    expect(statements.some(({ sql }) => sql.includes('array_agg(few.customer_id)'))).toBe(false);
  });

  it('reads the page the usual way when the stretch holds none', async () => {
    const { result, statements } = await pageOf('tag=apart-a&tag=apart-b&tagmode=all&sort=created&dir=desc');
    expect(result.rows).toEqual([]);
    expect(statements.some(({ sql }) => sql.includes('as "w"'))).toBe(true);
    expect(statements.some(({ sql }) => sql.includes('array_agg(few.customer_id)'))).toBe(true);
  });
});
