// `npm run seed`: demo data (SPEC section 15) on an empty database; `-- --customers N` above
// 5,000 adds the large benchmark set.
import { bootstrap } from '../bootstrap.js';
import path from 'node:path';
import { createKnex } from '../db/knex.js';
import { migrateDatabase } from '../db/migrate.js';
import { databaseIsEmpty, seedDemoData } from '../../seeds/demo.seed.js';
import { seedLargeData } from '../../seeds/large.seed.js';
import { createLocalFileStorage } from '../storage/file-storage.js';
import { cliOptions } from './args.js';
import { printDemoLogins } from './print-welcome.js';

const options = cliOptions({ customers: { type: 'string' } });
/** Up to this many customers the detailed demo generator runs; above it, the set-based large one. */
const DEMO_LIMIT = 5_000;
const runtime = await bootstrap({ allowEmbedded: false });
const knex = createKnex(runtime.databaseUrl);
// Demo documents' files (F-FILE) go where the app keeps uploads.
const files = createLocalFileStorage(path.join(runtime.config.dataDir, 'files'));
try {
  await migrateDatabase(knex);
  const customers = options.customers === undefined ? undefined : Number(options.customers);
  if (customers !== undefined && (!Number.isInteger(customers) || customers < 1 || customers > 10_000_000)) {
    console.error('--customers must be a whole number from 1 to 10000000.');
    process.exitCode = 1;
  } else if (customers !== undefined && customers > DEMO_LIMIT) {
    // The benchmark set: added on top of the demo data (seeded first when the database is empty).
    if (await databaseIsEmpty(knex)) printDemoLogins(await seedDemoData(knex, { files }));
    const report = await seedLargeData(knex, customers, (line) => console.log(`  ${line}`));
    console.log(`Added ${report.customers} customers and ${report.orders} orders in ${report.seconds} s.`);
  } else if (!(await databaseIsEmpty(knex))) {
    console.log('The database already has data; nothing was seeded.');
  } else {
    printDemoLogins(await seedDemoData(knex, { customers, files }));
  }
} finally {
  await knex.destroy();
}
