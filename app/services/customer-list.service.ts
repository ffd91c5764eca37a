import type { Knex } from 'knex';
import { plannedRows } from '../db/list-statistics.js';
import { cancelRunningQuery, type PooledConnection, withPooledConnection } from '../db/pooled-connection.js';
import { runPreparedWhenConstant } from '../db/prepared-query.js';
import { emailKeyOf } from '../models/customer.model.js';
import type { ShopScope } from '../models/staff-user.model.js';
import type { CustomerFilters, CustomerListQuery, CustomerSort } from '../schemas/customer-list.schema.js';
import { unexpired } from './customer-credit.service.js';
import { commonTrigrams, indexedPart } from './search-trigrams.js';

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
  /** Orders and total spent per currency, for all shops of a merchant who sells in several (see attachSpentByCurrency). */
  spent?: SpentFigure[];
}

export interface SpentFigure {
  currency: string;
  ordersCount: number;
  totalSpent: number;
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
  /** SQL of the key's parts, exactly as in its (parts, id) index (e-mail: its unique index). */
  parts: string[];
  type: 'text' | 'number' | 'timestamp';
  /** The first part starts with searched text (a surname, an e-mail address), lowercased. */
  startsWithSearchedText?: true;
  /**
   * The table whose (parts, id) index holds the key's columns as they are (no expression), so that
   * a walk of it reads the index alone (see pageQueries' ofIds).
   */
  indexOnly?: 'customers' | 'customer_shops';
}

// The allow-list of sort keys: the query string names one, never SQL. Figures come from
// customer_shops in a shop and from customers over all shops; each key has a (parts, id) index,
// but e-mail, which is unique: its unique index gives the order and the id tiebreak never
// reorders. A country's customers are in city order: its index serves a country filter sorted by
// city too (migration 29), and one index fewer is written on every customer insert.
const customerKeys = {
  name: { parts: ['c.sort_name'], type: 'text', startsWithSearchedText: true, indexOnly: 'customers' },
  email: { parts: [emailKeyOf('c.email')], type: 'text', startsWithSearchedText: true },
  city: { parts: ["coalesce(lower(c.billing_city), '')"], type: 'text' },
  country: { parts: ["coalesce(c.billing_country, '')", "coalesce(lower(c.billing_city), '')"], type: 'text' },
  state: { parts: ['c.state'], type: 'text', indexOnly: 'customers' },
  created: { parts: ['c.created_at'], type: 'timestamp', indexOnly: 'customers' },
} satisfies Record<string, SortKey>;
const figureKeys = (alias: 'c' | 'cs') => {
  const indexOnly = alias === 'c' ? 'customers' : 'customer_shops';
  return {
    orders: { parts: [`${alias}.orders_count`], type: 'number', indexOnly },
    last_order: { parts: [`coalesce(${alias}.last_order_at, '-infinity')`], type: 'timestamp' },
    total_spent: { parts: [`${alias}.total_spent`], type: 'number', indexOnly },
  } satisfies Record<string, SortKey>;
};
const SORT_KEYS: Record<'shop' | 'all', Record<CustomerSort, SortKey>> = {
  shop: { ...customerKeys, ...figureKeys('cs') },
  all: { ...customerKeys, ...figureKeys('c') },
};

/** Search needs this many characters: shorter terms match too much to be useful. */
export const MIN_SEARCH_LENGTH = 3;

type CursorKey = string | number;

interface Cursor {
  /** The sort key's parts of the row. */
  keys: CursorKey[];
  id: number;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([...cursor.keys, cursor.id])).toString('base64url');
}

function decodeCursor(value: string | undefined, key: SortKey): Cursor | undefined {
  if (!value) return undefined;
  try {
    const values = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(values) || values.length !== key.parts.length + 1) return undefined;
    const id = values.pop() as unknown;
    if (!Number.isSafeInteger(id) || !values.every((part) => isCursorKey(part, key.type))) return undefined;
    return { keys: values as CursorKey[], id: id as number };
  } catch {
    return undefined;
  }
}

/** Only values PostgreSQL takes as they are: a tampered cursor starts again at the first page. */
function isCursorKey(value: unknown, type: SortKey['type']): boolean {
  if (type === 'number') return Number.isSafeInteger(value);
  if (typeof value !== 'string' || value.length > 400 || value.includes('\u0000')) return false;
  return type !== 'timestamp' || /^-?infinity$/.test(value) || isCursorTimestamp(value);
}

/** An ISO instant in UTC, to the microsecond, that exists (no 30 February, no year 0). */
function isCursorTimestamp(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(value)) return false;
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.getUTCFullYear() >= 1 && date.toISOString().slice(0, 19) === value.slice(0, 19);
}

/**
 * The sort key's parts as a cursor keeps them, in one JSON array. Timestamps are read as text to
 * the microsecond: a JS Date keeps milliseconds only (the next page would repeat or skip rows of
 * the same millisecond) and cannot hold -infinity (customers without orders).
 */
function cursorKeySql(key: SortKey): string {
  const asCursor = (part: string) =>
    key.type === 'timestamp' ? `CASE WHEN isfinite(${part}) THEN to_char(${part} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ELSE (${part})::text END` : part;
  return `json_build_array(${key.parts.map(asCursor).join(', ')})`;
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
  /** The few members of the membership filters (fewMembers), looked up by id instead of the sets. */
  fewIds?: number[] | Knex.QueryBuilder | null,
  /** Reads only this share (percent) of the customers' pages, for an estimate (sampledCount). */
  samplePercent?: number,
): Knex.QueryBuilder {
  // A fixed seed: the same filters read the same pages on every request.
  const customers = samplePercent === undefined ? { c: 'customers' } : knex.raw('customers AS c TABLESAMPLE SYSTEM (?) REPEATABLE (0)', [samplePercent]);
  const builder = knex.queryBuilder().from(customers);
  if (source.kind === 'shop') builder.join({ cs: 'customer_shops' }, (on) => on.on('cs.customer_id', 'c.id').andOnVal('cs.shop_id', source.shopId));
  if (salesTeamId !== null) builder.where('c.sales_team_id', salesTeamId);
  applySearch(knex, builder, query.q);
  applyFilters(knex, builder, source, query.filters);
  if (Array.isArray(fewIds)) builder.whereRaw('c.id = ANY(?::bigint[])', [fewIds]);
  else if (fewIds) builder.whereIn('c.id', fewIds);
  // A semi-join per set: "all of these tags" is one per tag, not a grouping of every tagged row.
  else for (const set of memberSets(knex, query.filters)) builder.whereIn('c.id', set);
  return builder;
}

/**
 * At most this many members are looked up by id; more are filtered while the sort index is walked.
 * Fetching and sorting n rows by id grows with n, the walk with the customers per match: at a
 * million customers a tag with a segment (1,587 members) took 18–23 ms by id and 44–55 ms walked,
 * two tags (5,900) 30 ms either way.
 */
export const FEW_MEMBERS = 2_000;

/**
 * The customers the membership filters (tags, group, segment) allow, of the listed shop, when the
 * sets allow at most FEW_MEMBERS; null when they allow more, or when the planner can judge the set
 * itself. It cannot estimate sets that combine (two tags together, a tag and a segment): believing
 * them large it walks the sort index, and when they are in fact small it reads most of the table
 * to fill a page. Read first from their own indexes, a small set is then paged by id (pageQueries' ofIds).
 * One tag (or any of several), one group or one segment it estimates from its statistics, so that
 * filter skips this look-up and its round trip.
 */
export async function fewMembers(knex: Knex, f: CustomerFilters, source: ListSource): Promise<number[] | null> {
  const [driver, ...others] = memberSets(knex, f);
  if (!driver || others.length === 0) return null;
  const members = knex.queryBuilder().from(driver.as('m')).select('m.customer_id').limit(FEW_MEMBERS + 1);
  for (const other of others) members.whereIn('m.customer_id', other);
  // Those of the shop, found by the assignments' primary key once the set is known to be small.
  const ids =
    source.kind === 'shop'
      ? knex.raw('array_agg(few.customer_id) FILTER (WHERE EXISTS (SELECT 1 FROM customer_shops cs WHERE cs.customer_id = few.customer_id AND cs.shop_id = ?)) AS ids', [source.shopId])
      : knex.raw('array_agg(few.customer_id) AS ids');
  // One row with an array: a thousand rows would cost more to receive than to find.
  const [row] = (await knex.queryBuilder().from(members.as('few')).select(knex.raw('count(*)::int AS members'), ids)) as Array<{ members: number; ids: string[] | null }>;
  // A customer may be listed twice (two of the tags): that only makes the set look larger.
  return row && row.members <= FEW_MEMBERS ? (row.ids ?? []).map(Number) : null;
}

/**
 * One subquery of customer ids per membership filter ("all of these tags": one per tag). Each reads
 * its table's primary key or (tag, customer_id) index; a segment's members are kept in a table of
 * their own (segment_members, by triggers on its customers and its groups' members).
 */
function memberSets(knex: Knex, f: CustomerFilters): Knex.QueryBuilder[] {
  const taggedWith = (tags: string[]) => knex('customer_tags as t').select('t.customer_id').whereIn('t.tag', tags);
  const sets: Knex.QueryBuilder[] = [];
  if (f.tag.length) sets.push(...(f.tagMode === 'all' ? f.tag.map((tag) => taggedWith([tag])) : [taggedWith(f.tag)]));
  if (f.group !== undefined) sets.push(knex('customer_group_members as gm').select('gm.customer_id').where('gm.group_id', f.group));
  if (f.segment !== undefined) sets.push(knex('segment_members as sm').select('sm.customer_id').where('sm.segment_id', f.segment));
  return sets;
}

function applySearch(knex: Knex, builder: Knex.QueryBuilder, q: string): void {
  const term = q.trim().toLowerCase();
  if (term.length < MIN_SEARCH_LENGTH) return;
  const like = (text: string) => `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  // The index is asked for the term's rarer part only (search-trigrams.ts); strpos, which no index
  // answers, then checks the whole term on the rows found.
  const part = indexedPart(term, commonTrigrams(knex));
  const matchesText = (w: Knex.QueryBuilder) => (part ? w.whereRaw('c.search_text LIKE ? AND strpos(c.search_text, ?) > 0', [like(part), term]) : w.whereRaw('c.search_text LIKE ?', [like(term)]));
  // Fragments of e-mail, names, company or phone; and, for what could be a name, names spelled
  // slightly differently. E-mail addresses, numbers and phone numbers are matched exactly: a
  // similarity search for them finds noise and costs a second index scan.
  if (!looksLikeName(term)) {
    builder.where(matchesText);
    return;
  }
  builder.where((w) => w.where(matchesText).orWhereRaw("? <% (c.first_name || ' ' || c.last_name)", [term]));
}

function looksLikeName(term: string): boolean {
  return /^[\p{L}\p{M}' .-]+$/u.test(term);
}

/**
 * Whether a total spent filter with amounts in `currency` (none given: in the listed shops' own) can
 * apply over shops that sell in `currencies`: in one of them, and over several only with its own,
 * since a customer's total over shops of several currencies adds amounts that are no amount at all.
 * The list, its exports and dynamic group rules follow this one rule.
 */
export function spentFilterApplies(currency: string | undefined, currencies: readonly string[]): boolean {
  return currency === undefined ? currencies.length <= 1 : currencies.includes(currency);
}

function applyFilters(knex: Knex, builder: Knex.QueryBuilder, source: ListSource, f: CustomerFilters): void {
  const figures = source.kind === 'shop' ? 'cs' : 'c';
  if (f.state.length) builder.whereIn('c.state', f.state);
  if (f.type.length) builder.whereIn('c.customer_type', f.type);
  if (f.status.length && source.kind === 'shop') builder.whereIn('cs.status', f.status);
  // As the country-and-city index has it, so that a country (rare, or sorted by) is read from that index.
  if (f.country.length) builder.whereRaw(`coalesce(c.billing_country, '') IN (${f.country.map(() => '?').join(', ')})`, f.country);
  if (f.createdFrom) builder.where('c.created_at', '>=', f.createdFrom);
  if (f.createdTo) builder.whereRaw("c.created_at < ?::date + 1", [f.createdTo]);
  if (f.ordersMin !== undefined) builder.where(`${figures}.orders_count`, '>=', f.ordersMin);
  if (f.ordersMax !== undefined) builder.where(`${figures}.orders_count`, '<=', f.ordersMax);
  if (f.spentCurrency !== undefined && source.kind === 'all') applySpentInCurrency(knex, builder, f.spentCurrency, f.spentMin, f.spentMax);
  else {
    if (f.spentMin !== undefined) builder.where(`${figures}.total_spent`, '>=', f.spentMin);
    if (f.spentMax !== undefined) builder.where(`${figures}.total_spent`, '<=', f.spentMax);
  }
  // As the last order's indexes have it (no order: -infinity), so that a range is read from them.
  const lastOrder = `coalesce(${figures}.last_order_at, '-infinity')`;
  if (f.lastOrderFrom) builder.whereRaw(`${lastOrder} >= ?`, [f.lastOrderFrom]);
  if (f.lastOrderTo) builder.whereRaw(`${lastOrder} > '-infinity' AND ${lastOrder} < ?::date + 1`, [f.lastOrderTo]);
  if (f.passwordChangedBefore) builder.where('c.password_changed_at', '<', f.passwordChangedBefore);
  if (f.taxExempt !== undefined) builder.where('c.tax_exempt', f.taxExempt);
  if (f.wholesale !== undefined) builder.where('c.wholesale', f.wholesale);
  if (f.marketing !== undefined) builder.where('c.marketing_opt_in', f.marketing);
  if (f.business !== undefined) builder.where('c.business_account_id', f.business);
}

/**
 * Over all shops of a merchant who sells in several currencies: what the customer spent in the shops
 * that sell in `currency`, as kept per customer and currency (migration 35; a customer without a row
 * spent nothing there). A lower bound is read from that table's amount index, as a set of
 * customers; without one, most customers match and each walked row is probed for a larger sum.
 */
function applySpentInCurrency(knex: Knex, builder: Knex.QueryBuilder, currency: string, min: number | undefined, max: number | undefined): void {
  const spent = () => knex('customer_spent_by_currency as sc').where('sc.currency', currency);
  if (min !== undefined && min > 0) {
    const within = spent().select('sc.customer_id').where('sc.total_spent', '>=', min);
    if (max !== undefined) within.where('sc.total_spent', '<=', max);
    builder.whereIn('c.id', within);
  } else if (max !== undefined) {
    builder.whereNotExists(spent().select(knex.raw('1')).whereRaw('sc.customer_id = c.id').where('sc.total_spent', '>', max));
  }
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
  options: {
    withTags?: boolean;
    withCredit?: boolean;
    withSpentByCurrency?: boolean;
    /** A budget, or how to look one up once the walk has taken a while (as walkBudgetMs does). */
    walkBudgetMs?: number | (() => Promise<number>);
  } = {},
): Promise<CustomerListPage> {
  const key = SORT_KEYS[source.kind][query.sort];
  const backwards = Boolean(query.before) && !query.after;
  const cursor = decodeCursor(backwards ? query.before : query.after, key);
  const ascending = (query.dir === 'asc') !== backwards;
  const fewIds = await fewMembers(knex, query.filters, source);
  const queries = pageQueries(knex, source, query, salesTeamId, { key, cursor, ascending });
  // A page without filters or search matches every row it walks and gets no budget; a narrowed
  // page's is found once its walk has taken a while (walkBudgetMs, from its matches before the cursor).
  const budget = narrowed(query) ? (options.walkBudgetMs ?? (() => walkBudgetMs(knex, source, query, customerListFilter(knex, source, query, salesTeamId, fewIds)))) : null;
  type Fetched = Array<CustomerListRow & { sortKey: CursorKey[] }>;
  // Ids that are exactly the page's matches (no search, no sales team to check) are paged by id.
  const byId = salesTeamId === null && !searches(query.q);
  const known = async () => {
    if (fewIds && narrowedBy(query.filters, MEMBER_FILTERS)) return fewIds;
    // One of the assignments' indexes reads at most FEW_MATCHES + 1 of them at once (unless the
    // caller set the walk's budget).
    const oneIndex = ASSIGNMENT_INDEXES.some((filters) => narrowedBy(query.filters, filters));
    return oneIndex && options.walkBudgetMs === undefined ? fewAssignments(knex, source, query.filters) : null;
  };
  const ids = byId ? await known() : null;
  // Set aside by walkBudgetMs: a shop's few matches of its assignment filters, paged by id when
  // they are all its page needs to know.
  const collectInstead = async () => {
    const assigned = byId ? await fewAssignments(knex, source, query.filters) : null;
    return assigned ? ((await queries.ofIds(assigned)) as Fetched) : firstOf([contender<Fetched>(knex, COLLECT_SETTINGS, queries.collect(fewIds))]);
  };
  // Only membership filters, and more members than a few: walked along the key's index alone.
  const walk = byId && !fewIds && key.indexOnly && narrowedBy(query.filters, MEMBER_FILTERS) ? queries.walkIndex(key.indexOnly) : queries.walk(fewIds);
  const fetched = ids ? ((await queries.ofIds(ids)) as Fetched) : await readPage<Fetched>(knex, walk, () => queries.collect(fewIds), budget, collectInstead);
  const hasMore = fetched.length > query.size;
  const rows = fetched.slice(0, query.size);
  if (backwards) rows.reverse();
  await Promise.all([
    options.withTags ? attachTags(knex, rows) : undefined,
    options.withCredit ? attachCredit(knex, source, rows) : undefined,
    options.withSpentByCurrency ? attachSpentByCurrency(knex, rows) : undefined,
  ]);

  const cursorOf = (row: (typeof fetched)[number]) => encodeCursor({ keys: row.sortKey, id: row.id });
  const firstRow = rows[0];
  const lastRow = rows[rows.length - 1];
  return {
    rows,
    next: lastRow && (backwards ? Boolean(cursor) : hasMore) ? cursorOf(lastRow) : undefined,
    previous: firstRow && (backwards ? hasMore : Boolean(cursor)) ? cursorOf(firstRow) : undefined,
  };
}

/**
 * The statements that read one page of a sort key, from a cursor on: walking the key's index,
 * collecting every match (readPage), or paging a known set of ids.
 */
function pageQueries(
  knex: Knex,
  source: ListSource,
  query: CustomerListQuery,
  salesTeamId: number | null,
  { key, cursor, ascending }: { key: SortKey; cursor: Cursor | undefined; ascending: boolean },
) {
  const figures = source.kind === 'shop' ? 'cs' : 'c';
  const idColumn = source.kind === 'shop' ? 'cs.customer_id' : 'c.id';
  const direction = ascending ? 'ASC' : 'DESC';
  const orderOf = (columns: string[]) => columns.map((column) => `${column} ${direction}`).join(', ');
  const keyColumns = key.parts.map((_, index) => `k${index}`);
  const withKeyColumns = () => key.parts.map((part, index) => knex.raw(`${part} AS ${keyColumns[index]}`));
  const afterCursor = (builder: Knex.QueryBuilder, id: string) => {
    if (!cursor) return builder;
    const casts = cursor.keys.map(() => castFor(key.type)).join(', ');
    return builder.whereRaw(`(${key.parts.join(', ')}, ${id}) ${ascending ? '>' : '<'} (${casts}, ?)`, [...cursor.keys, cursor.id]);
  };
  const matching = (fewIds: number[] | Knex.QueryBuilder | null) => afterCursor(customerListFilter(knex, source, query, salesTeamId, fewIds), idColumn);
  // A constant rather than a parameter: the first page without filters then has no parameters at all.
  const limited = (builder: Knex.QueryBuilder) => builder.limit(query.size + 1, { skipBinding: true });
  /** The page's customers in its order, from a page of their ids and sort keys. */
  const rowsOf = (page: Knex.QueryBuilder) => {
    const rows = knex.queryBuilder().from(page.as('m')).join({ c: 'customers' }, 'c.id', 'm.id');
    if (source.kind === 'shop') rows.join({ cs: 'customer_shops' }, (on) => on.on('cs.customer_id', 'm.id').andOnVal('cs.shop_id', source.shopId));
    return withListColumns(knex, rows, figures, key).orderByRaw(orderOf([...keyColumns.map((column) => `m.${column}`), 'm.id']));
  };
  return {
    walk: (fewIds: number[] | null) => limited(withListColumns(knex, matching(fewIds), figures, key).orderByRaw(orderOf([...key.parts, idColumn]))),
    collect: (fewIds: number[] | null) => {
      const page = limited(knex.queryBuilder().from('matches').select('id', ...keyColumns).orderByRaw(orderOf([...keyColumns, 'id'])));
      return rowsOf(page).withMaterialized('matches', matching(fewIds).select({ id: idColumn }, ...withKeyColumns()));
    },
    /**
     * The page of a page narrowed only by membership filters (tags, a group, a segment) whose
     * members are more than a few: its key's index read alone, each entry probed against the sets'
     * own indexes, and only the page's customers read whole. At a million customers two tags
     * together (5,911) took 5.7 ms in psql this way, 19 ms reading every walked customer.
     */
    walkIndex: (table: NonNullable<SortKey['indexOnly']>) => {
      const [alias, id] = table === 'customers' ? ['c', 'c.id'] : ['cs', 'cs.customer_id'];
      const entries = afterCursor(knex.queryBuilder().from({ [alias]: table }), id).select({ id }, ...withKeyColumns());
      if (source.kind === 'shop') {
        if (alias === 'cs') entries.where('cs.shop_id', source.shopId);
        else entries.whereIn('c.id', knex('customer_shops as a').select('a.customer_id').where('a.shop_id', source.shopId));
      }
      for (const set of memberSets(knex, query.filters)) entries.whereIn(id, set);
      return rowsOf(limited(entries.orderByRaw(orderOf([...key.parts, id]))));
    },
    /**
     * The page of the customers `ids` are exactly (the page's other filters are checked all the
     * same). While they are spread over the sort order the key's index finds a page of them within
     * a few of its entries per customer of the page, read from the index alone and tested against
     * the ids as a hash: at a million customers, 2,041 of a shop awaiting approval in 1.8 ms, where
     * fetching each of them to sort them took 12 ms. A walk that finds fewer than a page within
     * WALKED_PER_ID entries per id (the ids cluster elsewhere in the order, or the page is the last)
     * costs about what fetching them does, and they are then fetched and sorted. Keys of an
     * expression (e-mail, city, country, last order) are only fetched and sorted.
     */
    ofIds: (ids: number[]) => {
      // Sent once, and not estimated id by id (about 0.4 µs an id of planning).
      const known = knex.queryBuilder().from('ids').select('ids.id');
      const fetched = limited(matching(known).select({ id: idColumn }, ...withKeyColumns()).orderByRaw(orderOf([...key.parts, idColumn])));
      const withIds = (builder: Knex.QueryBuilder) => builder.withMaterialized('ids', knex.raw('SELECT unnest(?::bigint[]) AS id', [ids]));
      if (!key.indexOnly) return withIds(rowsOf(fetched));
      const [alias, id] = key.indexOnly === 'customers' ? ['c', 'c.id'] : ['cs', 'cs.customer_id'];
      const entries = afterCursor(knex.queryBuilder().from({ [alias]: key.indexOnly }), id)
        .select({ id }, ...withKeyColumns())
        .orderByRaw(orderOf([...key.parts, id]))
        .limit(WALKED_PER_ID * Math.max(ids.length, 1), { skipBinding: true });
      if (alias === 'cs' && source.kind === 'shop') entries.where('cs.shop_id', source.shopId);
      // Spread evenly over a table of N rows, the ids fill a page within the walk when
      // WALKED_PER_ID · n² / N is well above a page: a walk of fewer (678 of a million) is skipped.
      // (Over a shop's assignments the table's rows over-count N, which only skips more walks.)
      const filledBy = (WALKED_PER_ID * ids.length * ids.length) / (2 * (query.size + 1));
      entries.whereRaw('? >= (SELECT reltuples FROM pg_class WHERE oid = ?::regclass)', [filledBy, key.indexOnly]);
      // IS TRUE keeps the test a hashed subplan on each entry: a join with the ids would be free
      // to read them first and sort them.
      const walked = limited(knex.queryBuilder().from(entries.as('w')).select('w.*').whereRaw('(w.id IN (SELECT ids.id FROM ids)) IS TRUE').orderByRaw(orderOf([...keyColumns.map((column) => `w.${column}`), 'w.id'])));
      // Only one of the two runs: each has a one-time condition on how many rows the walk found.
      const walkedAll = (all: boolean) => [`(SELECT count(*) FROM walked) ${all ? '>' : '<='} ?`, [query.size]] as const;
      const page = knex.queryBuilder().from('walked').select('*').whereRaw(...walkedAll(true))
        .unionAll(knex.queryBuilder().from(fetched.as('fetched')).select('*').whereRaw(...walkedAll(false)), true);
      return withIds(rowsOf(page)).withMaterialized('walked', walked);
    },
  };
}

/**
 * How many entries of the sort key's index a page of known ids walks per id before the ids are
 * fetched and sorted instead: an entry read from the index and tested costs about 0.07 µs at a
 * million customers, fetching a customer by id about 3 µs, so a walk that fails costs about what
 * the fetch does.
 */
const WALKED_PER_ID = 30;

/** The membership filters, whose few members fewMembers finds. */
const MEMBER_FILTERS: ReadonlySet<string> = new Set<keyof CustomerFilters>(['tag', 'group', 'segment']);

/**
 * A shop's customers its assignment filters (status, orders, spent, last order) allow, when they
 * are at most FEW_MATCHES: read from the assignments' (shop, …) indexes alone. Null when other
 * filters narrow the page or there are more.
 */
async function fewAssignments(knex: Knex, source: ListSource, filters: CustomerFilters): Promise<number[] | null> {
  if (source.kind !== 'shop' || !narrowedBy(filters, ASSIGNMENT_FILTERS)) return null;
  const assigned = knex.queryBuilder().from({ cs: 'customer_shops' }).select('cs.customer_id').where('cs.shop_id', source.shopId).limit(FEW_MATCHES + 1);
  applyFilters(knex, assigned, source, filters);
  // Too many: not sent at all.
  const [row] = (await knex.queryBuilder().from(assigned.as('few')).select(knex.raw('CASE WHEN count(*) <= ? THEN array_agg(few.customer_id) END AS ids, count(*)::int AS matches', [FEW_MATCHES]))) as Array<{ ids: string[] | null; matches: number }>;
  return row && row.matches <= FEW_MATCHES ? (row.ids ?? []).map(Number) : null;
}

/** The list's columns of each customer on a page (and its sort key, for the cursors). */
function withListColumns(knex: Knex, builder: Knex.QueryBuilder, figures: 'c' | 'cs', key: SortKey): Knex.QueryBuilder {
  return builder
    .leftJoin({ b: 'business_accounts' }, 'b.id', 'c.business_account_id')
    .select(
      'c.id', 'c.email', 'c.first_name', 'c.last_name', 'c.state', 'c.customer_type', 'c.created_at', 'c.password_changed_at', 'c.erased_at',
      { city: 'c.billing_city', country_code: 'c.billing_country', business_account: 'b.name' },
      `${figures}.orders_count`, `${figures}.total_spent`, `${figures}.last_order_at`, `${figures}.last_order_id`,
      knex.raw(`${cursorKeySql(key)} AS sort_key`),
    );
}

/** How long a page may walk its sort index alone before it is also collected from the filters' own indexes. */
export const WALK_BUDGET_MS = 100;

/** The budget of a page whose search term begins a page's worth of sort keys (see walkBudgetMs). */
export const CLUSTERED_WALK_BUDGET_MS = 20;

/**
 * A shop's page narrowed only by what its assignments hold (status, orders, spent, last order) is
 * not walked further when the planner expects at most this many matches: their ids are read from
 * the assignments' (shop, …) indexes (fewAssignments) and paged by id (pageQueries' ofIds), while a
 * walk along a customer sort key reads every customer of every shop in its order, about 26 of them
 * per match it needs. At a million customers in one shop of five: 2,041 customers awaiting
 * approval 211 ms walked, 20 ms collected (the nineteenth session), 10 ms by id; 4,090 disabled
 * ones 78 and 41 ms collected. Both at once slow each other on two cores (4,090 disabled: 100 ms).
 */
export const FEW_MATCHES = 5_000;

const ASSIGNMENT_FILTERS: ReadonlySet<string> = new Set<keyof CustomerFilters>(['status', 'ordersMin', 'ordersMax', 'spentMin', 'spentMax', 'lastOrderFrom', 'lastOrderTo']);

/** The assignment filters that each (shop, …, customer) index of the assignments answers alone. */
const ASSIGNMENT_INDEXES: ReadonlyArray<ReadonlySet<string>> = [['status'], ['ordersMin', 'ordersMax'], ['spentMin', 'spentMax'], ['lastOrderFrom', 'lastOrderTo']].map(
  (filters) => new Set(filters),
);

/** A walk that has not ended after this long has its budget looked up (most end within it). */
const BUDGET_LOOKUP_AFTER_MS = 5;

/**
 * How long a narrowed page walks before it is also collected; 0: read another way instead of
 * walked (a shop's few matches of its assignment filters, see FEW_MATCHES).
 *
 * A search term that begins many sort keys (a surname sorted by name, a first name sorted by
 * e-mail) finds its matches clustered there, and a walk from the other end of the order crosses
 * every key before them: at a million customers "schmidt" by name walked past its whole budget and
 * was then collected anyway. Such a page is collected after CLUSTERED_WALK_BUDGET_MS instead,
 * still alongside the walk, which wins when the matches also come early in the order (a common
 * first name's do, within a few milliseconds). The keys are read from the term on, a page of
 * them, on the key's own index over all customers: a shop's page walks that same index. The
 * budget is a guess and never changes a page; a read that fails leaves the usual one.
 */
export async function walkBudgetMs(
  knex: Knex,
  source: ListSource,
  query: Pick<CustomerListQuery, 'q' | 'size' | 'sort' | 'filters'>,
  matching: Knex.QueryBuilder = customerListFilter(knex, source, query, null),
): Promise<number> {
  if (!searches(query.q)) {
    if (source.kind !== 'shop' || !narrowedBy(query.filters, ASSIGNMENT_FILTERS)) return WALK_BUDGET_MS;
    // The planner judges these filters from the assignments' statistics (a search it cannot judge).
    const estimate = await plannedRows(knex, matching.clone().select(knex.raw('1'))).catch(() => Infinity);
    return estimate <= FEW_MATCHES ? 0 : WALK_BUDGET_MS;
  }
  const key: SortKey = SORT_KEYS[source.kind][query.sort];
  const term = query.q.trim().toLowerCase();
  if (!key.startsWithSearchedText) return WALK_BUDGET_MS;
  const part = key.parts[0]!;
  // starts_with, not a range up to the term's last key: no character is sure to sort last in
  // every collation.
  const read = knex.raw(`SELECT count(*) FILTER (WHERE starts_with(s.k, ?))::int AS n FROM (SELECT ${part} AS k FROM customers c WHERE ${part} >= ? ORDER BY ${part} LIMIT ?) s`, [term, term, query.size + 1]);
  const begun = await read.then((result) => result.rows[0].n as number, () => 0);
  return begun > query.size ? CLUSTERED_WALK_BUDGET_MS : WALK_BUDGET_MS;
}

/**
 * A page is read along its sort index, each row tested against the filters and the search: quick
 * while the matches are spread over the sort order (a common term, a large tag: 1–5 ms). When they
 * cluster instead, the walk crosses most of the table: a surname sorted by name (every "Schmidt"
 * sorts under S, 700,000 rows in at a million customers, 2.6 s), a country sorted by city (1.5 s).
 * The planner cannot tell the two apart (it takes the filters as independent of the order), so
 * after `budgetMs` the page is also collected: every match, found from the filters' and the
 * search's own indexes, as its id and sort key only (a materialized CTE, which the planner cannot
 * answer by walking the sort index), sorted; only the page's rows are then read whole. Keys that
 * indexes hold come from them alone (a shop's total spent, a tag), so five filters combined are
 * collected in 175 ms instead of 350 ms reading every assignment of the shop from the table.
 * Whichever of the two ends first gives the page, and the other is cancelled: a walk that was
 * nearly done is not thrown away. A page without filters or search (of a shop, a sales team, past
 * a cursor) matches every row it walks and gets no budget: collecting it would sort the whole shop.
 */
async function readPage<T>(
  knex: Knex,
  walk: Knex.QueryBuilder,
  collect: () => Knex.QueryBuilder,
  budgetMs: number | (() => Promise<number>) | null,
  /** How the page is read when its budget is nothing. */
  collectInstead: () => Promise<T>,
): Promise<T> {
  if (budgetMs === null) return runPreparedWhenConstant<T>(walk);
  const collecting = () => contender<T>(knex, COLLECT_SETTINGS, collect());
  // A budget of nothing skips the walk (whether a walk ends within a millisecond depends on the plan).
  if (budgetMs === 0) return collectInstead();
  const walking = contender<T>(knex, NO_PARALLEL_WORKERS, walk);
  const started = performance.now();
  const walked = walking.rows.then(() => 'walked' as const, () => 'walked' as const);
  if (typeof budgetMs === 'function' && (await walksWithin(walked, started, BUDGET_LOOKUP_AFTER_MS))) return firstOf([walking]);
  // A budget being looked up counts from the walk's start all the same.
  const ms = await Promise.race([typeof budgetMs === 'function' ? budgetMs() : budgetMs, walked]);
  if (ms === 'walked') return firstOf([walking]);
  if (ms === 0) {
    walking.stop(true);
    return collectInstead();
  }
  return firstOf((await walksWithin(walked, started, ms)) ? [walking] : [walking, collecting()]);
}

/** Whether the walk ends within `ms` of its start. */
async function walksWithin(walked: Promise<'walked'>, started: number, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const spent = new Promise<'spent'>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms - (performance.now() - started)), 'spent')));
  const early = await Promise.race([walked, spent]);
  clearTimeout(timer);
  return early === 'walked';
}

/**
 * A page read on a pooled connection of its own, in a transaction so that its settings end with
 * it, whose query `stop` can cancel. The connection is kept until `stop`, so that a
 * cancel never reaches a later query on it; the page is shown without waiting for a cancelled read
 * to wind down.
 */
interface Contender<T> {
  rows: Promise<T>;
  stop(cancel: boolean): void;
}

/**
 * Filtered and searched pages are walked and collected without parallel workers: costing a walk as
 * if it read every row, the planner starts two for a 26-row page, which costs more than it saves
 * (at 1M customers on two cores: five filters combined walked in 205–250 ms with workers and about
 * 60 ms without; two tags together 49–55 ms with, 29–35 ms without), and leaves no core to a
 * collect started alongside.
 */
const NO_PARALLEL_WORKERS = ["set_config('max_parallel_workers_per_gather', '0', true)"];

/**
 * A collected page (and a count) also has sequential scans priced out, so that the matches come
 * from the indexes of the filters and the search, even where the planner believes a filter matches
 * much of the table.
 */
const COLLECT_SETTINGS = [...NO_PARALLEL_WORKERS, "set_config('enable_seqscan', 'off', true)"];

/** PostgreSQL's error code for a statement cancelled (here: past its statement_timeout). */
const QUERY_CANCELED = '57014';

function contender<T>(knex: Knex, settings: string[], builder: Knex.QueryBuilder): Contender<T> {
  let held: PooledConnection | undefined;
  let stopped = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const rows = new Promise<T>((resolve, reject) => {
    const read = async (connection: PooledConnection) => {
      held = connection;
      const unlessStopped = () => {
        if (stopped) throw new Error('The page was read the other way');
      };
      let begun = false;
      try {
        unlessStopped();
        begun = true;
        // One round trip: without parameters, both statements go as one simple query.
        await knex.raw(`BEGIN; SELECT ${settings.join(', ')}`).connection(connection);
        unlessStopped();
        resolve(await builder.clone().connection(connection));
      } catch (error) {
        reject(error);
      }
      await finished;
      if (begun) await knex.raw('ROLLBACK').connection(connection);
    };
    withPooledConnection(knex, read).catch(reject);
  });
  return {
    rows,
    stop(cancel) {
      stopped = true;
      // The page does not wait for the cancel: the server starts a process for each cancel request
      // (tens of milliseconds on a small machine). The connection is kept until it has been
      // delivered; should it fail, until the read has ended by itself.
      if (cancel && held) void cancelRunningQuery(held).catch(() => undefined).finally(finish);
      else finish();
    },
  };
}

/** The page of whichever contender ends first (or its error); the others are cancelled. */
async function firstOf<T>(contenders: Array<Contender<T>>): Promise<T> {
  const winner = await Promise.race(contenders.map((entry, index) => entry.rows.then(() => index, () => index)));
  contenders.forEach((entry, index) => entry.stop(index !== winner));
  return contenders[winner]!.rows;
}

/** Whether a search term is long enough to search by (a shorter one lists as if there were none). */
function searches(q: string): boolean {
  return q.trim().length >= MIN_SEARCH_LENGTH;
}

/** Whether a search or a filter narrows the page (its matches may then cluster in the sort order). */
function narrowed(query: Pick<CustomerListQuery, 'q' | 'filters'>): boolean {
  return searches(query.q) || narrowingFilters(query.filters).length > 0;
}

/** Whether the filters narrow the page, and only by filters of `only`. */
function narrowedBy(filters: CustomerFilters, only: ReadonlySet<string>): boolean {
  const keys = narrowingFilters(filters);
  return keys.length > 0 && keys.every((key) => only.has(key));
}

function narrowingFilters(filters: CustomerFilters): string[] {
  return Object.entries(filters)
    .filter(([key, value]) => key !== 'tagMode' && (Array.isArray(value) ? value.length > 0 : value !== undefined))
    .map(([key]) => key);
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

/**
 * Orders and total spent of the rows of one page per currency, from their shops' figures: over all
 * shops of a merchant who sells in several, the customer's figures add amounts of different
 * currencies. Currencies without orders are left out.
 */
async function attachSpentByCurrency(knex: Knex, rows: CustomerListRow[]): Promise<void> {
  for (const row of rows) row.spent = [];
  if (!rows.length) return;
  const figures = (await knex('customerShops as cs')
    .join('shops as s', 's.id', 'cs.shopId')
    .whereIn('cs.customerId', rows.map((row) => row.id))
    .where('cs.ordersCount', '>', 0)
    .groupBy('cs.customerId', 's.currency')
    .orderBy('s.currency')
    .select('cs.customerId', 's.currency', knex.raw('sum(cs.orders_count)::int AS orders_count'), knex.raw('sum(cs.total_spent)::bigint AS total_spent'))) as Array<{ customerId: number; currency: string; ordersCount: number; totalSpent: string | number }>;
  const byCustomer = new Map(rows.map((row) => [row.id, row]));
  for (const figure of figures) {
    byCustomer.get(Number(figure.customerId))?.spent?.push({ currency: figure.currency, ordersCount: figure.ordersCount, totalSpent: Number(figure.totalSpent) });
  }
}

function castFor(type: SortKey['type']): string {
  return type === 'timestamp' ? '?::timestamptz' : type === 'number' ? '?::bigint' : '?';
}

/** Counts exactly up to this many matches; above it, an estimate is shown instead (see countCustomers). */
export const EXACT_COUNT_LIMIT = 10_000;

/**
 * How long an exact count may take; past it the estimate is shown instead. Few matches can still
 * take every row of a shop to find: at a million customers five filters together (311 matches)
 * took 170–700 ms to count, a search with a state in one shop 280–400 ms, on every list view.
 */
export const EXACT_COUNT_BUDGET_MS = 100;

export interface CustomerCount {
  value: number;
  exact: boolean;
}

/**
 * How many customers match: an estimate when it is large (an exact count over a big shop would read
 * every row on every request), an exact count capped at EXACT_COUNT_LIMIT otherwise, unless it
 * takes longer than `budgetMs`: then it is estimated from a sample (sampledCount), or else by the
 * planner. The planner cannot judge a search (at a million customers "schmidt" was 69,917 for
 * 41,601, "garcia" 78,992 for 41,570), so a search's count beyond the exact limit is estimated from
 * the sample too. The count is read as a collected page is, from the filters' own indexes and
 * without parallel workers (two tags together: 22–32 ms instead of 140–270 ms).
 */
export async function countCustomers(
  knex: Knex,
  source: ListSource,
  query: Pick<CustomerListQuery, 'q' | 'filters'>,
  salesTeamId: number | null,
  budgetMs = EXACT_COUNT_BUDGET_MS,
  sampleBudgetMs = SAMPLE_BUDGET_MS,
): Promise<CustomerCount> {
  // Taken once, whichever way the count goes; its figure, or null when it has none.
  let sampling: Promise<number | 'few' | null> | undefined;
  const sample = () => (sampling ??= sampledCount(knex, source, query, salesTeamId, sampleBudgetMs));
  const figureOf = (sampled: number | 'few' | null) => (typeof sampled === 'number' ? sampled : null);
  const searched = searches(query.q);
  const planned = await estimateCustomers(knex, source, query, salesTeamId);
  const judged = searched && planned > EXACT_COUNT_LIMIT * 2 ? await sample() : null;
  const estimate = figureOf(judged) ?? planned;
  // A sample that finds few says the planner's many are wrong: they are counted.
  if (estimate > EXACT_COUNT_LIMIT * 2 && judged !== 'few') return { value: estimate, exact: false };
  const { sql, bindings } = customerListFilter(knex, source, query, salesTeamId).select(knex.raw('1')).toSQL();
  let n: number;
  try {
    n = await knex.transaction(async (trx) => {
      await trx.raw(`SELECT ${[...COLLECT_SETTINGS, "set_config('statement_timeout', ?, true)"].join(', ')}`, [`${budgetMs}ms`]);
      const counted = await trx.raw(`SELECT count(*)::int AS n FROM (${sql} LIMIT ${EXACT_COUNT_LIMIT + 1}) s`, bindings as Knex.RawBinding[]);
      return counted.rows[0].n as number;
    });
  } catch (error) {
    if ((error as { code?: string }).code !== QUERY_CANCELED) throw error;
    return { value: Math.max(1, figureOf(await sample()) ?? estimate), exact: false };
  }
  if (n <= EXACT_COUNT_LIMIT) return { value: n, exact: true };
  return { value: Math.max(n, (searched ? figureOf(await sample()) : null) ?? estimate), exact: false };
}

/** About this many customers are read to estimate a count that its budget could not finish. */
export const SAMPLED_CUSTOMERS = 10_000;

/**
 * Fewer matches than this in a sample say too little of how many there are, only that they are few
 * (about 3,000 at most at a million customers); matches on fewer pages than MIN_SAMPLED_PAGES say
 * nothing (the sample takes whole pages, and customers imported or created together share them).
 */
export const MIN_SAMPLED_MATCHES = 30;
export const MIN_SAMPLED_PAGES = 20;

/** How long the sample may take (its pages are often not in PostgreSQL's cache yet). */
export const SAMPLE_BUDGET_MS = 200;

/**
 * A count estimated from a sample of the customers' pages, for matches too few to count from the
 * estimate and too costly to count exactly (a search in a shop: the planner cannot judge a search,
 * and took 8,731 matches for 15,000): about SAMPLED_CUSTOMERS customers read whole (about 30 ms at
 * a million once their pages are cached, 80 of them matched, so "About 8,000"). 'few' when the
 * sample matches fewer than MIN_SAMPLED_MATCHES; null when its matches are on too few pages to
 * tell, it takes longer than `budgetMs`, or the table is no larger than the sample.
 */
export async function sampledCount(knex: Knex, source: ListSource, query: Pick<CustomerListQuery, 'q' | 'filters'>, salesTeamId: number | null, budgetMs: number): Promise<number | 'few' | null> {
  const customers = await plannedRows(knex, knex('customers').select(knex.raw('1')));
  if (customers <= SAMPLED_CUSTOMERS) return null;
  // Two figures: the same pages, and the same estimate, while the table grows by a little.
  const percent = Number(((SAMPLED_CUSTOMERS / customers) * 100).toPrecision(2));
  const { sql, bindings } = customerListFilter(knex, source, query, salesTeamId, undefined, percent).select({ page: knex.raw('(c.ctid::text::point)[0]') }).toSQL();
  try {
    const sample = await knex.transaction(async (trx) => {
      await trx.raw(`SELECT ${[...NO_PARALLEL_WORKERS, "set_config('statement_timeout', ?, true)"].join(', ')}`, [`${budgetMs}ms`]);
      return (await trx.raw(`SELECT count(*)::int AS matches, count(DISTINCT page)::int AS pages FROM (${sql}) s`, bindings as Knex.RawBinding[])).rows[0] as { matches: number; pages: number };
    });
    if (sample.matches < MIN_SAMPLED_MATCHES) return 'few';
    return sample.pages >= MIN_SAMPLED_PAGES ? Math.round((sample.matches * 100) / percent) : null;
  } catch (error) {
    if ((error as { code?: string }).code === QUERY_CANCELED) return null;
    throw error;
  }
}

/**
 * The planner's estimate of the matches. Tags, groups and segments are estimated apart, each from
 * its own table's statistics, and applied as shares of all customers.
 */
export async function estimateCustomers(knex: Knex, source: ListSource, query: Pick<CustomerListQuery, 'q' | 'filters'>, salesTeamId: number | null): Promise<number> {
  const f = query.filters;
  const others = { q: query.q, filters: { ...f, tag: [], group: undefined, segment: undefined } };
  const matches = plannedRows(knex, customerListFilter(knex, source, others, salesTeamId).select(knex.raw('1')));
  const sets = memberSets(knex, f).map((set) => plannedRows(knex, set));
  if (!sets.length) return Math.round(await matches);
  // Each estimate is its own EXPLAIN on its own pooled connection: asked at once, not one after another.
  const [estimate, customers, ...sizes] = await Promise.all([matches, plannedRows(knex, knex('customers').select(knex.raw('1'))), ...sets]);
  return Math.round(sizes.reduce((product, size) => product * Math.min(1, size / Math.max(1, customers)), estimate));
}

/** Which source a request lists: the chosen shop if the staff member may see it, else their first shop. */
export function resolveListSource(scope: ShopScope, shops: Array<{ id: number }>, requested: number | 'all' | undefined): ListSource | null {
  if (requested === 'all' && scope === 'all') return { kind: 'all' };
  if (typeof requested === 'number' && shops.some((s) => s.id === requested)) return { kind: 'shop', shopId: requested };
  if (scope === 'all' && requested === undefined) return { kind: 'all' };
  const first = shops[0];
  return first ? { kind: 'shop', shopId: first.id } : null;
}
