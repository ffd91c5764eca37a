import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { Model, knexSnakeCaseMappers } from 'objection';

// bigint columns (ids, money in minor units) come back as JS numbers: our values stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

export function createKnex(databaseUrl: string, pool: { min?: number; max?: number } = {}): Knex {
  return knexFactory({
    client: 'pg',
    // JIT compiles a query when the planner thinks it is expensive: tens of milliseconds that a
    // short, index-driven page query (the customer list at a million rows) never wins back.
    connection: { connectionString: databaseUrl, options: '-c jit=off' },
    pool: { min: pool.min ?? 0, max: pool.max ?? 10 },
    // Columns are snake_case in SQL and camelCase in TypeScript, for knex and objection alike.
    ...knexSnakeCaseMappers(),
  });
}

/** Binds the objection models to this knex instance (one database per process). */
export function bindModels(knex: Knex): void {
  Model.knex(knex);
}
