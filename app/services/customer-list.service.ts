import type { Knex } from 'knex';
import { COLLECT_SETTINGS, NO_PARALLEL_WORKERS, plannedRows, plannedRowsOfEach } from '../db/list-statistics.js';
import { cancelRunningQuery, type PooledConnection, withPooledConnection } from '../db/pooled-connection.js';
import { runPreparedWhenConstant } from '../db/prepared-query.js';
import { emailKeyOf } from '../models/customer.model.js';
import type { CustomerListQuery, CustomerSort } from '../schemas/customer-list.schema.js';
import { unexpired } from './customer-credit.service.js';
import { EXACT_COUNT_LIMIT, type CustomerCount } from './customer-list-count.js';
import { applyAssignmentFilters, applyFilters, ASSIGNMENT_FILTERS, assignmentsMatching, customersOwnMatching, customerListFilter, fewAssignments, fewMembers, FEW_MATCHES, type ListSource, MEMBER_FILTERS, memberSets, memberSetKinds, narrowed, narrowedBy, oneAssignmentIndex, searches, shareOfAllSets } from './customer-list-filter.js';

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
  /**
   * How many customers match in all, when reading the page found every match anyway (collected
   * from the first, or paged from known ids): the list then shows it without asking for a count.
   */
  count?: CustomerCount;
}

interface SortKey {
  /** SQL of the key's parts, exactly as in its (parts, id) index (e-mail: its unique index). */
  parts: string[];
  /**
   * The customer's id as that index has it: a cursor's row comparison of the parts and another
   * table's id (a customer's name with the assignment's customer) is no condition on the index, and
   * a shop's page sorted by name walked it from the start, past every earlier name (5 s halfway).
   */
  id: 'c.id' | 'cs.customer_id';
  type: 'text' | 'number' | 'timestamp';
  /** The first part starts with searched text (a surname, an e-mail address), lowercased. */
  startsWithSearchedText?: true;
  /**
   * The table whose (parts, id) index holds the key's columns as they are (no expression), so that
   * a walk of it reads the index alone (see pageQueries' ofIds).
   */
  indexOnly?: 'customers' | 'customer_shops';
  /** Its index over a shop's assignments includes every column their filters ask (see walkAssignments). */
  holdsAssignments?: true;
  /** A tag's entries keep the key's one part as this column, in their (tag, part, customer) index (memberWalk). */
  inTagEntries?: 't.customer_created_at';
}

// The allow-list of sort keys: the query string names one, never SQL. Figures come from
// customer_shops in a shop and from customers over all shops; each key has a (parts, id) index,
// but e-mail, which is unique: its unique index gives the order and the id tiebreak never
// reorders. A country's customers are in city order: its index serves a country filter sorted by
// city too (migration 29), and one index fewer is written on every customer insert.
const customerKeys = {
  name: { parts: ['c.sort_name'], id: 'c.id', type: 'text', startsWithSearchedText: true, indexOnly: 'customers' },
  email: { parts: [emailKeyOf('c.email')], id: 'c.id', type: 'text', startsWithSearchedText: true },
  city: { parts: ["coalesce(lower(c.billing_city), '')"], id: 'c.id', type: 'text' },
  country: { parts: ["coalesce(c.billing_country, '')", "coalesce(lower(c.billing_city), '')"], id: 'c.id', type: 'text' },
  state: { parts: ['c.state'], id: 'c.id', type: 'text', indexOnly: 'customers' },
  created: { parts: ['c.created_at'], id: 'c.id', type: 'timestamp', indexOnly: 'customers', inTagEntries: 't.customer_created_at' },
} satisfies Record<string, SortKey>;

const figureKeys = (alias: 'c' | 'cs') => {
  const [indexOnly, id] = alias === 'c' ? (['customers', 'c.id'] as const) : (['customer_shops', 'cs.customer_id'] as const);
  // A shop's indexes of its orders and total spent include what the assignment filters ask (migration 44).
  const holds = alias === 'cs' ? ({ holdsAssignments: true } as const) : {};
  return {
    orders: { parts: [`${alias}.orders_count`], id, type: 'number', indexOnly, ...holds },
    last_order: { parts: [`coalesce(${alias}.last_order_at, '-infinity')`], id, type: 'timestamp' },
    total_spent: { parts: [`${alias}.total_spent`], id, type: 'number', indexOnly, ...holds },
  } satisfies Record<string, SortKey>;
};

const SORT_KEYS: Record<'shop' | 'all', Record<CustomerSort, SortKey>> = {
  // A shop's assignments keep their customer's creation time, indexed with what their filters ask
  // (migration 41): the shop's default page reads its own entries, not every shop's customers.
  shop: {
    ...customerKeys,
    created: { parts: ['cs.customer_created_at'], id: 'cs.customer_id', type: 'timestamp', indexOnly: 'customer_shops', holdsAssignments: true, inTagEntries: 't.customer_created_at' },
    ...figureKeys('cs'),
  },
  all: { ...customerKeys, ...figureKeys('c') },
};

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
  const queries = pageQueries(knex, source, query, salesTeamId, { key, cursor, ascending });
  const fetched = await fetchPage({ knex, source, query, salesTeamId, key, queries }, options.walkBudgetMs);
  const hasMore = fetched.length > query.size;
  const matches = fetched[0]?.matches;
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
    count: matches === undefined ? undefined : { value: matches, exact: matches <= EXACT_COUNT_LIMIT },
  };
}

/**
 * A page's rows, one more than the page (to tell whether another follows), with their sort keys;
 * `matches`: how many customers match in all, where the statement read every match (see
 * pageQueries' collect and ofIds).
 */
type PageRows = Array<CustomerListRow & { sortKey: CursorKey[]; matches?: number }>;

/** What a page is asked for, and the statements that can read it. */
interface PageRequest {
  knex: Knex;
  source: ListSource;
  query: CustomerListQuery;
  salesTeamId: number | null;
  key: SortKey;
  queries: ReturnType<typeof pageQueries>;
}

/**
 * The page read the way its filters suit best, the first of these that applies:
 * 1. several membership sets over all shops, or a tag's customers by creation: walked along a
 *    bounded stretch of the key or of the tag's own entries, a set hashed or each probed
 *    (memberWalk), as long as that fills the page;
 * 2. a shop's page of its assignment filters on a key of its assignments: the entries nearest the
 *    cursor walked (walkAssignments), then the few matches read, sorted and counted from the
 *    assignments alone (fewInShop);
 * 3. matches that are a known set of a few ids (the sets' few members, a shop's few of one
 *    assignment filter): paged by id (ofIds, which also counts them);
 * 4. walked along the sort key (its index alone where walkOf finds that it, the sets and a sales
 *    team answer the filters), and collected as well once the walk has taken longer than its
 *    budget (readPage).
 * Ids are exactly a page's matches only without a search or a sales team to check.
 */
async function fetchPage(
  page: PageRequest,
  walkBudget: number | (() => Promise<number>) | undefined,
): Promise<PageRows> {
  const { knex, source, query, salesTeamId, key, queries } = page;
  const byId = salesTeamId === null && !searches(query.q);
  const indexOnly = byId ? key.indexOnly : undefined;
  const onlyMembers = narrowedBy(query.filters, MEMBER_FILTERS);
  // A bounded stretch of the key is walked first, even where the sets share few members: reading
  // their ids would count them as well (the list then does not ask for the count), but a segment of
  // 20,636 with a tag of 76,938 (1,587 in both) at a million customers took 31 ms that way against
  // 15–19 ms walked with the segment hashed, the count a request of its own. Without such a
  // stretch (both sets too large to hash, the walk too long to probe), or when it finds no page,
  // their ids are read below when they are few.
  const bounded = indexOnly && onlyMembers ? await memberWalk(knex, source, query, key) : null;
  if (indexOnly && bounded) {
    const page = (await queries.walkIndex(indexOnly, { bounded })) as PageRows;
    if (page.length > query.size) return page;
  }
  const fewIds = await fewMembers(knex, query.filters, source);
  if (byId && fewIds && onlyMembers) return (await queries.ofIds(fewIds)) as PageRows;
  // Read at most once: here (unless the caller set the walk's budget), and by collectInstead below.
  let assignmentIds: Promise<number[] | null> | undefined;
  const fewOfAssignments = () => (assignmentIds ??= byId ? fewAssignments(knex, source, query.filters) : Promise.resolve(null));
  // Where the key's index holds what these filters ask, its entries near the cursor are tested
  // first: unless the matches cluster elsewhere, a page is there (a shop's 41,895 customers of last
  // orders in 2025 by creation: 0.6 ms, where reading their ids stops at FEW_MATCHES).
  const shopId = source.kind === 'shop' ? source.shopId : undefined;
  const walkedAssignments = byId && shopId !== undefined && narrowedBy(query.filters, ASSIGNMENT_FILTERS) && key.holdsAssignments;
  const readsFew = oneAssignmentIndex(query.filters) && walkBudget === undefined;
  if (walkedAssignments) {
    const page = (await queries.walkAssignments(shopId, ASSIGNMENTS_WALKED)) as PageRows;
    if (page.length > query.size) return page;
    // Few matches the walk did not find near the cursor are read and sorted from the assignments.
    const few = readsFew ? ((await queries.fewInShop(shopId)) as PageRows) : [];
    const counted = few[0]?.matches;
    if (counted !== undefined && counted <= FEW_MATCHES) return few;
    if (counted !== undefined) assignmentIds = Promise.resolve(null);
  }
  // The ids of matches that the walk just now did not find near the cursor (a page past the last of
  // a few) are fetched and sorted.
  const assigned = readsFew ? await fewOfAssignments() : null;
  if (assigned) return (await queries.ofIds(assigned, { inShop: shopId, walked: walkedAssignments })) as PageRows;

  // A page without filters or search matches every row it walks and gets no budget; a narrowed
  // page's is found once its walk has taken a while (walkBudgetMs, from its matches before the cursor).
  const budget = narrowed(query) ? (walkBudget ?? (() => walkBudgetMs(knex, source, query, customerListFilter(knex, source, query, salesTeamId, { fewIds })))) : null;
  // Set aside by walkBudgetMs: a shop's few matches of its assignment filters, paged by id when
  // they are all its page needs to know.
  const collectInstead = async () => {
    const few = await fewOfAssignments();
    return few ? ((await queries.ofIds(few, { inShop: shopId })) as PageRows) : firstOf([contender<PageRows>(knex, COLLECT_SETTINGS, queries.collect(fewIds))]);
  };
  const { walk } = await walkOf(page, fewIds);
  // A sales team narrows even a page without filters, by as much as the planner reads from the
  // team's statistics: it may start parallel workers for a walk of a team of 1 % of the customers,
  // whose start here cost more than the page (a shop's first page for a team of 1 % of a million
  // customers: 75 ms, 65 of it before the first row; 12 ms without them).
  if (budget === null && salesTeamId !== null) return firstOf([contender<PageRows>(knex, NO_PARALLEL_WORKERS, walk)]);
  return readPage<PageRows>(knex, walk, () => queries.collect(fewIds), budget, collectInstead);
}

/**
 * How a page walks its sort key: the key's index alone where its entries, the sets' indexes and
 * a sales team's answer the filters, and only the page's rows are read from the tables; else along
 * the key with every walked row read (queries.walk). Alone:
 * - a page narrowed only by sets (and, in a shop, by what its assignments hold): each entry probed
 *   against them (pageQueries' walkIndex);
 * - a shop's filtered page on a key of its assignments, whatever the filters: the type and the
 *   country are tested on the entry, from the assignment's copies of them (migration 44), the sets
 *   probed for the entries those let through, and the customers' other own filters probed on
 *   their rows last. Five filters (one shop, B2B, AT, tag vip, spent ≥ 100; 18,827 entries for a
 *   page) probed the tag for every entry until the type and the country were copied: 45–72 ms at
 *   a million customers, 8–10 ms since (180–290 ms when each assignment's row was read as well);
 * - a sales team's page in a shop, without filters or with those above, on the assignments'
 *   copies of the team (migration 45): on a key of the assignments, the team's own entries of the
 *   shop (a team of 1 % of a million customers, 2,404 in the shop, with a tag: 3.6 ms, where the
 *   shop's 27,500 entries nearest the cursor were walked for 11 ms); on a customer key, the team's
 *   entries of the shop read once and tested as a hash when the planner expects at most
 *   HASHED_SET_MAX, else probed for each entry (a larger team matches within fewer entries, and
 *   reading it whole would cost more than the walk): by name 4.1 ms, against 4.6 hashing the
 *   team's 9,705 customers of every shop and probing the shop for those, and 20.6 ms probing the
 *   team for each of the 8,891 entries walked (a customer key's walk crosses every shop's
 *   customers). (Over all shops a walk reads each customer for its team about as fast as the
 *   team's index answers.)
 */
async function walkOf({ knex, source, query, salesTeamId, key, queries }: PageRequest, fewIds: number[] | null): Promise<{ walk: Knex.QueryBuilder }> {
  const table = key.indexOnly;
  const inShop = source.kind === 'shop';
  const alone = narrowedBy(query.filters, MEMBER_FILTERS) || (inShop && narrowedBy(query.filters, MEMBER_OR_ASSIGNMENT_FILTERS));
  const answered = alone || (inShop && table === 'customer_shops');
  // (In an object: a query builder is a thenable, which an async function would run.)
  if (!table || fewIds || searches(query.q)) return { walk: queries.walk(fewIds) };
  if (salesTeamId === null) return { walk: narrowed(query) && answered ? queries.walkIndex(table) : queries.walk(fewIds) };
  if (source.kind !== 'shop' || (narrowed(query) && !answered)) return { walk: queries.walk(fewIds) };
  const teamEntries = knex('customer_shops').select('customer_id').where({ shop_id: source.shopId, sales_team_id: salesTeamId });
  const ownEntries = table === 'customer_shops';
  const teamWalk = (planned: number) => ({ walk: queries.walkIndex(table, { team: { id: salesTeamId, hashed: planned <= HASHED_SET_MAX } }) });
  if (!narrowed(query)) return teamWalk(ownEntries ? 0 : await plannedRows(knex, teamEntries));
  // Filters with the team may leave a few customers of the shop, and a customer key's walk would
  // cross most of it (two tags with a team of 1 %, 9 customers: 76–115 ms, 33–55 ms as the planner
  // reads it); a key of the assignments crosses the team's own.
  const entries = ownEntries ? teamEntries : knex('customers').select('id');
  // The team's size only matters to a customer key's walk (hashed or probed).
  const [matches = 0, walked = 0, planned = 0] = await plannedRowsOfEach(knex, [customerListFilter(knex, source, query, salesTeamId).select('c.id'), entries, ...(ownEntries ? [] : [teamEntries])]);
  return (walked * (query.size + 1)) / Math.max(1, matches) > TEAM_WALK_MAX ? { walk: queries.walk(fewIds) } : teamWalk(planned);
}

/**
 * A filtered page of a sales team walks its key's index alone when the planner expects it to find
 * a page within this many entries (a tag with a team of 1 % of a million customers, about 34,000
 * in a shop: 20 ms against 22–34 ms).
 */
const TEAM_WALK_MAX = 100_000;

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
  const idColumn = key.id;
  const direction = ascending ? 'ASC' : 'DESC';
  const orderOf = (columns: string[]) => columns.map((column) => `${column} ${direction}`).join(', ');
  const keyColumns = key.parts.map((_, index) => `k${index}`);
  const withKeyColumns = (parts = key.parts) => parts.map((part, index) => knex.raw(`${part} AS ${keyColumns[index]}`));
  /** `parts`: the key's parts as the builder has them (a collected page's, as columns). */
  const afterCursor = (builder: Knex.QueryBuilder, id: string, parts = key.parts) => {
    if (!cursor) return builder;
    const casts = cursor.keys.map(() => castFor(key.type)).join(', ');
    return builder.whereRaw(`(${parts.join(', ')}, ${id}) ${ascending ? '>' : '<'} (${casts}, ?)`, [...cursor.keys, cursor.id]);
  };
  const matching = (fewIds: number[] | Knex.QueryBuilder | null) => afterCursor(customerListFilter(knex, source, query, salesTeamId, { fewIds }), idColumn);
  // A constant rather than a parameter: the first page without filters then has no parameters at all.
  const limited = (builder: Knex.QueryBuilder) => builder.limit(query.size + 1, { skipBinding: true });
  /** The page's customers in its order, from a page of their ids and sort keys. */
  const rowsOf = (page: Knex.QueryBuilder) => {
    const rows = knex.queryBuilder().from(page.as('m')).join({ c: 'customers' }, 'c.id', 'm.id');
    if (source.kind === 'shop') rows.join({ cs: 'customer_shops' }, (on) => on.on('cs.customer_id', 'm.id').andOnVal('cs.shop_id', source.shopId));
    return withListColumns(knex, rows, figures, key).orderByRaw(orderOf([...keyColumns.map((column) => `m.${column}`), 'm.id']));
  };
  /**
   * The page of `found` (its matches, each with its sort key), read once into "matches" and sorted:
   * `fromCursor`, the page starts at the cursor among them (else `found` does); `counted`, each
   * row also says how many they are.
   */
  const pageOfMatches = (found: Knex.QueryBuilder, { fromCursor, counted }: { fromCursor: boolean; counted: boolean }) => {
    const page = knex.queryBuilder().from('matches').select('id', ...keyColumns);
    if (fromCursor) afterCursor(page, 'id', keyColumns);
    const rows = rowsOf(limited(page.orderByRaw(orderOf([...keyColumns, 'id'])))).withMaterialized('matches', found.select({ id: idColumn }, ...withKeyColumns()));
    return counted ? rows.select(knex.raw('(SELECT count(*) FROM matches)::int AS matches')) : rows;
  };
  return {
    walk: (fewIds: number[] | null) => limited(withListColumns(knex, matching(fewIds), figures, key).orderByRaw(orderOf([...key.parts, idColumn]))),
    // From the first page on, the collected matches are all of them.
    collect: (fewIds: number[] | null) => pageOfMatches(matching(fewIds), { fromCursor: false, counted: !cursor }),
    /**
     * The page of a page narrowed only by membership filters (tags, a group, a segment) whose
     * members are more than a few, and in a shop also by what its assignments hold: its key's
     * index read alone, each entry probed against the sets' own indexes and the shop's assignment,
     * and only the page's customers read whole. At a million customers two tags together (5,911)
     * took 5.7 ms in psql this way, 19 ms reading every walked customer; a shop's customers whose
     * last order was in 2025 (41,895, most of them created long before the newest) 20.7 ms against
     * 54.7. `bounded`: at most so many entries, one set tested as a hash, and the entries a tag's own
     * instead of the key's index where memberWalk chose one (in the key's order, migration 46). `team`:
     * a sales team's page: its own entries of the shop walked, or on a customer key the shop's
     * assignments of its customers read once and tested as a hash, or probed (walkOf).
     */
    walkIndex: (table: NonNullable<SortKey['indexOnly']>, { bounded, team }: { bounded?: BoundedWalk; team?: { id: number; hashed: boolean } } = {}) => {
      // A tag's own entries, which keep the key as a copy (memberWalk), or the key's index.
      const walkedTag = key.inTagEntries && bounded?.walkedTag ? { ...bounded.walkedTag, part: key.inTagEntries } : undefined;
      const [alias, id] = walkedTag ? ['t', 't.customer_id'] : table === 'customers' ? ['c', 'c.id'] : ['cs', 'cs.customer_id'];
      const parts = walkedTag ? [walkedTag.part] : key.parts;
      const entries = afterCursor(knex.queryBuilder().from({ [alias]: walkedTag ? 'customer_tags' : table }), id, parts).select({ id }, ...withKeyColumns(parts));
      if (walkedTag) entries.where('t.tag', walkedTag.tag);
      // A shop's assignment, with what its filters ask of it and a sales team's page its copy of the
      // team (migration 45): the walked entry itself, or a probe.
      const assigned = (builder: Knex.QueryBuilder) => {
        if (source.kind !== 'shop') return;
        applyAssignmentFilters(knex, builder.where('cs.shop_id', source.shopId), source.shopId, query.filters);
        if (team) builder.where('cs.sales_team_id', team.id);
      };
      if (alias === 'cs') assigned(entries);
      const sets = memberSets(knex, query.filters);
      const walked: Knex.QueryBuilder = bounded ? knex.queryBuilder().from(entries.orderByRaw(orderOf([...parts, id])).limit(bounded.entries, { skipBinding: true }).as('w')).select('w.*') : entries;
      const hashedSet = bounded?.hashedSet;
      if (hashedSet !== undefined) walked.whereRaw('(w.id IN ?) IS TRUE', [sets[hashedSet]!]);
      const walkedId = bounded ? 'w.id' : id;
      // A walk of customers or of a tag's entries tests each customer's assignment, a team's few read once as a hash.
      if (source.kind === 'shop' && alias !== 'cs') {
        const probe = knex('customer_shops as cs').select('cs.customer_id');
        assigned(probe);
        if (team?.hashed) walked.whereRaw('(?? IN ?) IS TRUE', [walkedId, probe]);
        else walked.whereIn(walkedId, probe);
      }
      sets.forEach((set, index) => index !== hashedSet && index !== walkedTag?.set && walked.whereIn(walkedId, set));
      // Entries of a shop's assignments: the customers' own filters probed on their rows (walkOf).
      const own = alias === 'cs' ? customersOwnMatching(knex, query.filters) : null;
      if (own) walked.whereIn(walkedId, own);
      return rowsOf(limited(walked.orderByRaw(orderOf(bounded ? [...keyColumns.map((column) => `w.${column}`), 'w.id'] : [...key.parts, id]))));
    },
    /**
     * A shop's page narrowed only by what its assignments hold, on a key whose index includes all
     * of it (holdsAssignments): at most `most` of the index's entries from the cursor on, read from
     * the index alone and then filtered; only the page's customers are read whole.
     */
    walkAssignments: (shopId: number, most: number) => {
      const near = afterCursor(knex.queryBuilder().from({ cs: 'customer_shops' }), 'cs.customer_id')
        .where('cs.shop_id', shopId)
        .select([...new Set(['cs.customer_id', ...key.parts, ...ASSIGNMENT_FILTER_COLUMNS.map((column) => `cs.${column}`)])])
        .orderByRaw(orderOf([...key.parts, 'cs.customer_id']))
        .limit(most, { skipBinding: true });
      // Named cs again, so that the filters read its columns as they would the table's.
      const walked = knex.queryBuilder().from(near.as('cs')).select({ id: 'cs.customer_id' }, ...withKeyColumns());
      applyFilters(knex, walked, source, query.filters);
      return rowsOf(limited(walked.orderByRaw(orderOf([...key.parts, 'cs.customer_id']))));
    },
    /**
     * A shop's page of the few matches of its assignment filters (one of its indexes answers them)
     * on a key of the assignments: at most FEW_MATCHES + 1 of them read from the assignments alone,
     * sorted, and counted, in one statement. Their count says whether they were all (more: the
     * page is not theirs). 1,460 of a shop's customers whose last order was in the first half of
     * 2021, by creation, come from the last order's index, which includes the creation (migration
     * 43): 1.1 ms, where reading their ids (1 ms) and sending them back to be fetched (3.9 ms) took
     * two round trips.
     */
    fewInShop: (shopId: number) =>
      pageOfMatches(assignmentsMatching(knex, shopId, query.filters).limit(FEW_MATCHES + 1, { skipBinding: true }), { fromCursor: true, counted: true }),
    /**
     * The page of the customers `ids` are exactly (the page's other filters are checked all the
     * same). While they are spread over the sort order the key's index finds a page of them within
     * a few of its entries per customer of the page, read from the index alone and tested against
     * the ids as a hash: at a million customers, 2,041 of a shop awaiting approval in 1.8 ms, where
     * fetching each of them to sort them took 12 ms. A walk that finds fewer than a page within
     * WALKED_PER_ID entries per id (the ids cluster elsewhere in the order, or the page is the last)
     * costs about what fetching them does, and they are then fetched and sorted. Keys of an
     * expression (e-mail, city, country, last order) are only fetched and sorted, and so are ids
     * whose matches a walk near the cursor has just failed to find (`walked`, walkAssignments).
     * A shop's matches of its assignment filters alone (`inShop`) sorted by a key of the assignments
     * are fetched from the assignments alone (1,460 of a shop's customers of last orders in the
     * first half of 2021: 9 ms, 15 ms joined with the customers).
     */
    ofIds: (ids: number[], { inShop, walked: walkedNear = false }: { inShop?: number; walked?: boolean } = {}) => {
      // Sent once, and not estimated id by id (about 0.4 µs an id of planning).
      const known = knex.queryBuilder().from('ids').select('ids.id');
      const candidates =
        inShop !== undefined && idColumn === 'cs.customer_id' ? afterCursor(assignmentsMatching(knex, inShop, query.filters).whereIn('cs.customer_id', known), idColumn) : matching(known);
      const fetched = limited(candidates.select({ id: idColumn }, ...withKeyColumns()).orderByRaw(orderOf([...key.parts, idColumn])));
      // The ids are all the matches (a customer with two of "any of these tags" is in them twice).
      const withIds = (builder: Knex.QueryBuilder) =>
        builder.withMaterialized('ids', knex.raw('SELECT unnest(?::bigint[]) AS id', [ids])).select(knex.raw('(SELECT count(DISTINCT id) FROM ids)::int AS matches'));
      if (!key.indexOnly || walkedNear) return withIds(rowsOf(fetched));
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
 * What the assignment filters ask, which the indexes of the keys that hold assignments include
 * beside the key and the customer (migrations 41 and 44).
 */
const ASSIGNMENT_FILTER_COLUMNS = ['status', 'orders_count', 'total_spent', 'last_order_at'];

/**
 * How many entries of a shop's assignments walkAssignments tests before the page is read the
 * usual way: about 2 ms from PostgreSQL's buffers, and a page is found within them while at least
 * 1 in 385 of the entries matches. Fewer matches are read from the assignments alone
 * (fewInShop), so a shorter walk fails for less: a shop's 1,460 whose last order was in the first
 * half of 2021 took 4.2 ms, 5.5 ms after a walk of 20,000 (a million customers, five shops).
 */
const ASSIGNMENTS_WALKED = 10_000;

/**
 * How many entries of the sort key's index a page of known ids walks per id before the ids are
 * fetched and sorted instead: an entry read from the index and tested costs about 0.07 µs at a
 * million customers, fetching a customer by id about 3 µs, so a walk that fails costs about what
 * the fetch does.
 */
const WALKED_PER_ID = 30;

/**
 * How many of the key's index entries a walk may read before it gives up, and the membership set it
 * tests as a hash (read whole once) instead of probing its index for each entry, if any.
 */
interface BoundedWalk {
  entries: number;
  hashedSet?: number;
  /** The tag whose own entries are walked instead of the key's index (memberSets' set `set`). */
  walkedTag?: WalkedTag | undefined;
}

interface WalkedTag {
  set: number;
  tag: string;
}

/** Sets of at most this many members (by the planner's statistics) may be hashed: about 3 ms to read. */
const HASHED_SET_MAX = 40_000;

/** A hashed walk is tried when the planner expects it to fill a page within this many entries. */
const HASHED_WALK_MAX = 50_000;

/**
 * A walk probing every set is tried when the planner expects it to fill a page within this many
 * entries: each entry costs a probe of 3–5 µs at a million customers, so that one that fails (the
 * sets share fewer than they seem) costs at most about 50 ms more than reading their ids first.
 */
const PROBED_WALK_MAX = 5_000;

/**
 * How a page narrowed by membership sets is walked before any of them is read whole (null when
 * the walk would be too long). By creation (the list's default) a tag's own
 * entries are in that order (migration 46), and the smallest tag's are walked: they hold the
 * other sets' members as densely as the sets share them, where every customer's entries hold them
 * as densely as all customers do. Two tags of 77,000 each (5,911 in both) at a million customers:
 * 333 entries probed for the other tag, 1.1 ms in psql, against 4,474 customers probed for both,
 * 8 ms; a tag with a segment of 20,636 (1,587 in both): 1,105 entries, 1.9 ms, against 4.8 with
 * the segment hashed along the customers. A single tag's entries are its page over all shops; in
 * a shop each is probed for its assignment (two tags in a shop of 240,000: 5.4 ms, where their
 * 1,400 shared ids were read and fetched for 18.7 ms).
 * Otherwise all customers' index of the key is walked. The sets not walked are probed on each
 * entry, or the smallest is read once as a hash: a probe costs about what hashing
 * HASHED_MEMBERS_PER_PROBE members does, so a set is hashed (when at most HASHED_SET_MAX) only for
 * a walk long enough to pay for it. Two tags of 77,000 each by another key are probed along 4,474
 * entries, which reading up to FEW_MEMBERS of their intersection first (6–13 ms) only delayed.
 * The planner's sizes of the sets, taken as independent, say how far the walk goes for a page; it
 * may go four times that hashed, twice that probed, before the page is read the usual way (the sets
 * are smaller together than they look, or cluster elsewhere: two such tags that share no customer
 * took 57–63 ms instead of 35–37). Null for a shop's page without one tag's customers to walk, and
 * over all shops for a single set other than one tag.
 */
async function memberWalk(knex: Knex, source: ListSource, query: CustomerListQuery, key: SortKey): Promise<BoundedWalk | null> {
  const sets = memberSets(knex, query.filters);
  // The sets that are one tag's customers, whose entries hold the key (migration 46).
  const ofOneTag = key.inTagEntries ? memberSetKinds(query.filters).flatMap((kind, set) => (Array.isArray(kind) && kind.length === 1 ? [{ set, tag: kind[0]! }] : [])) : [];
  const shopId = source.kind === 'shop' ? source.shopId : undefined;
  if (shopId === undefined && sets.length === 1) return ofOneTag[0] ? { entries: query.size + 1, walkedTag: ofOneTag[0] } : null;
  if (shopId !== undefined && !ofOneTag.length) return null;
  // In a shop, the share of all customers its assignments are narrows the matches as a set would.
  const shopEntries = shopId === undefined ? [] : [knex('customer_shops').select('customer_id').where('shop_id', shopId)];
  const [customers = 0, ...planned] = await plannedRowsOfEach(knex, [knex('customers').select('id'), ...shopEntries, ...sets]);
  const sizes = planned.slice(shopEntries.length);
  const listed = shopId === undefined ? customers : planned[0]!;
  const walkedTag = ofOneTag.reduce<WalkedTag | undefined>((smaller, tagged) => (smaller && sizes[smaller.set]! <= sizes[tagged.set]! ? smaller : tagged), undefined);
  const matches = listed * shareOfAllSets(sizes, customers);
  const walk = ((walkedTag ? sizes[walkedTag.set]! : customers) * (query.size + 1)) / Math.max(1, matches);
  const probed = sizes.map((size, index) => ({ size, index })).filter(({ index }) => index !== walkedTag?.set);
  const smallest = probed.reduce((least, set) => (set.size < least.size ? set : least), { size: Infinity, index: -1 });
  const hashable = smallest.size <= HASHED_SET_MAX && walk <= HASHED_WALK_MAX;
  const probable = walk <= PROBED_WALK_MAX;
  if (hashable && (!probable || smallest.size <= HASHED_MEMBERS_PER_PROBE * walk)) return { entries: Math.ceil(4 * walk), hashedSet: smallest.index, walkedTag };
  return probable ? { entries: Math.ceil(2 * walk), walkedTag } : null;
}

/**
 * A probe of a set's index costs about what reading this many of a set's members into a hash does
 * (1.3 µs against 0.23 µs at a million customers, from PostgreSQL's buffers).
 */
const HASHED_MEMBERS_PER_PROBE = 5;

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

const MEMBER_OR_ASSIGNMENT_FILTERS: ReadonlySet<string> = new Set([...MEMBER_FILTERS, ...ASSIGNMENT_FILTERS]);

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
