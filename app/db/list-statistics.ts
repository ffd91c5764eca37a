import type { Knex } from 'knex';

/**
 * The tables whose statistics decide how a customer list page is planned: how many customers a
 * tag, a group, a segment, a shop or a state has decides whether a page walks the sort index and
 * tests each customer, or reads the set and sorts it.
 */
export type ListTable = 'customers' | 'customer_shops' | 'customer_tags' | 'customer_group_members' | 'segment_members';

/**
 * From this many changed rows, one action refreshes the statistics itself. Smaller sets are planned
 * well without: the list reads a set of up to 2,000 members (FEW_MEMBERS) as a list of ids. An
 * ANALYZE samples at most 30,000 rows, so it costs about the same at any size (20–50 ms at a
 * million customers).
 */
export const LARGE_CHANGE_ROWS = 5_000;

/**
 * After a large set-based change, brings the planner's statistics of the tables it wrote up to
 * date. Autovacuum analyzes a table only once a tenth of it changed, and a minute later at best: a
 * bulk tag of 100,000 customers in a table of 1.3 million tag rows never gets there, and until then
 * the list plans that tag as if no customer had it (at a million customers its first page took
 * 382 ms instead of 2 ms; a segment given a group of 143,000, 407 ms instead of 1 ms).
 *
 * Runs after the change committed, so the sample sees it. SKIP_LOCKED: a table that autovacuum or
 * another ANALYZE is working on is left to it; waiting could hold the job up for minutes. A failure
 * is not the action's: what it changed is committed and stays, and stale statistics slow some
 * pages until autovacuum analyzes the table, so it does not fail the action (or its job's retry).
 */
export async function refreshListStatistics(knex: Knex, changedRows: number, tables: readonly ListTable[]): Promise<void> {
  if (changedRows < LARGE_CHANGE_ROWS) return;
  for (const table of new Set(tables)) await knex.raw('ANALYZE (SKIP_LOCKED) ??', [table]).catch(() => undefined);
}

interface PlanNode {
  'Plan Rows': number;
  'Node Type': string;
  Plans?: PlanNode[];
}

async function planOf(knex: Knex, query: Knex.QueryBuilder | Knex.Raw): Promise<PlanNode | undefined> {
  const { sql, bindings } = query.toSQL();
  const plan = await knex.raw(`EXPLAIN (FORMAT JSON) ${sql}`, bindings as Knex.RawBinding[]);
  const [explained] = Object.values(plan.rows[0] as Record<string, Array<{ Plan: PlanNode }>>);
  return explained?.[0]?.Plan;
}

/** The rows the planner expects a query to return: what its statistics say (EXPLAIN, nothing run). */
export async function plannedRows(knex: Knex, query: Knex.QueryBuilder | Knex.Raw): Promise<number> {
  return Number((await planOf(knex, query))?.['Plan Rows'] ?? 0);
}

/**
 * The rows the planner expects of each query, in one EXPLAIN (their UNION ALL: one branch each).
 * The queries are left as they were (naming one as a subquery would name it wherever it is used next).
 */
export async function plannedRowsOfEach(knex: Knex, queries: Knex.QueryBuilder[]): Promise<number[]> {
  const [first, ...others] = queries.map((query) => knex.queryBuilder().from(query.clone().as('q')).select(knex.raw('1')));
  if (!first) return [];
  const plan = await planOf(knex, others.length ? first.unionAll(others, true) : first);
  const branches = plan?.['Node Type'] === 'Append' ? (plan.Plans ?? []) : [plan];
  return queries.map((_, index) => Number(branches[index]?.['Plan Rows'] ?? 0));
}

/**
 * Filtered and searched pages are walked and collected without parallel workers: costing a walk as
 * if it read every row, the planner starts two for a 26-row page, which costs more than it saves
 * (at 1M customers on two cores: five filters combined walked in 205–250 ms with workers and about
 * 60 ms without; two tags together 49–55 ms with, 29–35 ms without), and leaves no core to a
 * collect started alongside.
 */
export const NO_PARALLEL_WORKERS = ["set_config('max_parallel_workers_per_gather', '0', true)"];

/**
 * A collected page (and a count) also has sequential scans priced out, so that the matches come
 * from the indexes of the filters and the search, even where the planner believes a filter matches
 * much of the table.
 */
export const COLLECT_SETTINGS = [...NO_PARALLEL_WORKERS, "set_config('enable_seqscan', 'off', true)"];
