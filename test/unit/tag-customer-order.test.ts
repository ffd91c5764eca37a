import type { Knex } from 'knex';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ListSource } from '../../app/services/customer-list-filter.js';
import { listCustomers } from '../../app/services/customer-list.service.js';
import { insertManyCustomers, listQueryOf, pagesBothWays } from '../support/customer-list.js';
import { useDatabaseWithShop } from '../support/database.js';
import { makeCustomer, makeShop } from '../support/factories.js';
import { statementsOf } from '../support/statements.js';

/**
 * Each tag keeps its customer's creation time (migration 46), so that the list in that order (its
 * default) walks a tag's own (tag, created, customer) entries, probing the other sets (and in a
 * shop its assignment) on each, instead of every customer's or every assignment's.
 */
describe('a tag’s customers in the order they were created', () => {
  let knex: Knex;
  let shopId: number;
  let otherShopId: number;
  let customers: number[];
  let groupId: number;
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  const copiesOf = async (customerId: number) =>
    ((await knex('customerTags').where({ customerId }).orderBy('tag').select('tag', 'customerCreatedAt')) as Array<{ tag: string; customerCreatedAt: Date }>).map(
      (row) => [row.tag, row.customerCreatedAt.toISOString()],
    );
  const createdOf = async (customerId: number) => ((await knex('customers').where({ id: customerId }).first('createdAt')) as { createdAt: Date }).createdAt.toISOString();
  const everyCopyIsItsCustomers = async () =>
    (await knex.raw('SELECT bool_and(t.customer_created_at = c.created_at) AS same FROM customer_tags t JOIN customers c ON c.id = t.customer_id')).rows[0].same as boolean;

  const all: ListSource = { kind: 'all' };
  const walksTag = (sql: string) => sql.includes('t.customer_created_at AS k0');

  /** Every page both ways (size 10), flattened; and whether a page walked a tag's entries. */
  const bothWays = async (source: ListSource, search: string) => {
    const { result, statements } = await statementsOf(knex, () => pagesBothWays(knex, source, `size=10&${search}`));
    return { forward: result.forward.flat(), backward: result.backward.flat(), walked: statements.some(({ sql }) => walksTag(sql)) };
  };

  /** The customers of `ids` newest first, ties by id (the list's default order). */
  const newestFirst = async (ids: number[]) =>
    ((await knex('customers').whereIn('id', ids).orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'id', order: 'desc' }]).select('id')) as Array<{ id: number }>).map((row) => Number(row.id));

  beforeAll(async () => {
    otherShopId = (await makeShop(knex)).id;
    customers = [...(await insertManyCustomers(knex, 300, { emailPrefix: 'tagged-', shopIds: [shopId] })), ...(await insertManyCustomers(knex, 300, { emailPrefix: 'tagged-other-', shopIds: [otherShopId] }))];
    // Ties of twenty customers each, to the microsecond (the cursor keeps microseconds).
    await knex.raw(`UPDATE customers SET created_at = timestamptz '2024-01-01 10:00:00.123456' + (id % 30) * interval '1 day' WHERE id = ANY(?::bigint[])`, [customers]);
    // Inserted without the time (the trigger reads it) and with it (as the import and the seed do).
    await knex('customerTags').insert(customers.filter((_, index) => index % 2 === 0).map((customerId) => ({ customerId, tag: 'red' })));
    await knex.raw(`INSERT INTO customer_tags (customer_id, tag, customer_created_at) SELECT c.id, 'blue', c.created_at FROM customers c WHERE c.id = ANY(?::bigint[])`, [customers.filter((_, index) => index % 3 === 0)]);
    [{ id: groupId }] = await knex('customerGroups').insert({ name: 'Every fifth', kind: 'static' }).returning('id');
    await knex('customerGroupMembers').insert(customers.filter((_, index) => index % 5 === 0).map((customerId) => ({ groupId, customerId, source: 'manual' })));
    await knex.raw('VACUUM ANALYZE customers, customer_tags, customer_group_members');
  });

  it('keeps each tag’s copy of its customer’s creation time, however the two are written', async () => {
    expect(await everyCopyIsItsCustomers()).toBe(true);
    const customer = await makeCustomer(knex, [shopId]);
    await knex('customerTags').insert([{ customerId: customer.id, tag: 'Mixed-Case' }, { customerId: customer.id, tag: 'plain' }]);
    expect(await copiesOf(customer.id)).toEqual([['mixed-case', await createdOf(customer.id)], ['plain', await createdOf(customer.id)]]);
    // An update of the customer reaches every tag.
    await knex('customers').where({ id: customer.id }).update({ createdAt: new Date('2020-02-29T12:00:00.123Z') });
    expect((await copiesOf(customer.id)).map(([, at]) => at)).toEqual(['2020-02-29T12:00:00.123Z', '2020-02-29T12:00:00.123Z']);
    // The copy is never written apart from its customer: a write of it takes the customer's again.
    await knex('customerTags').where({ customerId: customer.id, tag: 'plain' }).update({ customerCreatedAt: new Date('2030-01-01T00:00:00Z') });
    expect(await copiesOf(customer.id)).toEqual([['mixed-case', '2020-02-29T12:00:00.123Z'], ['plain', '2020-02-29T12:00:00.123Z']]);
    // A tag of no customer fails as its foreign key says.
    await expect(knex('customerTags').insert({ customerId: 999_999_999, tag: 'nobody' })).rejects.toMatchObject({ code: '23503', constraint: 'customer_tags_customer_id_fkey' });
    expect(await everyCopyIsItsCustomers()).toBe(true);
  });

  it('pages two tags over all shops newest first along the smaller tag’s entries, across ties, both ways', async () => {
    const both = customers.filter((_, index) => index % 6 === 0);
    for (const search of ['tag=red&tag=blue&tagmode=all', 'tag=blue&tag=red&tagmode=all', 'tag=red&tag=blue&tagmode=all&sort=created&dir=asc']) {
      const expected = await newestFirst(both);
      if (search.includes('dir=asc')) expected.reverse();
      const { forward, backward, walked } = await bothWays(all, search);
      expect(forward, search).toEqual(expected);
      expect(backward, search).toEqual(expected);
      expect(walked, search).toBe(true);
    }
  });

  it('pages a tag with a group, and a tag alone, along the tag’s entries', async () => {
    for (const [search, members] of [
      [`tag=blue&group=${groupId}`, customers.filter((_, index) => index % 15 === 0)],
      ['tag=red', customers.filter((_, index) => index % 2 === 0)],
      [`tag=red&tag=blue&tagmode=all&group=${groupId}`, customers.filter((_, index) => index % 30 === 0)],
    ] as const) {
      const { forward, backward, walked } = await bothWays(all, search);
      expect(forward, search).toEqual(await newestFirst([...members]));
      expect(backward, search).toEqual(forward);
      expect(walked, search).toBe(true);
    }
  });

  it('pages a shop’s customers of tags newest first along a tag’s entries, each probed for the shop, and no other shop’s', async () => {
    const ofOtherShop = (ids: number[]) => ids.filter((id) => customers.indexOf(id) >= 300);
    for (const [search, members] of [
      ['tag=red&tag=blue&tagmode=all', customers.filter((_, index) => index % 6 === 0)],
      ['tag=red&tag=blue&tagmode=all&sort=created&dir=asc', customers.filter((_, index) => index % 6 === 0)],
      [`tag=blue&group=${groupId}`, customers.filter((_, index) => index % 15 === 0)],
      ['tag=red', customers.filter((_, index) => index % 2 === 0)],
    ] as const) {
      const expected = await newestFirst(ofOtherShop([...members]));
      if (search.includes('dir=asc')) expected.reverse();
      const { forward, backward, walked } = await bothWays({ kind: 'shop', shopId: otherShopId }, search);
      expect(forward, search).toEqual(expected);
      expect(backward, search).toEqual(expected);
      expect(walked, search).toBe(true);
    }
  });

  it('walks no tag’s entries by another key or for any of several tags, and lists the same customers', async () => {
    const either = customers.filter((_, index) => index % 2 === 0 || index % 3 === 0);
    const both = customers.filter((_, index) => index % 6 === 0);
    const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);
    for (const [source, search, expected] of [
      [all, 'tag=red&tag=blue&tagmode=all&sort=name&dir=asc', both],
      [all, 'tag=red&tag=blue', either],
      [{ kind: 'shop', shopId: otherShopId }, 'tag=red&tag=blue&tagmode=all&sort=total_spent&dir=desc', both.filter((id) => customers.indexOf(id) >= 300)],
    ] as const) {
      const { forward, backward, walked } = await bothWays(source, search);
      expect(sorted(forward), search).toEqual(sorted([...expected]));
      expect(backward, search).toEqual(forward);
      expect(walked, search).toBe(false);
    }
  });

  it('lists a customer whose creation time changed in its new place', async () => {
    const moved = customers[0]!;
    expect(customers.indexOf(moved) % 6).toBe(0);
    await knex('customers').where({ id: moved }).update({ createdAt: new Date('2030-06-01T00:00:00Z') });
    const first = await listCustomers(knex, all, listQueryOf('tag=red&tag=blue&tagmode=all'), null);
    expect(first.rows[0]?.id).toBe(moved);
    const oldestFirst = await listCustomers(knex, all, listQueryOf('tag=red&tag=blue&tagmode=all&sort=created&dir=asc'), null);
    expect(oldestFirst.rows.map((row) => row.id)).not.toContain(moved);
  });
});
