// What a customer list matches: the FROM and WHERE of its pages, counts and exports, from the
// list's filters and search; and which of them narrow a page.
import type { Knex } from 'knex';
import type { ShopScope } from '../models/staff-user.model.js';
import type { CustomerFilters, CustomerListQuery } from '../schemas/customer-list.schema.js';
import { commonTrigrams, indexedPart } from './search-trigrams.js';

/** Where the rows come from: one shop's assignments, or (staff who see every shop) all customers. */
export type ListSource = { kind: 'shop'; shopId: number } | { kind: 'all' };

/** Search needs this many characters: shorter terms match too much to be useful. */
export const MIN_SEARCH_LENGTH = 3;

export interface FilterOptions {
  /** The few members of the membership filters (fewMembers), looked up by id instead of the sets. */
  fewIds?: number[] | Knex.QueryBuilder | null;
  /** Reads only this share (percent) of the customers' pages, for an estimate (sampledCount). */
  samplePercent?: number;
  /** Only for the planner's estimate of the matches (see applySearch). */
  planned?: boolean;
  /**
   * In a shop, the customer's type and country read from its assignment's copies (COPIED_FILTERS),
   * so that the planner can answer them from the assignments' indexes: five filters (one shop, B2B,
   * AT, tag vip, spent ≥ 100) counted 311 in 44 ms at a million customers, where reading each
   * customer for them ran out of the count's 100 ms (117 ms, then estimated as "About 280"). (Pages read the customer's: a country
   * sorted by city is read from the customers' country-and-city index.)
   */
  copies?: boolean;
}

/**
 * The FROM and WHERE of a list query (shared by the page, the count and exports). Every value is a
 * binding; columns are named here only, never taken from the request.
 */
export function customerListFilter(
  knex: Knex,
  source: ListSource,
  query: Pick<CustomerListQuery, 'q' | 'filters'>,
  salesTeamId: number | null,
  { fewIds, samplePercent, planned = false, copies = false }: FilterOptions = {},
): Knex.QueryBuilder {
  // A fixed seed: the same filters read the same pages on every request.
  const customers = samplePercent === undefined ? { c: 'customers' } : knex.raw('customers AS c TABLESAMPLE SYSTEM (?) REPEATABLE (0)', [samplePercent]);
  const builder = knex.queryBuilder().from(customers);
  if (source.kind === 'shop') builder.join({ cs: 'customer_shops' }, (on) => on.on('cs.customer_id', 'c.id').andOnVal('cs.shop_id', source.shopId));
  // In a shop, on the assignment's copy (migration 45): its (shop, team, created) index holds the
  // team's customers of the shop, which a customer's own column cannot narrow to the shop.
  if (salesTeamId !== null) builder.where(source.kind === 'shop' ? 'cs.sales_team_id' : 'c.sales_team_id', salesTeamId);
  applySearch(knex, builder, query.q, planned);
  applyFilters(knex, builder, source, query.filters, copies && source.kind === 'shop' ? 'cs' : 'c');
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
  const members = knex.queryBuilder().from(driver.as('m')).select('m.customer_id');
  for (const other of others) members.whereIn('m.customer_id', other);
  // Those of the shop, found by the assignments' primary key once the set is known to be small.
  const inShop = source.kind === 'shop' ? knex.raw('EXISTS (SELECT 1 FROM customer_shops cs WHERE cs.customer_id = few.customer_id AND cs.shop_id = ?)', [source.shopId]) : undefined;
  // A customer may be listed twice (two of the tags): that only makes the set look larger.
  return idsAtMost(knex, members, FEW_MEMBERS, inShop);
}

/** The membership filters, whose few members fewMembers finds. */
export const MEMBER_FILTERS: ReadonlySet<string> = new Set<keyof CustomerFilters>(['tag', 'group', 'segment']);

/**
 * A shop's customers its assignment filters (status, orders, spent, last order) allow, when they
 * are at most FEW_MATCHES: read from the assignments' (shop, …) indexes alone. Null when other
 * filters narrow the page or there are more.
 */
export async function fewAssignments(knex: Knex, source: ListSource, filters: CustomerFilters): Promise<number[] | null> {
  if (source.kind !== 'shop' || !narrowedBy(filters, ASSIGNMENT_FILTERS)) return null;
  return idsAtMost(knex, assignmentsMatching(knex, source.shopId, filters).select('cs.customer_id'), FEW_MATCHES);
}

/** A shop's assignments (as `cs`) that its assignment filters allow, read without the customers. */
export function assignmentsMatching(knex: Knex, shopId: number, filters: CustomerFilters): Knex.QueryBuilder {
  const assigned = knex.queryBuilder().from({ cs: 'customer_shops' }).where('cs.shop_id', shopId);
  applyFilters(knex, assigned, { kind: 'shop', shopId }, filters);
  return assigned;
}

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

export const ASSIGNMENT_FILTERS: ReadonlySet<string> = new Set<keyof CustomerFilters>(['status', 'ordersMin', 'ordersMax', 'spentMin', 'spentMax', 'lastOrderFrom', 'lastOrderTo']);

/**
 * The assignment filters that each (shop, …, customer) index of the assignments answers alone, its
 * entries read without the table (the last order's index is of an expression, and includes the
 * last order itself for that: migration 38).
 */
const ASSIGNMENT_INDEXES: ReadonlyArray<ReadonlySet<string>> = [['status'], ['ordersMin', 'ordersMax'], ['spentMin', 'spentMax'], ['lastOrderFrom', 'lastOrderTo']].map((filters) => new Set(filters));

/** `f` with only the filters `kept` says; the others none (tagMode, which narrows nothing, stays). */
function filtersWhere(f: CustomerFilters, kept: (key: string) => boolean): CustomerFilters {
  const entries = Object.entries(f).map(([key, value]) => [key, key === 'tagMode' || kept(key) ? value : Array.isArray(value) ? [] : undefined]);
  return Object.fromEntries(entries) as CustomerFilters;
}

/**
 * The filters of a customer's own columns whose values each of its assignments keeps a copy of
 * (migration 44), in the indexes of a shop's assignments that a page walks, so that the walk tests
 * them on the entry before it probes a tag or reads the customer.
 */
export const COPIED_FILTERS: ReadonlySet<string> = new Set<keyof CustomerFilters>(['type', 'country']);

/**
 * Customers (as `c`, their ids) that the filters of their own columns allow: not what a shop's
 * assignment holds or copies (ASSIGNMENT_FILTERS, COPIED_FILTERS, and the currency of its money
 * filters), nor the membership sets. Null when those filters do not narrow.
 */
export function customersOwnMatching(knex: Knex, f: CustomerFilters): Knex.QueryBuilder | null {
  const own = filtersWhere(f, (key) => !ASSIGNMENT_FILTERS.has(key) && !COPIED_FILTERS.has(key) && !MEMBER_FILTERS.has(key) && key !== 'spentCurrency');
  if (narrowingFilters(own).length === 0) return null;
  const customers = knex.queryBuilder().from({ c: 'customers' }).select('c.id');
  applyFilters(knex, customers, { kind: 'all' }, own);
  return customers;
}

/** What a shop's assignments (as `cs`) must hold or copy for `f`: its ASSIGNMENT_FILTERS and COPIED_FILTERS only. */
export function applyAssignmentFilters(knex: Knex, builder: Knex.QueryBuilder, shopId: number, f: CustomerFilters): void {
  applyFilters(knex, builder, { kind: 'shop', shopId }, filtersWhere(f, (key) => ASSIGNMENT_FILTERS.has(key) || COPIED_FILTERS.has(key)), 'cs');
}

/**
 * Whether one of the assignments' indexes alone answers the filters, so that fewAssignments reads
 * at most FEW_MATCHES + 1 of its entries. Filters of two indexes are read from one of them and
 * checked on the table: a shop's many active customers with a rare number of orders would be read
 * whole to find that they are few.
 */
export function oneAssignmentIndex(filters: CustomerFilters): boolean {
  return ASSIGNMENT_INDEXES.some((only) => narrowedBy(filters, only));
}

/**
 * Every customer the list matches, once each, as ids, when the page reads them as ids too and they
 * are few: a list narrowed only by membership sets (fewMembers), or in a shop only by what one of
 * its assignments' indexes answers (fewAssignments), without a search or a sales team to check.
 * Null otherwise.
 */
export async function fewMatchingIds(knex: Knex, source: ListSource, query: Pick<CustomerListQuery, 'q' | 'filters'>, salesTeamId: number | null): Promise<number[] | null> {
  if (salesTeamId !== null || searches(query.q)) return null;
  let ids: number[] | null = null;
  if (narrowedBy(query.filters, MEMBER_FILTERS)) ids = await fewMembers(knex, query.filters, source);
  else if (oneAssignmentIndex(query.filters)) ids = await fewAssignments(knex, source, query.filters);
  // fewMembers lists a customer with two of "any of these tags" twice.
  return ids && [...new Set(ids)];
}

/**
 * The customer ids a query of `customer_id`s gives, when they are at most `most` (it is read up to
 * one more); null when there are more, and then none are sent. One row with an array: a thousand
 * rows would cost more to receive than to find. `kept`: a condition on `few.customer_id` that the
 * ids returned must also meet, once they are known to be few.
 */
export async function idsAtMost(knex: Knex, ids: Knex.QueryBuilder, most: number, kept?: Knex.Raw): Promise<number[] | null> {
  const aggregate = kept ? knex.raw('array_agg(few.customer_id) FILTER (WHERE ?)', [kept]) : knex.raw('array_agg(few.customer_id)');
  const [row] = (await knex
    .queryBuilder()
    .from(ids.limit(most + 1).as('few'))
    .select(knex.raw('count(*)::int AS n, CASE WHEN count(*) <= ? THEN ? END AS ids', [most, aggregate]))) as Array<{ n: number; ids: string[] | null }>;
  return row && row.n <= most ? (row.ids ?? []).map(Number) : null;
}

/**
 * One subquery of customer ids per membership filter ("all of these tags": one per tag). Each reads
 * its table's primary key or (tag, customer created, customer) index; a segment's members are kept
 * in a table of their own (segment_members, by triggers on its customers and its groups' members).
 */
export function memberSets(knex: Knex, f: CustomerFilters): Knex.QueryBuilder[] {
  const taggedWith = (tags: string[]) => knex('customer_tags as t').select('t.customer_id').whereIn('t.tag', tags);
  return memberSetKinds(f).map((kind) => {
    if (kind === 'group') return knex('customer_group_members as gm').select('gm.customer_id').where('gm.group_id', f.group);
    if (kind === 'segment') return knex('segment_members as sm').select('sm.customer_id').where('sm.segment_id', f.segment);
    return taggedWith(kind);
  });
}

/** What each of memberSets' sets is, in its order: the tags whose customers it holds, or a group or segment's members. */
export function memberSetKinds(f: CustomerFilters): Array<string[] | 'group' | 'segment'> {
  const sets: Array<string[] | 'group' | 'segment'> = f.tagMode === 'all' ? f.tag.map((tag) => [tag]) : f.tag.length ? [f.tag] : [];
  if (f.group !== undefined) sets.push('group');
  if (f.segment !== undefined) sets.push('segment');
  return sets;
}

/**
 * The share of all `customers` that every one of the membership sets of `sizes` allows, taking
 * them as independent (as the planner does filters on one table).
 */
export function shareOfAllSets(sizes: readonly number[], customers: number): number {
  return sizes.reduce((product, size) => product * Math.min(1, size / Math.max(1, customers)), 1);
}

function applySearch(knex: Knex, builder: Knex.QueryBuilder, q: string, planned: boolean): void {
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
  // The names are words of the search text, so a similar name makes the search text similar too:
  // its trigram index finds the candidates (the names have no index of their own, see migration
  // 39). The name is checked first: it is short, and most rows a walk tests fail on it. The planner
  // takes the two for independent conditions and multiplies their shares ("andersn" at a million
  // customers: 198 to 706 for 41,802, as its sample of the table fell), and believing the matches
  // that few it read and sorted all of them for a page (650 ms) instead of walking the sort
  // order: the name's check is a CASE, which it takes for one row in two (5,084), and an estimate
  // is asked of the search text's alone.
  const similar = planned
    ? knex.raw('c.search_text %> ?', [term])
    : knex.raw("(CASE WHEN ? <% (c.first_name || ' ' || c.last_name) THEN true ELSE false END AND c.search_text %> ?)", [term, term]);
  builder.where((w) => w.where(matchesText).orWhere(similar));
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

/**
 * `copies`: where the customer's type and country are read, the customer's own row or (COPIED_FILTERS)
 * the copies its shop's assignment keeps.
 */
export function applyFilters(knex: Knex, builder: Knex.QueryBuilder, source: ListSource, f: CustomerFilters, copies: 'c' | 'cs' = 'c'): void {
  const figures = source.kind === 'shop' ? 'cs' : 'c';
  if (f.state.length) builder.whereIn('c.state', f.state);
  if (f.type.length) builder.whereIn(`${copies}.customer_type`, f.type);
  if (f.status.length && source.kind === 'shop') builder.whereIn('cs.status', f.status);
  // As the country-and-city index has it, so that a country (rare, or sorted by) is read from that index.
  if (f.country.length) builder.whereRaw(`coalesce(${copies}.billing_country, '') IN (${f.country.map(() => '?').join(', ')})`, f.country);
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

/** Whether a search term is long enough to search by (a shorter one lists as if there were none). */
export function searches(q: string): boolean {
  return q.trim().length >= MIN_SEARCH_LENGTH;
}

/** Whether a search or a filter narrows the page (its matches may then cluster in the sort order). */
export function narrowed(query: Pick<CustomerListQuery, 'q' | 'filters'>): boolean {
  return searches(query.q) || narrowingFilters(query.filters).length > 0;
}

/** Whether the filters narrow the page, and only by filters of `only`. */
export function narrowedBy(filters: CustomerFilters, only: ReadonlySet<string>): boolean {
  const keys = narrowingFilters(filters);
  return keys.length > 0 && keys.every((key) => only.has(key));
}

function narrowingFilters(filters: CustomerFilters): string[] {
  return Object.entries(filters)
    .filter(([key, value]) => key !== 'tagMode' && (Array.isArray(value) ? value.length > 0 : value !== undefined))
    .map(([key]) => key);
}

/** Which source a request lists: the chosen shop if the staff member may see it, else their first shop. */
export function resolveListSource(scope: ShopScope, shops: Array<{ id: number }>, requested: number | 'all' | undefined): ListSource | null {
  if (requested === 'all' && scope === 'all') return { kind: 'all' };
  if (typeof requested === 'number' && shops.some((s) => s.id === requested)) return { kind: 'shop', shopId: requested };
  if (scope === 'all' && requested === undefined) return { kind: 'all' };
  const first = shops[0];
  return first ? { kind: 'shop', shopId: first.id } : null;
}
