import type { Knex } from 'knex';
import type { ShopScope } from '../models/staff-user.model.js';
import type { CustomerFilters, CustomerListQuery, CustomerSort } from '../schemas/customer-list.schema.js';
import { unexpired } from './customer-credit.service.js';

/** The list's view of one customer; order figures are for the listed shop, or all shops. */
export interface CustomerListRow {
  id: number;
  email: string;
  firstName: string;
  lastName: string;
  state: string;
  customerType: string;
  city: string | null;
  countryCode: string | null;
  ordersCount: number;
  totalSpent: number;
  lastOrderAt: Date | null;
  lastOrderId: number | null;
  createdAt: Date;
  passwordChangedAt: Date | null;
  businessAccount: string | null;
  tags: string[] | null;
  /** Unexpired store credit, one figure per currency; asked for with the on-demand column. */
  credit?: CreditFigure[];
}

export interface CreditFigure {
  currency: string;
  balance: number;
}

export interface CustomerListPage {
  rows: CustomerListRow[];
  /** Cursors for the neighbouring pages, absent at either end. */
  next?: string;
  previous?: string;
}

/** Where the rows come from: one shop's assignments, or (staff who see every shop) all customers. */
export type ListSource = { kind: 'shop'; shopId: number } | { kind: 'all' };

interface SortKey {
  /** SQL of the key, exactly as in its (key, id) index (e-mail: its unique index). */
  sql: string;
  type: 'text' | 'number' | 'timestamp';
}

// The allow-list of sort keys: the query string names one, never SQL. Figures come from
// customer_shops in a shop and from customers over all shops; each key has a (key, id) index, but
// e-mail, which is unique: its unique index gives the order and the id tiebreak never reorders.
const customerKeys = {
  name: { sql: 'c.sort_name', type: 'text' },
  email: { sql: 'c.email', type: 'text' },
  city: { sql: "coalesce(lower(c.billing_city), '')", type: 'text' },
  country: { sql: "coalesce(c.billing_country, '')", type: 'text' },
  state: { sql: 'c.state', type: 'text' },
  created: { sql: 'c.created_at', type: 'timestamp' },
} satisfies Record<string, SortKey>;
const figureKeys = (alias: 'c' | 'cs') =>
  ({
    orders: { sql: `${alias}.orders_count`, type: 'number' },
    last_order: { sql: `coalesce(${alias}.last_order_at, '-infinity')`, type: 'timestamp' },
    total_spent: { sql: `${alias}.total_spent`, type: 'number' },
  }) satisfies Record<string, SortKey>;
const SORT_KEYS: Record<'shop' | 'all', Record<CustomerSort, SortKey>> = {
  shop: { ...customerKeys, ...figureKeys('cs') },
  all: { ...customerKeys, ...figureKeys('c') },
};

/** Search needs this many characters: shorter terms match too much to be useful. */
export const MIN_SEARCH_LENGTH = 3;

interface Cursor {
  key: string | number;
  id: number;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.key, cursor.id])).toString('base64url');
}

function decodeCursor(value: string | undefined, type: SortKey['type']): Cursor | undefined {
  if (!value) return undefined;
  try {
    const [key, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as [unknown, unknown];
    if (!Number.isSafeInteger(id)) return undefined;
    // Only values PostgreSQL takes as they are: a tampered cursor starts again at the first page.
    if (type === 'number' ? !Number.isSafeInteger(key) : typeof key !== 'string' || key.length > 400 || key.includes('\u0000')) return undefined;
    if (type === 'timestamp' && !/^-?infinity$/.test(key as string) && !isCursorTimestamp(key as string)) return undefined;
    return { key: key as string | number, id: id as number };
  } catch {
    return undefined;
  }
}

/** An ISO instant in UTC, to the microsecond, that exists (no 30 February, no year 0). */
function isCursorTimestamp(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(value)) return false;
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.getUTCFullYear() >= 1 && date.toISOString().slice(0, 19) === value.slice(0, 19);
}

/**
 * The sort key as a cursor keeps it. Timestamps are read as text to the microsecond: a JS Date
 * keeps milliseconds only (the next page would repeat or skip rows of the same millisecond) and
 * cannot hold -infinity (customers without orders).
 */
function cursorKeySql(key: SortKey): string {
  if (key.type !== 'timestamp') return key.sql;
  return `CASE WHEN isfinite(${key.sql}) THEN to_char(${key.sql} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ELSE (${key.sql})::text END`;
}

/**
 * The FROM and WHERE of a list query (shared by the page, the count and exports). Every value is a
 * binding; the sort key and columns come from the allow-lists above.
 */
export function customerListFilter(
  knex: Knex,
  source: ListSource,
  query: Pick<CustomerListQuery, 'q' | 'filters'>,
  salesTeamId: number | null,
  membership?: MembershipAccess,
): Knex.QueryBuilder {
  const builder = knex.queryBuilder().from({ c: 'customers' });
  if (source.kind === 'shop') builder.join({ cs: 'customer_shops' }, (on) => on.on('cs.customer_id', 'c.id').andOnVal('cs.shop_id', source.shopId));
  if (salesTeamId !== null) builder.where('c.sales_team_id', salesTeamId);
  applySearch(builder, query.q);
  applyFilters(knex, builder, source, query.filters);
  if (membership?.ids) builder.whereRaw('c.id = ANY(?::bigint[])', [membership.ids]);
  else applyMembershipFilters(knex, builder, query.filters, membership?.sets);
  return builder;
}

/**
 * How a query meets its membership filters, when it knows better than the planner: the few members
 * by id; a probe per row for a dense segment (paged along a sort index); or one semi-join on the
 * members of every set (every match is read: counts, exports, bulk actions). Otherwise each tag or
 * group is a semi-join and a segment a hashed look-up.
 */
export interface MembershipAccess {
  ids?: number[];
  sets?: 'probe' | 'semi-join';
}

/** At most this many members are looked up by id; more are filtered while the sort index is walked. */
export const FEW_MEMBERS = 1_000;

/**
 * The customers the membership filters (tags, group, segment) allow, when they are at most
 * FEW_MEMBERS; null when there are more, or when the planner can judge the set itself. It cannot
 * estimate sets that combine (two tags together, a tag and a group, a segment's groups): believing
 * them large it walks the sort index, and when they are in fact small it reads most of the table to
 * fill a page. Read first from their own indexes, a small set is then fetched by primary key and
 * sorted. One tag (or any of several) or one group it estimates from its statistics, so that
 * filter skips this look-up and its round trip.
 */
export async function fewMembers(knex: Knex, f: CustomerFilters): Promise<number[] | null> {
  if (f.segment === undefined && tagAndGroupSets(knex, f).length < 2) return null;
  const members = membersOfEverySet(knex, f)!.limit(FEW_MEMBERS + 1);
  // One row with an array: a thousand rows would cost more to receive than to find.
  const [row] = (await knex.queryBuilder().from(members.as('few')).select(knex.raw('array_agg(few.customer_id) AS ids'))) as Array<{ ids: string[] | null }>;
  // A customer may be listed twice (two of the tags): that only makes the set look larger.
  const ids = (row?.ids ?? []).map(Number);
  return ids.length > FEW_MEMBERS ? null : ids;
}

/**
 * The customers in every membership set (tags, group, segment) as one subquery, or null when there
 * is no such filter: read from the first set and tested against the others. A segment beside a tag
 * or group is tested hashed: as a semi-join the planner takes its members for 200 and probes the
 * tag for each (a segment of 20,648 with a tag at 1M: its first 1,000 members 97 → 24 ms).
 */
function membersOfEverySet(knex: Knex, f: CustomerFilters): Knex.QueryBuilder | null {
  const sets = tagAndGroupSets(knex, f);
  if (!sets.length && f.segment === undefined) return null;
  const [driver, ...others] = sets.length ? sets : [segmentMembers(knex, f.segment!)];
  const members = knex.queryBuilder().from(driver!.as('m')).select('m.customer_id');
  for (const other of others) members.whereIn('m.customer_id', other);
  if (sets.length && f.segment !== undefined) members.whereRaw(...inSegment('m.customer_id', f.segment));
  return members;
}

/**
 * One subquery of customer ids per tag or group filter ("all of these tags": one per tag). Each
 * reads its table's primary key or (tag, customer_id) index.
 */
function tagAndGroupSets(knex: Knex, f: CustomerFilters): Knex.QueryBuilder[] {
  const taggedWith = (tags: string[]) => knex('customer_tags as t').select('t.customer_id').whereIn('t.tag', tags);
  const sets: Knex.QueryBuilder[] = [];
  if (f.tag.length) sets.push(...(f.tagMode === 'all' ? f.tag.map((tag) => taggedWith([tag])) : [taggedWith(f.tag)]));
  if (f.group !== undefined) sets.push(knex('customer_group_members as gm').select('gm.customer_id').where('gm.group_id', f.group));
  return sets;
}

/** A segment holding at least this share of all customers is tested row by row, not hashed. */
const DENSE_SEGMENT_SHARE = 0.01;

/**
 * Whether the segment holds at least DENSE_SEGMENT_SHARE of all customers (counted up to that
 * many). Walking the sort index, a page then needs about 26 / share rows: for a dense segment a
 * probe per row is cheaper than hashing every member first; for a sparse one the walk is long and
 * the hash wins.
 */
export async function isDenseSegment(knex: Knex, segmentId: number): Promise<boolean> {
  const members = segmentMembers(knex, segmentId).toSQL();
  const [row] = (
    await knex.raw(
      `WITH share AS (SELECT greatest(ceil(reltuples * ?), 1)::bigint AS members FROM pg_class WHERE oid = 'customers'::regclass)
       SELECT count(*) >= (SELECT members FROM share) AS dense FROM (${members.sql} LIMIT (SELECT members FROM share)) m`,
      [DENSE_SEGMENT_SHARE, ...members.bindings] as Knex.RawBinding[],
    )
  ).rows as Array<{ dense: boolean }>;
  return Boolean(row?.dense);
}

/**
 * A segment's group ids, read once per query (an InitPlan) instead of joined wherever its members
 * are looked up: a probe per customer then costs one index look-up, not a join (the first page of
 * the bench segment, a probe per row, 6.4 → 3.8 ms at 1M).
 */
const SEGMENT_GROUP_IDS = 'ANY(ARRAY(SELECT group_id FROM segment_groups WHERE segment_id = ?))';

/** A segment's customers: its own and those of its groups (a customer may be listed twice). */
function segmentMembers(knex: Knex, segmentId: number): Knex.QueryBuilder {
  return knex('segment_customers as sc')
    .select('sc.customer_id')
    .where('sc.segment_id', segmentId)
    .unionAll((union) => union.from('customer_group_members as sm').whereRaw(`sm.group_id = ${SEGMENT_GROUP_IDS}`, [segmentId]).select('sm.customer_id'));
}

function applyMembershipFilters(knex: Knex, builder: Knex.QueryBuilder, f: CustomerFilters, access: MembershipAccess['sets']): void {
  if (f.segment !== undefined && access === 'semi-join') {
    // Every match is wanted: start from the members of every set rather than test every customer
    // (a segment with a tag at 1M, counted: 93–212 → 40–53 ms).
    builder.whereIn('c.id', membersOfEverySet(knex, f)!);
    return;
  }
  // A semi-join per set: "all of these tags" is one per tag, not a grouping of every tagged row.
  // (Nested in one subquery, a tag and a group of 143k were merged along every customer's id.)
  for (const set of tagAndGroupSets(knex, f)) builder.whereIn('c.id', set);
  if (f.segment === undefined) return;
  if (access === 'probe') {
    // Each customer the walk reaches is looked up in the segment (two index probes, stopping at the
    // first hit): the first page of a segment of 143,000 takes about 7 ms instead of the 48 ms it
    // takes to hash every member first. LATERAL with LIMIT keeps the planner from hashing.
    builder.joinRaw(
      `CROSS JOIN LATERAL (SELECT 1 FROM (SELECT 1 FROM segment_customers sc WHERE sc.segment_id = ? AND sc.customer_id = c.id
                                         UNION ALL
                                         SELECT 1 FROM customer_group_members sm WHERE sm.group_id = ${SEGMENT_GROUP_IDS} AND sm.customer_id = c.id) hit LIMIT 1) in_segment`,
      [f.segment, f.segment],
    );
    return;
  }
  builder.whereRaw(...inSegment('c.id', f.segment));
}

/**
 * Whether the customer id is in the segment, as two EXISTS rather than IN (segment members): the
 * planner misjudges the size of the union and then reads every customer; each EXISTS becomes one
 * hashed look-up while the rows are read.
 */
function inSegment(idColumn: 'c.id' | 'm.customer_id', segmentId: number): [string, number[]] {
  return [
    `(EXISTS (SELECT 1 FROM segment_customers sc WHERE sc.segment_id = ? AND sc.customer_id = ${idColumn})
      OR EXISTS (SELECT 1 FROM customer_group_members sm WHERE sm.group_id = ${SEGMENT_GROUP_IDS} AND sm.customer_id = ${idColumn}))`,
    [segmentId, segmentId],
  ];
}

function applySearch(builder: Knex.QueryBuilder, q: string): void {
  const term = q.trim().toLowerCase();
  if (term.length < MIN_SEARCH_LENGTH) return;
  const pattern = `%${term.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  // Fragments of e-mail, names, company or phone; and, for what could be a name, names spelled
  // slightly differently. E-mail addresses, numbers and phone numbers are matched exactly: a
  // similarity search for them finds noise and costs a second index scan.
  if (!looksLikeName(term)) {
    builder.whereRaw('c.search_text LIKE ?', [pattern]);
    return;
  }
  builder.where((w) => w.whereRaw('c.search_text LIKE ?', [pattern]).orWhereRaw("? <% (c.first_name || ' ' || c.last_name)", [term]));
}

function looksLikeName(term: string): boolean {
  return /^[\p{L}\p{M}' .-]+$/u.test(term);
}

function applyFilters(knex: Knex, builder: Knex.QueryBuilder, source: ListSource, f: CustomerFilters): void {
  const figures = source.kind === 'shop' ? 'cs' : 'c';
  if (f.state.length) builder.whereIn('c.state', f.state);
  if (f.type.length) builder.whereIn('c.customer_type', f.type);
  if (f.status.length && source.kind === 'shop') builder.whereIn('cs.status', f.status);
  if (f.country.length) builder.whereIn('c.billing_country', f.country);
  if (f.createdFrom) builder.where('c.created_at', '>=', f.createdFrom);
  if (f.createdTo) builder.whereRaw("c.created_at < ?::date + 1", [f.createdTo]);
  if (f.ordersMin !== undefined) builder.where(`${figures}.orders_count`, '>=', f.ordersMin);
  if (f.ordersMax !== undefined) builder.where(`${figures}.orders_count`, '<=', f.ordersMax);
  if (f.spentMin !== undefined) builder.where(`${figures}.total_spent`, '>=', f.spentMin);
  if (f.spentMax !== undefined) builder.where(`${figures}.total_spent`, '<=', f.spentMax);
  if (f.lastOrderFrom) builder.where(`${figures}.last_order_at`, '>=', f.lastOrderFrom);
  if (f.lastOrderTo) builder.whereRaw(`${figures}.last_order_at < ?::date + 1`, [f.lastOrderTo]);
  if (f.passwordChangedBefore) builder.where('c.password_changed_at', '<', f.passwordChangedBefore);
  if (f.taxExempt !== undefined) builder.where('c.tax_exempt', f.taxExempt);
  if (f.wholesale !== undefined) builder.where('c.wholesale', f.wholesale);
  if (f.marketing !== undefined) builder.where('c.marketing_opt_in', f.marketing);
  if (f.business !== undefined) builder.where('c.business_account_id', f.business);
}

/**
 * One page of the admin customer list by keyset ("seek") paging: the page after (or before) a
 * cursor of (sort key, id), read from the key's index. No OFFSET and no COUNT: a deep page costs
 * what the first one does.
 */
export async function listCustomers(
  knex: Knex,
  source: ListSource,
  query: CustomerListQuery,
  salesTeamId: number | null,
  options: { withTags?: boolean; withCredit?: boolean } = {},
): Promise<CustomerListPage> {
  const key = SORT_KEYS[source.kind][query.sort];
  const figures = source.kind === 'shop' ? 'cs' : 'c';
  const backwards = Boolean(query.before) && !query.after;
  const cursor = decodeCursor(backwards ? query.before : query.after, key.type);
  const ascending = (query.dir === 'asc') !== backwards;
  const idColumn = source.kind === 'shop' ? 'cs.customer_id' : 'c.id';

  const membership = await membershipAccess(knex, query.filters);
  const builder = customerListFilter(knex, source, query, salesTeamId, membership)
    .leftJoin({ b: 'business_accounts' }, 'b.id', 'c.business_account_id')
    .select(
      'c.id', 'c.email', 'c.first_name', 'c.last_name', 'c.state', 'c.customer_type', 'c.created_at', 'c.password_changed_at', 'c.erased_at',
      { city: 'c.billing_city', country_code: 'c.billing_country', business_account: 'b.name' },
      `${figures}.orders_count`, `${figures}.total_spent`, `${figures}.last_order_at`, `${figures}.last_order_id`,
      knex.raw(`${cursorKeySql(key)} AS sort_key`),
    )
    .orderByRaw(`${key.sql} ${ascending ? 'ASC' : 'DESC'}, ${idColumn} ${ascending ? 'ASC' : 'DESC'}`)
    .limit(query.size + 1);
  if (cursor) builder.whereRaw(`(${key.sql}, ${idColumn}) ${ascending ? '>' : '<'} (${castFor(key.type)}, ?)`, [cursor.key, cursor.id]);

  const fetched = (await (walksSets(query.filters, membership) ? withoutParallelWorkers(knex, (trx) => builder.transacting(trx)) : builder)) as Array<
    CustomerListRow & { sortKey: string | number | Date }
  >;
  const hasMore = fetched.length > query.size;
  const rows = fetched.slice(0, query.size);
  if (backwards) rows.reverse();
  await Promise.all([options.withTags ? attachTags(knex, rows) : undefined, options.withCredit ? attachCredit(knex, source, rows) : undefined]);

  const cursorOf = (row: (typeof fetched)[number]) => encodeCursor({ key: cursorValue(row.sortKey), id: row.id });
  const firstRow = rows[0];
  const lastRow = rows[rows.length - 1];
  return {
    rows,
    next: lastRow && (backwards ? Boolean(cursor) : hasMore) ? cursorOf(lastRow) : undefined,
    previous: firstRow && (backwards ? hasMore : Boolean(cursor)) ? cursorOf(firstRow) : undefined,
  };
}

/**
 * Whether the page is found by walking the sort index while testing several member sets (two tags
 * together, a tag and a group): only then does the planner, costing the walk as if it read every
 * row, start parallel workers for a 26-row page. Starting them costs more than it saves on this
 * kind of machine (two tags at 1M: 46–55 ms with workers, 28–37 ms without).
 */
function walksSets(f: CustomerFilters, membership: MembershipAccess | undefined): boolean {
  const sets = (f.tagMode === 'all' ? f.tag.length : Math.min(f.tag.length, 1)) + (f.group !== undefined ? 1 : 0) + (f.segment !== undefined ? 1 : 0);
  return !membership?.ids && sets > 1;
}

async function withoutParallelWorkers<T>(knex: Knex, run: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return knex.transaction(async (trx) => {
    await trx.raw('SET LOCAL max_parallel_workers_per_gather = 0');
    return run(trx);
  });
}

async function membershipAccess(knex: Knex, f: CustomerFilters): Promise<MembershipAccess | undefined> {
  // With a tag or a group as well, the walk is long and each row it reads is probed for those: the
  // segment, hashed, is then the cheaper first test (a segment of 20,648 with a tag at 1M: a
  // hashed look-up 30 ms, a probe per row 98 ms).
  const probeable = f.segment !== undefined && f.tag.length === 0 && f.group === undefined;
  // Asked at once, each on its own pooled connection: the density is only needed when the members are many.
  const [ids, dense] = await Promise.all([fewMembers(knex, f), probeable ? isDenseSegment(knex, f.segment!) : false]);
  if (ids) return { ids };
  return dense ? { sets: 'probe' } : undefined;
}

/**
 * Tags for the rows of one page, in one query. (As a subquery in the list's SELECT it would run for
 * every row a sort step reads, not only for the page.)
 */
async function attachTags(knex: Knex, rows: CustomerListRow[]): Promise<void> {
  if (!rows.length) return;
  const tagged = (await knex('customerTags')
    .whereIn('customerId', rows.map((row) => row.id))
    .groupBy('customerId')
    .select('customerId', knex.raw('array_agg(tag::text ORDER BY tag) AS tags'))) as Array<{ customerId: number; tags: string[] }>;
  const byCustomer = new Map(tagged.map((row) => [row.customerId, row.tags]));
  for (const row of rows) row.tags = byCustomer.get(row.id) ?? null;
}

/**
 * Store credit for the rows of one page: in the listed shop, or over all shops (whose currencies
 * may differ, hence one figure per currency). Expired grants no longer count (F-DASH credit).
 */
async function attachCredit(knex: Knex, source: ListSource, rows: CustomerListRow[]): Promise<void> {
  for (const row of rows) row.credit = [];
  if (!rows.length) return;
  const query = unexpired(knex, knex('creditEntries as e').join('creditAccounts as a', (on) => on.on('a.customerId', 'e.customerId').andOn('a.shopId', 'e.shopId')))
    .whereIn('e.customerId', rows.map((row) => row.id))
    .groupBy('e.customerId', 'a.currency')
    .orderBy('a.currency')
    .select('e.customerId', 'a.currency', knex.raw('sum(e.amount)::bigint AS balance'));
  if (source.kind === 'shop') query.where('e.shopId', source.shopId);
  const byCustomer = new Map(rows.map((row) => [row.id, row]));
  for (const figure of (await query) as Array<{ customerId: number; currency: string; balance: string | number }>) {
    byCustomer.get(Number(figure.customerId))?.credit?.push({ currency: figure.currency, balance: Number(figure.balance) });
  }
}

function castFor(type: SortKey['type']): string {
  return type === 'timestamp' ? '?::timestamptz' : type === 'number' ? '?::bigint' : '?';
}

function cursorValue(value: string | number | Date): string | number {
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.toISOString() : '-infinity';
  return value;
}

/** Counts exactly up to this many matches; above it, the planner's estimate is shown instead. */
export const EXACT_COUNT_LIMIT = 10_000;

export interface CustomerCount {
  value: number;
  exact: boolean;
}

/**
 * How many customers match: an estimate when it is large (an exact count over a big shop would read
 * every row on every request), an exact count capped at EXACT_COUNT_LIMIT otherwise.
 */
export async function countCustomers(knex: Knex, source: ListSource, query: Pick<CustomerListQuery, 'q' | 'filters'>, salesTeamId: number | null): Promise<CustomerCount> {
  const estimate = await estimateCustomers(knex, source, query, salesTeamId);
  if (estimate > EXACT_COUNT_LIMIT * 2) return { value: estimate, exact: false };
  const { sql, bindings } = customerListFilter(knex, source, query, salesTeamId, { sets: 'semi-join' }).select(knex.raw('1')).toSQL();
  const counted = await knex.raw(`SELECT count(*)::int AS n FROM (${sql} LIMIT ${EXACT_COUNT_LIMIT + 1}) s`, bindings as Knex.RawBinding[]);
  const n = counted.rows[0].n as number;
  return n > EXACT_COUNT_LIMIT ? { value: Math.max(n, estimate), exact: false } : { value: n, exact: true };
}

/**
 * The planner's estimate of the matches. Tags, groups and segments are estimated apart, each from
 * its own table's statistics, and applied as shares of all customers: over the whole query the
 * planner guesses a segment (three quarters of all customers, whatever the segment).
 */
export async function estimateCustomers(knex: Knex, source: ListSource, query: Pick<CustomerListQuery, 'q' | 'filters'>, salesTeamId: number | null): Promise<number> {
  const f = query.filters;
  const others = { q: query.q, filters: { ...f, tag: [], group: undefined, segment: undefined } };
  const matches = plannedRows(knex, customerListFilter(knex, source, others, salesTeamId).select(knex.raw('1')));
  const sets = [...tagAndGroupSets(knex, f).map((set) => plannedRows(knex, set)), ...(f.segment !== undefined ? [segmentSize(knex, f.segment)] : [])];
  if (!sets.length) return Math.round(await matches);
  // Each estimate is its own EXPLAIN on its own pooled connection: asked at once, not one after another.
  const [estimate, customers, ...sizes] = await Promise.all([matches, plannedRows(knex, knex('customers').select(knex.raw('1'))), ...sets]);
  return Math.round(sizes.reduce((product, size) => product * Math.min(1, size / Math.max(1, customers)), estimate));
}

/** A segment's customers as estimated: its own, and its groups' (by id, so each group's statistics count). */
async function segmentSize(knex: Knex, segmentId: number): Promise<number> {
  const [groupIds, own] = await Promise.all([
    knex('segmentGroups').where({ segmentId }).select('groupId').then((rows: Array<{ groupId: number }>) => rows.map((row) => row.groupId)),
    plannedRows(knex, knex('segmentCustomers').where({ segmentId }).select(knex.raw('1'))),
  ]);
  return own + (groupIds.length ? await plannedRows(knex, knex('customerGroupMembers').whereIn('groupId', groupIds).select(knex.raw('1'))) : 0);
}

/** The rows the planner expects a query to return (EXPLAIN, nothing run). */
async function plannedRows(knex: Knex, builder: Knex.QueryBuilder): Promise<number> {
  const { sql, bindings } = builder.toSQL();
  const plan = await knex.raw(`EXPLAIN (FORMAT JSON) ${sql}`, bindings as Knex.RawBinding[]);
  const [explained] = Object.values(plan.rows[0] as Record<string, Array<{ Plan: { 'Plan Rows': number } }>>);
  return Number(explained?.[0]?.Plan['Plan Rows'] ?? 0);
}

/** Which source a request lists: the chosen shop if the staff member may see it, else their first shop. */
export function resolveListSource(scope: ShopScope, shops: Array<{ id: number }>, requested: number | 'all' | undefined): ListSource | null {
  if (requested === 'all' && scope === 'all') return { kind: 'all' };
  if (typeof requested === 'number' && shops.some((s) => s.id === requested)) return { kind: 'shop', shopId: requested };
  if (scope === 'all' && requested === undefined) return { kind: 'all' };
  const first = shops[0];
  return first ? { kind: 'shop', shopId: first.id } : null;
}
