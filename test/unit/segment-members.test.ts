import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { useDatabaseWithShop } from '../support/database.js';
import { makeCustomer } from '../support/factories.js';

/**
 * segment_members, which the list filters a segment by, holds a segment's own customers and its
 * groups' members through every write to the three sources: one row or many in one statement,
 * deletions that cascade, and two transactions changing two routes to the same customer at once.
 */
describe('the members kept for each segment', () => {
  let knex: Knex;
  let shopId: number;
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  let n = 0;
  const group = async () => (await knex('customerGroups').insert({ name: `Group ${++n}`, kind: 'static' }).returning('id'))[0].id as number;
  const segment = async () => (await knex('segments').insert({ name: `Segment ${++n}` }).returning('id'))[0].id as number;
  const customers = async (count: number) => Promise.all(Array.from({ length: count }, async () => (await makeCustomer(knex, [shopId])).id));
  const join = (groupId: number, ids: number[], db: Knex | Knex.Transaction = knex) => db('customerGroupMembers').insert(ids.map((customerId) => ({ groupId, customerId, source: 'manual' })));
  const leave = (groupId: number, ids: number[], db: Knex | Knex.Transaction = knex) => db('customerGroupMembers').where({ groupId }).whereIn('customerId', ids).delete();
  const members = async (segmentId: number) => ((await knex('segmentMembers').where({ segmentId }).select('customerId')) as Array<{ customerId: number }>).map((row) => row.customerId).sort((a, b) => a - b);
  const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

  /** A customer, and a segment of two groups that customer is not yet in. */
  async function customerAndSegmentOfTwoGroups() {
    const [x] = await customers(1);
    const [g1, g2] = [await group(), await group()];
    const s = await segment();
    await knex('segmentGroups').insert([{ segmentId: s, groupId: g1 }, { segmentId: s, groupId: g2 }]);
    return { x: x!, g1, g2, s };
  }

  /**
   * Runs `first` in a transaction and, while it is not committed, `second` in another (which may
   * wait on a lock `first` holds), then commits both, first the first.
   */
  async function whileUncommitted(first: (trx: Knex.Transaction) => PromiseLike<unknown>, second: (trx: Knex.Transaction) => PromiseLike<unknown>) {
    const [a, b] = [await knex.transaction(), await knex.transaction()];
    await first(a);
    // then() sends the query now: a query builder runs only when awaited.
    const secondDone = second(b).then(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await a.commit();
    await secondDone;
    await b.commit();
  }

  it('follows the segment’s own customers, its groups and their members, whichever way a customer belongs', async () => {
    const [a, b, c, d] = await customers(4);
    const g1 = await group();
    const g2 = await group();
    const s = await segment();
    await join(g1, [a!, b!]);
    expect(await members(s)).toEqual([]);

    // A group added to the segment brings its members; one of its own customers is listed once.
    await knex('segmentGroups').insert({ segmentId: s, groupId: g1 });
    await knex('segmentCustomers').insert([{ segmentId: s, customerId: b }, { segmentId: s, customerId: c }]);
    expect(await members(s)).toEqual(sorted([a!, b!, c!]));

    // Members of a group in the segment come and go with the group.
    await join(g1, [d!]);
    expect(await members(s)).toEqual(sorted([a!, b!, c!, d!]));
    await leave(g1, [a!, b!]);
    // b is still one of the segment's own customers; a has no way in left.
    expect(await members(s)).toEqual(sorted([b!, c!, d!]));

    // A second group: d belongs through both; removing the first group keeps d through the second.
    await join(g2, [d!]);
    await knex('segmentGroups').insert({ segmentId: s, groupId: g2 });
    await knex('segmentGroups').where({ segmentId: s, groupId: g1 }).delete();
    expect(await members(s)).toEqual(sorted([b!, c!, d!]));
    await knex('segmentCustomers').where({ segmentId: s }).delete();
    expect(await members(s)).toEqual([d!]);

    // Deleting the group, the customer or the segment leaves nothing behind.
    await knex('customerGroups').where({ id: g2 }).delete();
    expect(await members(s)).toEqual([]);
    await knex('segmentCustomers').insert({ segmentId: s, customerId: c });
    await knex('customers').where({ id: c }).delete();
    expect(await members(s)).toEqual([]);
    await knex('segmentCustomers').insert({ segmentId: s, customerId: d });
    await knex('segments').where({ id: s }).delete();
    expect(await knex('segmentMembers').where({ segmentId: s }).count({ n: '*' }).first()).toEqual({ n: 0 });
  });

  it('keeps the members of several segments of one group, added and removed many in one statement', async () => {
    const ids = await customers(40);
    const g = await group();
    const [s1, s2] = [await segment(), await segment()];
    await knex('segmentGroups').insert([{ segmentId: s1, groupId: g }, { segmentId: s2, groupId: g }]);
    await join(g, ids);
    expect(await members(s1)).toEqual(sorted(ids));
    expect(await members(s2)).toEqual(sorted(ids));
    await leave(g, ids.slice(0, 25));
    expect(await members(s1)).toEqual(sorted(ids.slice(25)));
    expect(await members(s2)).toEqual(sorted(ids.slice(25)));
  });

  it('refuses to move a source row to another group, segment or customer (its triggers see only inserts and deletes)', async () => {
    const [a, b] = await customers(2);
    const g = await group();
    await join(g, [a!]);
    await expect(knex('customerGroupMembers').where({ groupId: g, customerId: a }).update({ customerId: b })).rejects.toThrow(/not updated in their ids/);
    // Other columns may change.
    await knex('customerGroupMembers').where({ groupId: g, customerId: a }).update({ source: 'rule' });
  });

  it('removes a customer whose two ways in are removed at the same time by two transactions', async () => {
    const { x, g1, g2, s } = await customerAndSegmentOfTwoGroups();
    await join(g1, [x]);
    await join(g2, [x]);
    expect(await members(s)).toEqual([x]);

    // Each transaction removes one way in while the other's removal is not yet committed: each alone
    // would still see the other way, and without the pair's lock both would keep the customer.
    await whileUncommitted((trx) => leave(g1, [x], trx), (trx) => leave(g2, [x], trx));
    expect(await members(s)).toEqual([]);
  });

  it('keeps a customer added through one way while another way is removed at the same time', async () => {
    const { x, g1, g2, s } = await customerAndSegmentOfTwoGroups();
    await join(g2, [x]);

    // Removal first: it sees no other way in (the addition is not committed) and removes the pair;
    // the addition then waits for it and adds the pair again.
    await whileUncommitted((trx) => leave(g2, [x], trx), (trx) => join(g1, [x], trx));
    expect(await members(s)).toEqual([x]);

    // Addition first: the removal waits for it, then sees the new way in and keeps the pair.
    await whileUncommitted((trx) => join(g2, [x], trx), (trx) => leave(g1, [x], trx));
    expect(await members(s)).toEqual([x]);
  });
});
