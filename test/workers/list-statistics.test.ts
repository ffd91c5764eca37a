import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { beforeAll, describe, expect, it } from 'vitest';
import { LARGE_CHANGE_ROWS, plannedRows } from '../../app/db/list-statistics.js';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { createBulkOperation, runBulkOperation } from '../../app/services/bulk-action.service.js';
import { batchConnect } from '../../app/services/customer-group.service.js';
import { recomputeDynamicGroup } from '../../app/services/group-rule.service.js';
import { addSegmentGroup, removeSegmentGroup } from '../../app/services/segment.service.js';
import { loadStaffPrincipal, type StaffPrincipal } from '../../app/services/staff.service.js';
import { insertManyCustomers } from '../support/customer-list.js';
import { useDatabaseWithShop } from '../support/database.js';
import { makeStaff } from '../support/factories.js';

/**
 * A large set-based change refreshes the planner's statistics of what it wrote. The list plans a
 * tag, a group or a segment by its size: planned as empty while it has thousands of members, a
 * page reads and sorts them all (382 ms instead of 2 ms for a tag of 100,000 at a million
 * customers), and autovacuum may never catch up (it waits for a tenth of the table to change).
 * Without the refresh these tables keep no statistics here (the database is fresh), so the planner
 * expects a handful of rows.
 */
describe('statistics after large changes', () => {
  let knex: Knex;
  let shopId: number;
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  const LARGE = LARGE_CHANGE_ROWS + 1_000;
  let owner: StaffPrincipal;
  let ids: number[];
  beforeAll(async () => {
    owner = (await loadStaffPrincipal(knex, (await makeStaff(knex, { role: 'owner' })).id))!;
    ids = await insertManyCustomers(knex, LARGE, { emailPrefix: 'stats-', shopIds: [shopId], billingCountry: 'NZ' });
  });

  const taggedPlanned = (tag: string) => plannedRows(knex, knex.raw('SELECT 1 FROM customer_tags WHERE tag = ?', [tag]));
  const groupPlanned = (groupId: number) => plannedRows(knex, knex.raw('SELECT 1 FROM customer_group_members WHERE group_id = ?', [groupId]));
  const segmentPlanned = (segmentId: number) => plannedRows(knex, knex.raw('SELECT 1 FROM segment_members WHERE segment_id = ?', [segmentId]));
  const group = async (kind: 'static' | 'dynamic', rule?: object) =>
    (await knex('customerGroups').insert({ name: `Group ${randomBytes(4).toString('hex')}`, kind, rule: rule ? JSON.stringify(rule) : null }).returning('id'))[0].id as number;

  async function bulk(action: 'add_tag' | 'remove_tag', tag: string) {
    const selection = { source: { kind: 'all' as const }, q: '', filters: parseCustomerListQuery({ country: 'NZ' }).filters, scope: 'all' as const, salesTeamId: null };
    const { id } = await createBulkOperation(knex, owner.id, { key: randomBytes(16).toString('hex'), action, tag, selection });
    await runBulkOperation(knex, id);
  }

  it('a bulk tag of thousands: the tag is planned at its size, added and removed', async () => {
    expect(await taggedPlanned('spring')).toBeLessThan(100);
    await bulk('add_tag', 'spring');
    expect(await knex('customerTags').where({ tag: 'spring' }).count({ n: '*' }).first()).toEqual({ n: LARGE });
    expect(await taggedPlanned('spring')).toBeGreaterThan(LARGE / 2);

    await bulk('remove_tag', 'spring');
    expect(await taggedPlanned('spring')).toBeLessThan(100);
  });

  it('a dynamic group whose rule matches thousands', async () => {
    const groupId = await group('dynamic', { tags: [], tagMode: 'all', country: ['NZ'], type: [] });
    expect(await recomputeDynamicGroup(knex, groupId)).toEqual({ added: LARGE, removed: 0 });
    expect(await groupPlanned(groupId)).toBeGreaterThan(LARGE / 2);
  });

  it('a group of thousands linked to a segment, and unlinked', async () => {
    const groupId = await group('static');
    await knex.raw(`INSERT INTO customer_group_members (group_id, customer_id, source) SELECT ?, unnest(?::bigint[]), 'manual'`, [groupId, ids]);
    const [{ id: segmentId }] = await knex('segments').insert({ name: `Segment ${groupId}` }).returning('id');
    expect(await segmentPlanned(segmentId)).toBeLessThan(100);

    expect(await addSegmentGroup(knex, owner, segmentId, groupId)).toBe(true);
    expect(await segmentPlanned(segmentId)).toBeGreaterThan(LARGE / 2);
    await removeSegmentGroup(knex, owner, segmentId, groupId);
    expect(await segmentPlanned(segmentId)).toBeLessThan(100);
  });

  it('thousands of pasted e-mail addresses connected to a group', async () => {
    const groupId = await group('static');
    const emails = Array.from({ length: LARGE }, (_, i) => `stats-${i + 1}@example.test`);
    expect(await batchConnect(knex, owner, groupId, emails.join('\n'))).toMatchObject({ read: LARGE, added: LARGE });
    expect(await groupPlanned(groupId)).toBeGreaterThan(LARGE / 2);
  });
});
