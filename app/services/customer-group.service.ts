import type { Knex } from 'knex';
import { refreshListStatistics } from '../db/list-statistics.js';
import { andList } from '../lib/and-list.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../lib/errors.js';
import { emailKeyOf } from '../models/customer.model.js';
import { looksLikeEmail, MAX_BATCH_EMAILS, readRule, ruleHasConditions, ruleOfForm, splitEmails, type GroupForm, type GroupRule } from '../schemas/customer-group.schema.js';
import { recordAudit } from './audit.service.js';
import { spentFilterApplies } from './customer-list-filter.js';
import { shopCurrencies } from './shop.service.js';
import type { StaffPrincipal } from './staff.service.js';

// Customer groups (F-GRP-2) and batch connect (F-GRP-6). A group is platform-wide; what a staff
// member sees of its members is limited to customers in their shops (and, for a sales rep in a
// team, that team's customers): members outside are counted, never listed, never touched.
// Dynamic groups are recomputed by the `groups` queue (group-rule.service.ts).

type Db = Knex | Knex.Transaction;

export interface GroupRecord {
  id: number;
  name: string;
  description: string;
  kind: 'static' | 'dynamic';
  rule: GroupRule | null;
  taxExempt: boolean;
  discountPercent: number;
  recomputedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export const GROUP_NOT_FOUND = 'We could not find that group.';
export const DUPLICATE_GROUP = 'Another group already has this name.';

/** Owners and managers manage groups and segments; sales reps and support only look. */
export function mayManageGroups(staff: StaffPrincipal): boolean {
  return staff.role === 'owner' || staff.role === 'manager';
}

export function assertMayManageGroups(staff: StaffPrincipal): void {
  if (!mayManageGroups(staff)) throw new ForbiddenError('Only owners and managers may change groups and segments.');
}

/**
 * The staff member's scope as a condition on a customers row aliased `alias`: an assignment in one
 * of their shops, and their team's customers for a sales rep in a team.
 */
export function customerScopeSql(staff: Pick<StaffPrincipal, 'scope' | 'salesTeamId'>, alias = 'c'): { sql: string; bindings: Knex.RawBinding[] } {
  const parts: string[] = [];
  const bindings: Knex.RawBinding[] = [];
  if (staff.scope !== 'all') {
    parts.push(`EXISTS (SELECT 1 FROM customer_shops x WHERE x.customer_id = ${alias}.id AND x.shop_id = ANY(?::bigint[]))`);
    bindings.push(staff.scope);
  }
  if (staff.salesTeamId !== null) {
    parts.push(`${alias}.sales_team_id = ?`);
    bindings.push(staff.salesTeamId);
  }
  return { sql: parts.length ? parts.join(' AND ') : 'true', bindings };
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

function toRecord(row: Record<string, unknown>): GroupRecord {
  return { ...(row as unknown as GroupRecord), rule: row.kind === 'dynamic' ? readRule(row.rule) : null, discountPercent: Number(row.discountPercent ?? 0) };
}

export async function findGroup(db: Db, groupId: number, options: { lock?: boolean } = {}): Promise<GroupRecord> {
  if (!Number.isSafeInteger(groupId) || groupId <= 0) throw new NotFoundError(GROUP_NOT_FOUND);
  const query = db('customerGroups').where({ id: groupId }).first();
  if (options.lock) query.forUpdate();
  const row = await query;
  if (!row) throw new NotFoundError(GROUP_NOT_FOUND);
  return toRecord(row);
}

export interface GroupSummary {
  id: number;
  name: string;
  description: string;
  kind: 'static' | 'dynamic';
  taxExempt: boolean;
  discountPercent: number;
  membersCount: number;
  recomputedAt: Date | null;
}

/** Every group with its number of members (all of them: a group is platform-wide), by name. */
export async function listGroups(db: Db): Promise<GroupSummary[]> {
  const rows = await db('customerGroups as g')
    .select('g.id', 'g.name', 'g.description', 'g.kind', 'g.taxExempt', 'g.discountPercent', 'g.recomputedAt', db.raw('(SELECT count(*) FROM customer_group_members m WHERE m.group_id = g.id)::int AS members_count'))
    .orderBy([{ column: 'g.name' }, { column: 'g.id' }]);
  return (rows as GroupSummary[]).map((r) => ({ ...r, discountPercent: Number(r.discountPercent) }));
}

/** Groups for a select (list filter, bulk action, dashboard), optionally only static ones. */
export async function groupOptions(db: Db, options: { staticOnly?: boolean } = {}): Promise<Array<{ id: number; name: string; kind: 'static' | 'dynamic'; taxExempt: boolean }>> {
  const query = db('customerGroups').select('id', 'name', 'kind', 'taxExempt').orderBy([{ column: 'name' }, { column: 'id' }]).limit(1000);
  if (options.staticOnly) query.where('kind', 'static');
  return query;
}

async function groupValues(db: Db, form: GroupForm) {
  const rule = ruleOfForm(form);
  if (rule && !ruleHasConditions(rule)) throw new ValidationError({ rule_tags: 'Give the rule at least one condition (tags, orders, spent, country, type or created date).' });
  if (rule) settleSpentCurrency(rule, await shopCurrencies(db));
  return { name: form.name, description: form.description, taxExempt: form.taxExempt, discountPercent: form.discountPercent, rule };
}

/**
 * A spent condition is in the shops' currency; where they sell in several, in the one chosen with
 * it (a sum of all of them would be no amount), as the customer list filters.
 */
function settleSpentCurrency(rule: GroupRule, currencies: string[]): void {
  const spent = rule.spentMin !== undefined || rule.spentMax !== undefined;
  const chosen = rule.spentCurrency;
  if (spent && !spentFilterApplies(chosen, currencies)) {
    const why = chosen === undefined ? ': choose the currency of the amounts.' : `, not in ${chosen}.`;
    throw new ValidationError({ rule_spent_currency: `Your shops sell in ${andList(currencies)}${why}` });
  }
  // In the one currency of all shops the platform's own total is that amount, and indexed.
  if (currencies.length <= 1) delete rule.spentCurrency;
}

/** Creates a group; a dynamic one still needs its members computed (the caller enqueues that after commit). */
export async function createGroup(knex: Knex, staff: StaffPrincipal, form: GroupForm, requestId?: string): Promise<GroupRecord> {
  assertMayManageGroups(staff);
  const values = await groupValues(knex, form);
  try {
    return await knex.transaction(async (trx) => {
      const [row] = await trx('customerGroups')
        .insert({ ...values, kind: form.kind, rule: values.rule ? JSON.stringify(values.rule) : null })
        .returning('*');
      await recordAudit(trx, { actorType: 'staff', actorId: staff.id, shopId: null, customerId: null, action: 'group.created', changes: { groupId: row.id, name: row.name, kind: row.kind }, requestId });
      return toRecord(row);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ValidationError({ name: DUPLICATE_GROUP });
    throw error;
  }
}

/** Saves a group's name, description, flags and (dynamic groups) rule. The kind stays as created. */
export async function updateGroup(knex: Knex, staff: StaffPrincipal, groupId: number, form: GroupForm, requestId?: string): Promise<{ group: GroupRecord; ruleChanged: boolean }> {
  assertMayManageGroups(staff);
  try {
    return await knex.transaction(async (trx) => {
      const before = await findGroup(trx, groupId, { lock: true });
      const values = await groupValues(trx, { ...form, kind: before.kind });
      const [row] = await trx('customerGroups')
        .where({ id: groupId })
        .update({ ...values, rule: values.rule ? JSON.stringify(values.rule) : null, updatedAt: trx.fn.now() })
        .returning('*');
      const after = toRecord(row);
      const ruleChanged = JSON.stringify(before.rule) !== JSON.stringify(after.rule);
      await recordAudit(trx, {
        actorType: 'staff',
        actorId: staff.id,
        shopId: null,
        customerId: null,
        action: 'group.updated',
        changes: { groupId, from: { name: before.name, taxExempt: before.taxExempt, discountPercent: before.discountPercent, rule: before.rule }, to: { name: after.name, taxExempt: after.taxExempt, discountPercent: after.discountPercent, rule: after.rule } },
        requestId,
      });
      return { group: after, ruleChanged };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ValidationError({ name: DUPLICATE_GROUP });
    throw error;
  }
}

export async function deleteGroup(knex: Knex, staff: StaffPrincipal, groupId: number, requestId?: string): Promise<string> {
  assertMayManageGroups(staff);
  const { name, members } = await knex.transaction(async (trx) => {
    const group = await findGroup(trx, groupId, { lock: true });
    const members = await countGroupMembers(trx, groupId);
    await trx('customerGroups').where({ id: groupId }).delete();
    await recordAudit(trx, { actorType: 'staff', actorId: staff.id, shopId: null, customerId: null, action: 'group.deleted', changes: { groupId, name: group.name, kind: group.kind, members }, requestId });
    return { name: group.name, members };
  });
  await refreshListStatistics(knex, members, ['customer_group_members', 'segment_members']);
  return name;
}

export async function countGroupMembers(db: Db, groupId: number): Promise<number> {
  const row = (await db('customerGroupMembers').where({ groupId }).count({ n: '*' }).first()) as { n: string | number };
  return Number(row.n);
}

export interface MemberRow {
  id: number;
  email: string;
  firstName: string;
  lastName: string;
  state: string;
  source: 'manual' | 'rule';
  addedAt: Date;
}

export const MEMBERS_PAGE_SIZE = 50;

/**
 * One page of a group's members that the staff member may see, by customer id after `after`
 * (keyset on the primary key (group_id, customer_id): a deep page costs what the first does).
 */
export async function membersPage(db: Db, staff: StaffPrincipal, groupId: number, after = 0): Promise<{ rows: MemberRow[]; next: number | null }> {
  const scope = customerScopeSql(staff);
  const rows = (await db('customerGroupMembers as m')
    .join('customers as c', 'c.id', 'm.customerId')
    .where('m.groupId', groupId)
    .andWhere('m.customerId', '>', after)
    .whereRaw(scope.sql, scope.bindings)
    .orderBy('m.customerId')
    .limit(MEMBERS_PAGE_SIZE + 1)
    .select('c.id', 'c.email', 'c.firstName', 'c.lastName', 'c.state', 'm.source', 'm.createdAt as addedAt')) as MemberRow[];
  const page = rows.slice(0, MEMBERS_PAGE_SIZE);
  return { rows: page, next: rows.length > MEMBERS_PAGE_SIZE ? page[page.length - 1]!.id : null };
}

/** How many members a group has, and how many of them the staff member may see. */
export async function memberCounts(db: Db, staff: StaffPrincipal, groupId: number): Promise<{ total: number; visible: number }> {
  const total = await countGroupMembers(db, groupId);
  if (staff.scope === 'all' && staff.salesTeamId === null) return { total, visible: total };
  const scope = customerScopeSql(staff);
  const row = (await db('customerGroupMembers as m').join('customers as c', 'c.id', 'm.customerId').where('m.groupId', groupId).whereRaw(scope.sql, scope.bindings).count({ n: '*' }).first()) as { n: string | number };
  return { total, visible: Number(row.n) };
}

export interface BatchReport {
  /** Addresses read from the text (unique, readable). */
  read: number;
  added: number;
  alreadyMembers: number;
  /** Readable addresses of no customer the staff member may see. */
  notFound: string[];
  /** Pieces of the text that are not e-mail addresses. */
  unreadable: string[];
}

/** Splits pasted text into unique readable addresses and the pieces that are not addresses. */
function readEmailList(text: string): { emails: string[]; unreadable: string[] } {
  const pieces = splitEmails(text);
  const unreadable = [...new Set(pieces.filter((p) => !looksLikeEmail(p)))];
  const emails = [...new Set(pieces.filter(looksLikeEmail).map((p) => p.toLowerCase()))];
  if (!emails.length && !unreadable.length) throw new ValidationError({ emails: 'Paste at least one e-mail address.' });
  if (emails.length > MAX_BATCH_EMAILS) throw new ValidationError({ emails: `Paste at most ${MAX_BATCH_EMAILS.toLocaleString('en-GB')} addresses at a time (this list has ${emails.length.toLocaleString('en-GB')}).` });
  return { emails, unreadable };
}

/** Where a batch of customers found by e-mail is connected: a static group or a segment. */
export type ConnectTarget = { kind: 'group'; id: number; name: string } | { kind: 'segment'; id: number; name: string };

/**
 * Connects the customers with these e-mail addresses (that the staff member may see) to a group or
 * segment in one set-based statement, with a timeline entry per customer added; reports what was
 * added, what was already there and which addresses found no one (another shop's customers are
 * "not found": their existence is not revealed; nor is an erased customer's placeholder address,
 * F-CUST-9).
 */
async function connectByEmail(trx: Knex.Transaction, staff: StaffPrincipal, target: ConnectTarget, emails: string[], via: string, requestId?: string): Promise<{ added: number; found: string[] }> {
  const scope = customerScopeSql(staff);
  const insert =
    target.kind === 'group'
      ? `INSERT INTO customer_group_members (group_id, customer_id, source, added_by) SELECT ?, id, 'manual', ? FROM found ON CONFLICT DO NOTHING RETURNING customer_id`
      : `INSERT INTO segment_customers (segment_id, customer_id, added_by) SELECT ?, id, ? FROM found ON CONFLICT DO NOTHING RETURNING customer_id`;
  const result = await trx.raw(
    `WITH wanted AS (SELECT DISTINCT lower(unnest(?::text[])) AS email),
          found AS (SELECT c.id, lower(c.email::text) AS email FROM customers c JOIN wanted w ON ${emailKeyOf('c.email')} = w.email WHERE c.erased_at IS NULL AND ${scope.sql}),
          added AS (${insert}),
          audit AS (INSERT INTO audit_log (actor_type, actor_id, customer_id, action, changes, request_id)
                    SELECT 'staff', ?, customer_id, ?, jsonb_build_object(?::text, ?::text, ?::text, ?::bigint, 'via', ?::text), ? FROM added RETURNING 1)
     SELECT (SELECT count(*) FROM added)::int AS added, (SELECT count(*) FROM audit)::int AS audited,
            (SELECT coalesce(json_agg(email), '[]'::json) FROM found) AS found`,
    [
      emails,
      ...scope.bindings,
      target.id,
      staff.id,
      staff.id,
      `${target.kind}.member_added`,
      target.kind,
      target.name,
      `${target.kind}Id`,
      target.id,
      via,
      requestId ?? null,
    ],
  );
  const row = result.rows[0] as { added: number; found: string[] };
  return { added: row.added, found: row.found };
}

/** F-GRP-6: pasted e-mail addresses → members of a static group, with a report. */
export async function batchConnect(knex: Knex, staff: StaffPrincipal, groupId: number, text: string, requestId?: string): Promise<BatchReport> {
  assertMayManageGroups(staff);
  return connectEmailBatch(knex, staff, text, 'batch connect', requestId, async (trx) => {
    const group = await findGroup(trx, groupId);
    if (group.kind !== 'static') throw new ConflictError('The members of a dynamic group come from its rule: change the rule instead.');
    return { kind: 'group', id: group.id, name: group.name };
  });
}

/**
 * Pasted e-mail addresses → members of the group or segment `target` finds (and may refuse) in the
 * same transaction, with the report; a large batch then refreshes the list's statistics.
 */
export async function connectEmailBatch(
  knex: Knex,
  staff: StaffPrincipal,
  text: string,
  via: string,
  requestId: string | undefined,
  target: (trx: Knex.Transaction) => Promise<ConnectTarget>,
): Promise<BatchReport> {
  const { emails, unreadable } = readEmailList(text);
  const { kind, report } = await knex.transaction(async (trx) => {
    const connectTo = await target(trx);
    const { added, found } = emails.length ? await connectByEmail(trx, staff, connectTo, emails, via, requestId) : { added: 0, found: [] };
    const foundSet = new Set(found);
    const report: BatchReport = { read: emails.length, added, alreadyMembers: found.length - added, notFound: emails.filter((e) => !foundSet.has(e)), unreadable };
    return { kind: connectTo.kind, report };
  });
  await refreshListStatistics(knex, report.added, kind === 'group' ? ['customer_group_members', 'segment_members'] : ['segment_members']);
  return report;
}

/** Takes one customer (that the staff member may see) out of a static group. */
export async function removeMember(knex: Knex, staff: StaffPrincipal, groupId: number, customerId: number, requestId?: string): Promise<void> {
  assertMayManageGroups(staff);
  await knex.transaction(async (trx) => {
    const group = await findGroup(trx, groupId);
    if (group.kind !== 'static') throw new ConflictError('The members of a dynamic group come from its rule: change the rule instead.');
    const scope = customerScopeSql(staff);
    const visible = await trx('customers as c').where('c.id', customerId).whereRaw(scope.sql, scope.bindings).first('c.id');
    if (!visible) throw new NotFoundError('We could not find that member.');
    const removed = await trx('customerGroupMembers').where({ groupId, customerId }).delete();
    if (!removed) throw new NotFoundError('We could not find that member.');
    await recordAudit(trx, { actorType: 'staff', actorId: staff.id, shopId: null, customerId, action: 'group.member_removed', changes: { group: group.name, groupId, via: 'group page' }, requestId });
  });
}

/** Names of the tax-exempt ("availability") groups a customer belongs to (F-CUST-5). */
export async function taxExemptGroupNames(db: Db, customerId: number): Promise<string[]> {
  const rows = (await db('customerGroupMembers as m')
    .join('customerGroups as g', 'g.id', 'm.groupId')
    .where({ 'm.customerId': customerId, 'g.taxExempt': true })
    .orderBy('g.name')
    .select('g.name')) as Array<{ name: string }>;
  return rows.map((r) => r.name);
}
