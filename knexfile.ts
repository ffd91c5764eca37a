// For the knex CLI (e.g. `npx knex migrate:status`); the app itself migrates through `npm run migrate`.
import { MIGRATIONS_DIRECTORY } from './app/db/migrate.js';

export default {
  client: 'pg',
  connection: process.env.DATABASE_URL,
  migrations: { directory: MIGRATIONS_DIRECTORY, loadExtensions: ['.ts'] },
};
