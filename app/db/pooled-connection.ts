import type { Knex } from 'knex';
import type pg from 'pg';

/** pg's client, with the id of its backend (pg keeps it from connecting; its types leave it out). */
export type PooledConnection = pg.Client & { processID: number };

/**
 * Runs `use` with one of knex's pooled connections to itself, as pg's client, and gives it back
 * after: for what knex's query builder cannot do (COPY streams, a backend to cancel, a migrator
 * that takes a client).
 */
export async function withPooledConnection<T>(knex: Knex, use: (connection: PooledConnection) => Promise<T>): Promise<T> {
  const connection = (await knex.client.acquireConnection()) as PooledConnection;
  try {
    return await use(connection);
  } finally {
    await knex.client.releaseConnection(connection);
  }
}
