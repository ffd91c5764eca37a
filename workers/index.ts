// `npm run start:worker`: the queue workers alone, against configured services. Any number may run.
import { bootstrap, onShutdown } from '../app/bootstrap.js';
import { createContext } from '../app/context.js';
import { startBulkWorker } from './bulk.worker.js';
import { startImportWorker } from './import.worker.js';
import { startMailWorker } from './mail.worker.js';

const runtime = await bootstrap({ allowEmbedded: false });
const ctx = await createContext(runtime.config, runtime.logger, runtime.databaseUrl);
const mail = await startMailWorker(ctx);
const bulk = startBulkWorker(ctx);
const imports = startImportWorker(ctx);
runtime.logger.info({ backend: ctx.queueBackend.kind }, 'worker running');
onShutdown(runtime.logger, async () => {
  await Promise.all([mail.close(), bulk.close(), imports.close()]);
  await ctx.close();
});
