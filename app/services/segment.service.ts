import type { Knex } from 'knex';
import { refreshListStatistics } from '../db/list-statistics.js';
import { NotFoundError, ValidationError } from '../lib/errors.js';
import { recordAudit } from './audit.service.js';
import { assertMayManageGroups, connectEmailBatch, countGroupMembers, customerScopeSql, findGroup, type BatchReport } from './customer-group.service.js';
import type { StaffPrincipal } from './staff.service.js';

// Segments (F-GRP-3) connect customers and whole groups horizontally: a segment's members are its
// own customers plus every member of its groups. Used as a list filter (customer-list.service.ts).

type Db = Knex | Knex.Transaction;

export interface SegmentRecord {
  id: number;
  name: string;
  description: string;
  createdAt: Date;
  updatedAt: Date;
}

export const SEGMENT_NOT_FOUND = 'We could not find that segment.';
const DUPLICATE_SEGMENT = 'Another segment already has this name.';
const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

export async function findSegment(db: Db, segmentId: number): Promise<SegmentRecord> {
  if (!Number.isSafeInteger(segmentId) || segmentId <= 0) throw new NotFoundError(SEGMENT_NOT_FOUND);
  const row = await db('segments').where({ id: segmentId }).first();
  if (!row) throw new NotFoundError(SEGMENT_NOT_FOUND);
  return row as SegmentRecord;
}

export interface SegmentSummary extends SegmentRecord {
  /** Every customer in the segment, directly or through its groups, once. */
  membersCount: number;
  customersCount: number;
  groupsCount: number;
}

export async function listSegments(db: Db): Promise<SegmentSummary[]> {
  return db('segments as s')
    .select(
      's.*',
      db.raw('(SELECT count(*) FROM segment_members x WHERE x.segment_id = s.id)::int AS members_count'),
      db.raw('(SELECT count(*) FROM segment_customers x WHERE x.segment_id = s.id)::int AS customers_count'),
      db.raw('(SELECT count(*) FROM segment_groups x WHERE x.segment_id = s.id)::int AS groups_count'),
    )
    .orderBy([{ column: 's.name' }, { column: 's.id' }]);
}

/** Every customer in the segment, directly or through its groups, once (kept in segment_members). */
export async function segmentMembersCount(db: Db, segmentId: number): Promise<number> {
  const row = (await db('segmentMembers').where({ segmentId }).count({ n: '*' }).first()) as { n: string | number } | undefined;
  return Number(row?.n ?? 0);
}

export async function segmentOptions(db: Db): Promise<Array<{ id: number; name: string }>> {
  return db('segments').select('id', 'name').orderBy([{ column: 'name' }, { column: 'id' }]).limit(1000);
}

export async function createSegment(knex: Knex, staff: StaffPrincipal, input: { name: string; description: string }, requestId?: string): Promise<SegmentRecord> {
  assertMayManageGroups(staff);
  try {
    return await knex.transaction(async (trx) => {
      const [row] = await trx('segments').insert(input).returning('*');
      await recordAudit(trx, { actorType: 'staff', actorId: staff.id, shopId: null, customerId: null, action: 'segment.created', changes: { segmentId: row.id, name: row.name }, requestId });
      return row as SegmentRecord;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ValidationError({ name: DUPLICATE_SEGMENT });
    throw error;
  }
}

export async function updateSegment(knex: Knex, staff: StaffPrincipal, segmentId: number, input: { name: string; description: string }, requestId?: string): Promise<SegmentRecord> {
  assertMayManageGroups(staff);
  try {
    return await knex.transaction(async (trx) => {
      const before = await findSegment(trx, segmentId);
      const [row] = await trx('segments').where({ id: segmentId }).update({ ...input, updatedAt: trx.fn.now() }).returning('*');
      await recordAudit(trx, { actorType: 'staff', actorId: staff.id, shopId: null, customerId: null, action: 'segment.updated', changes: { segmentId, from: { name: before.name, description: before.description }, to: input }, requestId });
      return row as SegmentRecord;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ValidationError({ name: DUPLICATE_SEGMENT });
    throw error;
  }
}

export async function deleteSegment(knex: Knex, staff: StaffPrincipal, segmentId: number, requestId?: string): Promise<string> {
  assertMayManageGroups(staff);
  return knex.transaction(async (trx) => {
    const segment = await findSegment(trx, segmentId);
    await trx('segments').where({ id: segmentId }).delete();
    await recordAudit(trx, { actorType: 'staff', actorId: staff.id, shopId: null, customerId: null, action: 'segment.deleted', changes: { segmentId, name: segment.name }, requestId });
    return segment.name;
  });
}

/** The groups of a segment, with their member counts. */
export async function segmentGroups(db: Db, segmentId: number): Promise<Array<{ id: number; name: string; kind: string; membersCount: number }>> {
  return db('segmentGroups as sg')
    .join('customerGroups as g', 'g.id', 'sg.groupId')
    .where('sg.segmentId', segmentId)
    .select('g.id', 'g.name', 'g.kind', db.raw('(SELECT count(*) FROM customer_group_members m WHERE m.group_id = g.id)::int AS members_count'))
    .orderBy('g.name');
}

export async function addSegmentGroup(knex: Knex, staff: StaffPrincipal, segmentId: number, groupId: number, requestId?: string): Promise<boolean> {
  assertMayManageGroups(staff);
  const linked = await knex.transaction(async (trx) => {
    const segment = await findSegment(trx, segmentId);
    const group = await findGroup(trx, groupId);
    const inserted = await trx('segmentGroups').insert({ segmentId, groupId }).onConflict(['segmentId', 'groupId']).ignore().returning('groupId');
    if (inserted.length) await recordAudit(trx, { actorType: 'staff', actorId: staff.id, shopId: null, customerId: null, action: 'segment.group_added', changes: { segmentId, segment: segment.name, groupId, group: group.name }, requestId });
    return inserted.length > 0;
  });
  if (linked) await refreshSegmentStatistics(knex, groupId);
  return linked;
}

/** Linking or unlinking a group changes the segment's members by up to the group's size. */
async function refreshSegmentStatistics(knex: Knex, groupId: number): Promise<void> {
  await refreshListStatistics(knex, await countGroupMembers(knex, groupId), ['segment_members']);
}

export async function removeSegmentGroup(knex: Knex, staff: StaffPrincipal, segmentId: number, groupId: number, requestId?: string): Promise<void> {
  assertMayManageGroups(staff);
  await knex.transaction(async (trx) => {
    const segment = await findSegment(trx, segmentId);
    const removed = await trx('segmentGroups').where({ segmentId, groupId }).delete();
    if (!removed) throw new NotFoundError('That group is not in this segment.');
    await recordAudit(trx, { actorType: 'staff', actorId: staff.id, shopId: null, customerId: null, action: 'segment.group_removed', changes: { segmentId, segment: segment.name, groupId }, requestId });
  });
  await refreshSegmentStatistics(knex, groupId);
}

export const SEGMENT_PAGE_SIZE = 50;

/** The segment's own customers that the staff member may see, keyset-paged by customer id. */
export async function segmentCustomersPage(db: Db, staff: StaffPrincipal, segmentId: number, after = 0) {
  const scope = customerScopeSql(staff);
  const rows = (await db('segmentCustomers as x')
    .join('customers as c', 'c.id', 'x.customerId')
    .where('x.segmentId', segmentId)
    .andWhere('x.customerId', '>', after)
    .whereRaw(scope.sql, scope.bindings)
    .orderBy('x.customerId')
    .limit(SEGMENT_PAGE_SIZE + 1)
    .select('c.id', 'c.email', 'c.firstName', 'c.lastName', 'c.state', 'x.createdAt as addedAt')) as Array<{ id: number; email: string; firstName: string; lastName: string; state: string; addedAt: Date }>;
  const page = rows.slice(0, SEGMENT_PAGE_SIZE);
  const total = Number(((await db('segmentCustomers').where({ segmentId }).count({ n: '*' }).first()) as { n: string }).n);
  return { rows: page, next: rows.length > SEGMENT_PAGE_SIZE ? page[page.length - 1]!.id : null, total };
}

/** Adds customers (by pasted e-mail addresses) to a segment directly, with the same report as batch connect. */
export async function addSegmentCustomers(knex: Knex, staff: StaffPrincipal, segmentId: number, text: string, requestId?: string): Promise<BatchReport> {
  assertMayManageGroups(staff);
  return connectEmailBatch(knex, staff, text, 'segment page', requestId, async (trx) => {
    const segment = await findSegment(trx, segmentId);
    return { kind: 'segment', id: segment.id, name: segment.name };
  });
}

export async function removeSegmentCustomer(knex: Knex, staff: StaffPrincipal, segmentId: number, customerId: number, requestId?: string): Promise<void> {
  assertMayManageGroups(staff);
  await knex.transaction(async (trx) => {
    const segment = await findSegment(trx, segmentId);
    const scope = customerScopeSql(staff);
    const visible = await trx('customers as c').where('c.id', customerId).whereRaw(scope.sql, scope.bindings).first('c.id');
    if (!visible) throw new NotFoundError('We could not find that customer in this segment.');
    const removed = await trx('segmentCustomers').where({ segmentId, customerId }).delete();
    if (!removed) throw new NotFoundError('We could not find that customer in this segment.');
    await recordAudit(trx, { actorType: 'staff', actorId: staff.id, shopId: null, customerId, action: 'segment.member_removed', changes: { segment: segment.name, segmentId, via: 'segment page' }, requestId });
  });
}
