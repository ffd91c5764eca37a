// `npm run seed`: demo data (SPEC section 15) on an empty, migrated database.
import { bootstrap } from '../bootstrap.js';
import { createKnex } from '../db/knex.js';
import { migrateDatabase } from '../db/migrate.js';
import { databaseIsEmpty, seedDemoData } from '../../seeds/demo.seed.js';
import { cliOptions } from './args.js';
import { printDemoLogins } from './print-welcome.js';

const options = cliOptions({ customers: { type: 'string' } });
const runtime = await bootstrap({ allowEmbedded: false });
const knex = createKnex(runtime.databaseUrl);
try {
  await migrateDatabase(knex);
  if (!(await databaseIsEmpty(knex))) {
    console.log('The database already has data; nothing was seeded.');
  } else {
    const customers = options.customers === undefined ? undefined : Number(options.customers);
    if (customers !== undefined && (!Number.isInteger(customers) || customers < 1 || customers > 5_000)) {
      console.error('--customers must be a whole number from 1 to 5000 (the COPY-based large set is not built yet).');
      process.exitCode = 1;
    } else {
      printDemoLogins(await seedDemoData(knex, { customers }));
    }
  }
} finally {
  await knex.destroy();
}
