import type { Knex } from 'knex';

/** How many rows PostgreSQL's planner expects `sql` to return: what its statistics say, not a count. */
export async function plannedRows(knex: Knex, sql: string, bindings: Knex.RawBinding[] = []): Promise<number> {
  const result = await knex.raw(`EXPLAIN (FORMAT JSON) ${sql}`, bindings);
  return (result.rows[0]['QUERY PLAN'] as Array<{ Plan: { 'Plan Rows': number } }>)[0]!.Plan['Plan Rows'];
}
