import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { Model, knexSnakeCaseMappers } from 'objection';

// bigint columns (ids, money in minor units) come back as JS numbers: our values stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

/**
 * How long a pooled connection is kept unused before it is closed. A new connection is a new
 * PostgreSQL process whose caches of the schema and prepared statements start empty: at a million
 * customers the first list page on new connections took 78 ms instead of 5–10 ms (two tags together
 * 120 ms instead of 45). With the pools' defaults (30 s for knex, 10 s for pg's) a staff member who
 * read a page for half a minute paid that on the next click.
 */
export const IDLE_CONNECTION_MS = 10 * 60_000;

/**
 * What every pool of this app connects with. TCP keep-alive probes, so that a connection left
 * unused that long is neither dropped silently by a firewall on the way nor kept once the server
 * has gone.
 */
const connectionConfig = (databaseUrl: string) => ({ connectionString: databaseUrl, keepAlive: true, keepAliveInitialDelayMillis: 60_000 });

/** The pg pool options of a pool outside knex (the session stores). */
export const poolConfig = (databaseUrl: string): pg.PoolConfig => ({ ...connectionConfig(databaseUrl), idleTimeoutMillis: IDLE_CONNECTION_MS });

export function createKnex(databaseUrl: string, pool: { min?: number; max?: number } = {}): Knex {
  return knexFactory({
    client: 'pg',
    // JIT compiles a query when the planner thinks it is expensive: tens of milliseconds that a
    // short, index-driven page query (the customer list at a million rows) never wins back.
    connection: { ...connectionConfig(databaseUrl), options: '-c jit=off' },
    pool: { min: pool.min ?? 0, max: pool.max ?? 10, idleTimeoutMillis: IDLE_CONNECTION_MS },
    // Columns are snake_case in SQL and camelCase in TypeScript, for knex and objection alike.
    ...knexSnakeCaseMappers(),
  });
}

/** Binds the objection models to this knex instance (one database per process). */
export function bindModels(knex: Knex): void {
  Model.knex(knex);
}
