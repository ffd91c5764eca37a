// How many customers a list matches: exactly when few, else estimated (from a sample or the planner).
import type { Knex } from 'knex';
import { COLLECT_SETTINGS, NO_PARALLEL_WORKERS, plannedRows, plannedRowsOfEach } from '../db/list-statistics.js';
import { QUERY_CANCELED } from '../db/pooled-connection.js';
import type { CustomerListQuery } from '../schemas/customer-list.schema.js';
import { customerListFilter, fewMatchingIds, type ListSource, memberSets, searches, shareOfAllSets } from './customer-list-filter.js';

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
  // Matches the page reads as ids are counted so: from the sets' or the assignments' indexes alone
  // (a shop's 1,460 customers of a half year of last orders: 3 ms, where counting them over cold
  // table pages had run out of its budget and shown "About 1,700").
  const ids = await fewMatchingIds(knex, source, query, salesTeamId);
  if (ids) return { value: ids.length, exact: true };
  const { sql, bindings } = customerListFilter(knex, source, query, salesTeamId, { copies: true }).select(knex.raw('1')).toSQL();
  const counted = await firstRowWithin<{ n: number }>(knex, COLLECT_SETTINGS, budgetMs, `SELECT count(*)::int AS n FROM (${sql} LIMIT ${EXACT_COUNT_LIMIT + 1}) s`, bindings);
  if (!counted) return { value: Math.max(1, figureOf(await sample()) ?? estimate), exact: false };
  const { n } = counted;
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
  const { sql, bindings } = customerListFilter(knex, source, query, salesTeamId, { samplePercent: percent }).select({ page: knex.raw('(c.ctid::text::point)[0]') }).toSQL();
  const sample = await firstRowWithin<{ matches: number; pages: number }>(knex, NO_PARALLEL_WORKERS, budgetMs, `SELECT count(*)::int AS matches, count(DISTINCT page)::int AS pages FROM (${sql}) s`, bindings);
  if (!sample) return null;
  if (sample.matches < MIN_SAMPLED_MATCHES) return 'few';
  return sample.pages >= MIN_SAMPLED_PAGES ? Math.round((sample.matches * 100) / percent) : null;
}

/** The first row `sql` answers, read with `settings` in a transaction of its own; null when it took longer than `budgetMs`. */
async function firstRowWithin<T>(knex: Knex, settings: string[], budgetMs: number, sql: string, bindings: readonly unknown[]): Promise<T | null> {
  try {
    return await knex.transaction(async (trx) => {
      await trx.raw(`SELECT ${[...settings, "set_config('statement_timeout', ?, true)"].join(', ')}`, [`${budgetMs}ms`]);
      return (await trx.raw(sql, bindings as Knex.RawBinding[])).rows[0] as T;
    });
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
  const matches = customerListFilter(knex, source, others, salesTeamId, { planned: true }).select(knex.raw('1'));
  const sets = memberSets(knex, f);
  if (!sets.length) return Math.round(await plannedRows(knex, matches));
  const [estimate = 0, customers = 0, ...sizes] = await plannedRowsOfEach(knex, [matches, knex('customers').select('id'), ...sets]);
  return Math.round(estimate * shareOfAllSets(sizes, customers));
}
