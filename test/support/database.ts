import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, inject } from 'vitest';
import { createKnex } from '../../app/db/knex.js';
import { TEST_DATABASE_URL, databaseUrl } from './env.js';
import { makeShop } from './factories.js';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own, cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `cp_t_${inject('runId')}_${randomBytes(4).toString('hex')}`;
  const admin = createKnex(TEST_DATABASE_URL);
  try {
    await admin.raw(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
  } finally {
    await admin.destroy();
  }
  return {
    name,
    url: databaseUrl(name),
    async drop() {
      const again = createKnex(TEST_DATABASE_URL);
      try {
        await again.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await again.destroy();
      }
    },
  };
}

/**
 * For a test file that works on the database directly: its own database and a knex on it (with the
 * given pool), made before the file's tests (handed to `ready`) and dropped after them.
 */
export function useDatabase(ready: (db: { knex: Knex; name: string }) => void | Promise<void>, pool?: { min?: number; max?: number }): void {
  let db: TestDatabase | undefined;
  let knex: Knex | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    knex = createKnex(db.url, pool);
    await ready({ knex, name: db.name });
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
  });
}

/** As useDatabase, with one shop made first. */
export function useDatabaseWithShop(ready: (db: { knex: Knex; shopId: number }) => void): void {
  useDatabase(async ({ knex }) => ready({ knex, shopId: (await makeShop(knex)).id }));
}
