// `npm run migrate`: brings DATABASE_URL to the latest schema.
import { bootstrap } from '../bootstrap.js';
import { createKnex } from '../db/knex.js';
import { migrateDatabase } from '../db/migrate.js';

const runtime = await bootstrap({ allowEmbedded: false });
const knex = createKnex(runtime.databaseUrl);
try {
  await migrateDatabase(knex);
  console.log('Database is up to date.');
} finally {
  await knex.destroy();
}
