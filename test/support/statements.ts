import type { Knex } from 'knex';
import { withPooledConnection } from '../../app/db/pooled-connection.js';

/** A statement as knex sends it: native SQL ($n placeholders) with its bindings and options. */
export interface SentStatement {
  sql: string;
  bindings: readonly unknown[];
  timeout?: number | false;
}

/** Every statement `knex` sends while `work` runs, and what `work` answered. */
export async function statementsOf<T>(knex: Knex, work: () => Promise<T>): Promise<{ result: T; statements: SentStatement[] }> {
  const statements: SentStatement[] = [];
  const listen = (query: { sql: string; bindings?: readonly unknown[]; timeout?: number | false }) => statements.push({ sql: query.sql, bindings: query.bindings ?? [], timeout: query.timeout });
  knex.on('query', listen);
  try {
    return { result: await work(), statements };
  } finally {
    knex.off('query', listen);
  }
}

/**
 * The plan of a statement with the given planner methods priced out (test tables are tiny, so the
 * planner would scan them): it names the index that can serve the statement.
 */
export async function planWithout(knex: Knex, statement: { sql: string; bindings: readonly unknown[] }, methods: Array<'enable_seqscan' | 'enable_sort' | 'enable_bitmapscan'>): Promise<string> {
  return withPooledConnection(knex, async (connection) => {
    try {
      for (const method of methods) await connection.query(`SET ${method} = off`);
      return (await connection.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${statement.sql}`, [...statement.bindings])).rows.map((row) => row['QUERY PLAN']).join('\n');
    } finally {
      for (const method of methods) await connection.query(`RESET ${method}`);
    }
  });
}
