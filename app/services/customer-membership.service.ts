import type { Knex } from 'knex';
import { ValidationError } from '../lib/errors.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, staffActor, type CustomerAccess } from './customer-access.service.js';
import type { StaffPrincipal } from './staff.service.js';

// One customer's groups and segments, as the dashboard shows and edits them (F-DASH-11). Static
// groups and a segment's own customers are edited here; dynamic membership comes from the rule and
// is only shown; a segment reached through one of its groups is shown with that group.

type Db = Knex | Knex.Transaction;

export interface CustomerGroupEntry {
  id: number;
  name: string;
  kind: 'static' | 'dynamic';
  taxExempt: boolean;
  discountPercent: number;
}

export interface CustomerSegmentEntry {
  id: number;
  name: string;
  /** Direct member of the segment (editable here). */
  direct: boolean;
  /** The customer's groups that bring them into the segment. */
  viaGroups: string[];
}

export interface CustomerMemberships {
  groups: CustomerGroupEntry[];
  segments: CustomerSegmentEntry[];
}

export async function customerMemberships(db: Db, customerId: number): Promise<CustomerMemberships> {
  const [groups, direct, viaGroups] = await Promise.all([
    db('customerGroupMembers as m')
      .join('customerGroups as g', 'g.id', 'm.groupId')
      .where('m.customerId', customerId)
      .orderBy([{ column: 'g.name' }, { column: 'g.id' }])
      .select('g.id', 'g.name', 'g.kind', 'g.taxExempt', 'g.discountPercent') as Promise<CustomerGroupEntry[]>,
    db('segmentCustomers as x').join('segments as s', 's.id', 'x.segmentId').where('x.customerId', customerId).select('s.id', 's.name') as Promise<Array<{ id: number; name: string }>>,
    db('customerGroupMembers as m')
      .join('segmentGroups as sg', 'sg.groupId', 'm.groupId')
      .join('segments as s', 's.id', 'sg.segmentId')
      .join('customerGroups as g', 'g.id', 'm.groupId')
      .where('m.customerId', customerId)
      .select('s.id', 's.name', 'g.name as groupName') as Promise<Array<{ id: number; name: string; groupName: string }>>,
  ]);
  const segments = new Map<number, CustomerSegmentEntry>();
  for (const s of direct) segments.set(s.id, { id: s.id, name: s.name, direct: true, viaGroups: [] });
  for (const s of viaGroups) {
    const entry = segments.get(s.id) ?? { id: s.id, name: s.name, direct: false, viaGroups: [] };
    entry.viaGroups.push(s.groupName);
    segments.set(s.id, entry);
  }
  return {
    groups: groups.map((g) => ({ ...g, discountPercent: Number(g.discountPercent) })),
    segments: [...segments.values()].sort((a, b) => a.name.localeCompare(b.name)).map((s) => ({ ...s, viaGroups: s.viaGroups.sort() })),
  };
}

/** The dashboard widget's data: memberships plus whether this staff member may edit them. */
export async function loadGroupsWidget(knex: Knex, access: CustomerAccess) {
  return { ...(await customerMemberships(knex, access.customerId)), mayEdit: mayEditMemberships(access.staff) };
}

/**
 * Membership of one customer is sales work: owners, managers and sales reps. Support may not: a
 * group can make a customer tax exempt or give a discount.
 */
export function mayEditMemberships(staff: StaffPrincipal): boolean {
  return staff.role !== 'support';
}

/** What the edit modal offers: every static group and every segment, with the customer's current choice. */
export async function membershipChoices(db: Db, customerId: number) {
  const [groups, segments, memberships] = await Promise.all([
    db('customerGroups').where('kind', 'static').orderBy([{ column: 'name' }, { column: 'id' }]).select('id', 'name', 'taxExempt').limit(1000) as Promise<Array<{ id: number; name: string; taxExempt: boolean }>>,
    db('segments').orderBy([{ column: 'name' }, { column: 'id' }]).select('id', 'name').limit(1000) as Promise<Array<{ id: number; name: string }>>,
    customerMemberships(db, customerId),
  ]);
  return {
    groups,
    segments,
    dynamicGroups: memberships.groups.filter((g) => g.kind === 'dynamic'),
    chosenGroups: memberships.groups.filter((g) => g.kind === 'static').map((g) => g.id),
    chosenSegments: memberships.segments.filter((s) => s.direct).map((s) => s.id),
  };
}

/** Reads the ticked ids of a repeated checkbox (one value or several); anything else is refused. */
export function tickedIds(value: unknown, field: string, message: string): number[] {
  const values = ([] as unknown[]).concat(value ?? []);
  const ids: number[] = [];
  for (const v of values) {
    if (typeof v !== 'string' || !/^\d{1,18}$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) <= 0) throw new ValidationError({ [field]: message });
    ids.push(Number(v));
  }
  if (ids.length > 1000) throw new ValidationError({ [field]: message });
  return [...new Set(ids)];
}

/**
 * Makes the customer a member of exactly these static groups and (directly) these segments. Dynamic
 * groups are left alone. One timeline entry per change, in the same transaction.
 */
export async function setCustomerMemberships(
  knex: Knex,
  staff: StaffPrincipal,
  customerId: number,
  wanted: { groupIds: number[]; segmentIds: number[] },
  requestId?: string,
): Promise<{ changes: number }> {
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId, { lock: true });
    const groups = (await trx('customerGroups').whereIn('id', wanted.groupIds).select('id', 'name', 'kind')) as Array<{ id: number; name: string; kind: string }>;
    if (groups.length !== wanted.groupIds.length || groups.some((g) => g.kind !== 'static')) throw new ValidationError({ groups: 'Choose static groups from the list: dynamic groups follow their rule.' });
    const segments = (await trx('segments').whereIn('id', wanted.segmentIds).select('id', 'name')) as Array<{ id: number; name: string }>;
    if (segments.length !== wanted.segmentIds.length) throw new ValidationError({ segments: 'Choose segments from the list.' });

    const currentGroups = (await trx('customerGroupMembers as m')
      .join('customerGroups as g', 'g.id', 'm.groupId')
      .where({ 'm.customerId': customerId, 'g.kind': 'static' })
      .select('g.id', 'g.name')) as Array<{ id: number; name: string }>;
    const currentSegments = (await trx('segmentCustomers as x').join('segments as s', 's.id', 'x.segmentId').where('x.customerId', customerId).select('s.id', 's.name')) as Array<{ id: number; name: string }>;

    const addGroups = groups.filter((g) => !currentGroups.some((c) => c.id === g.id));
    const removeGroups = currentGroups.filter((c) => !wanted.groupIds.includes(c.id));
    const addSegments = segments.filter((s) => !currentSegments.some((c) => c.id === s.id));
    const removeSegments = currentSegments.filter((c) => !wanted.segmentIds.includes(c.id));

    const actor = { ...staffActor(access, requestId), shopId: null };
    if (addGroups.length) await trx('customerGroupMembers').insert(addGroups.map((g) => ({ groupId: g.id, customerId, source: 'manual', addedBy: staff.id }))).onConflict(['groupId', 'customerId']).ignore();
    if (removeGroups.length) await trx('customerGroupMembers').where({ customerId }).whereIn('groupId', removeGroups.map((g) => g.id)).delete();
    if (addSegments.length) await trx('segmentCustomers').insert(addSegments.map((s) => ({ segmentId: s.id, customerId, addedBy: staff.id }))).onConflict(['segmentId', 'customerId']).ignore();
    if (removeSegments.length) await trx('segmentCustomers').where({ customerId }).whereIn('segmentId', removeSegments.map((s) => s.id)).delete();
    for (const g of addGroups) await recordAudit(trx, { ...actor, action: 'group.member_added', changes: { group: g.name, groupId: g.id, via: 'dashboard' } });
    for (const g of removeGroups) await recordAudit(trx, { ...actor, action: 'group.member_removed', changes: { group: g.name, groupId: g.id, via: 'dashboard' } });
    for (const s of addSegments) await recordAudit(trx, { ...actor, action: 'segment.member_added', changes: { segment: s.name, segmentId: s.id, via: 'dashboard' } });
    for (const s of removeSegments) await recordAudit(trx, { ...actor, action: 'segment.member_removed', changes: { segment: s.name, segmentId: s.id, via: 'dashboard' } });
    return { changes: addGroups.length + removeGroups.length + addSegments.length + removeSegments.length };
  });
}

/** Names for the list's group / segment / business account chips; ids that do not exist come back as null. */
export async function listFilterNames(db: Db, ids: { group?: number; segment?: number; business?: number }) {
  const name = async (table: string, id: number | undefined) => (id === undefined ? undefined : (((await db(table).where({ id }).first('name')) as { name: string } | undefined)?.name ?? null));
  const [group, segment, business] = await Promise.all([name('customerGroups', ids.group), name('segments', ids.segment), name('businessAccounts', ids.business)]);
  return { group, segment, business };
}

/** What the list's filter form offers for groups, segments and business accounts. */
export async function listFilterOptions(db: Db) {
  const [groups, segments, businesses] = await Promise.all([
    db('customerGroups').select('id', 'name', 'kind').orderBy([{ column: 'name' }, { column: 'id' }]).limit(500),
    db('segments').select('id', 'name').orderBy([{ column: 'name' }, { column: 'id' }]).limit(500),
    db('businessAccounts').select('id', 'name').orderBy([{ column: 'name' }, { column: 'id' }]).limit(500),
  ]);
  return { groups, segments, businesses } as { groups: Array<{ id: number; name: string; kind: string }>; segments: Array<{ id: number; name: string }>; businesses: Array<{ id: number; name: string }> };
}
