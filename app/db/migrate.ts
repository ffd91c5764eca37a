import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { runMigrations as runBullmqMigrations } from 'bullmq';
import { withPooledConnection } from './pooled-connection.js';

export const MIGRATIONS_DIRECTORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');
export const BULLMQ_SCHEMA = 'bullmq';

/**
 * Brings the database to the latest schema: our knex migrations, then BullMQ's own schema for its
 * PostgreSQL backend. BullMQ's migrator takes an advisory lock, and running it here once means the
 * queue processes never migrate concurrently on first use.
 */
export async function migrateDatabase(knex: Knex): Promise<void> {
  await knex.migrate.latest({ directory: MIGRATIONS_DIRECTORY, loadExtensions: ['.ts'] });
  await withPooledConnection(knex, (client) => runBullmqMigrations(client, BULLMQ_SCHEMA));
}
