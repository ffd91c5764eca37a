// `npm start`: everything in one process — embedded PostgreSQL when DATABASE_URL is unset,
// migrations, demo data on an empty database, the web server and the workers.
import { bootstrap, onShutdown } from '../bootstrap.js';
import { createContext } from '../context.js';
import { createKnex } from '../db/knex.js';
import { migrateDatabase } from '../db/migrate.js';
import { startWeb } from '../web.js';
import { startAllWorkers } from '../../workers/all-workers.js';
import { databaseIsEmpty, seedDemoData } from '../../seeds/demo.seed.js';
import { printDemoLogins, printUrls } from './print-welcome.js';

const started = Date.now();
const runtime = await bootstrap({ allowEmbedded: true });
// Before the context: a queue on BullMQ's PostgreSQL backend checks its schema once, when it is
// created, and a queue created before the migration stayed unusable for the life of the process
// (the first `npm start` on an empty database could schedule and run no job).
const migrator = createKnex(runtime.databaseUrl);
try {
  await migrateDatabase(migrator);
} finally {
  await migrator.destroy();
}
const ctx = await createContext(runtime.config, runtime.logger, runtime.databaseUrl);
if (await databaseIsEmpty(ctx.knex)) {
  runtime.logger.info('empty database: seeding demo data');
  printDemoLogins(await seedDemoData(ctx.knex, { files: ctx.files }));
}
const workers = await startAllWorkers(ctx);
const web = await startWeb(ctx);
printUrls(runtime.config);
runtime.logger.info({ ms: Date.now() - started, queueBackend: ctx.queueBackend.kind }, 'ready');

onShutdown(runtime.logger, async () => {
  await web.close();
  await workers.close();
  await ctx.close();
  await runtime.stop();
});
