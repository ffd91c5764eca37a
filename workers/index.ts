// `npm run start:worker`: the queue workers alone, against configured services. Any number may run.
import { bootstrap, onShutdown } from '../app/bootstrap.js';
import { createContext } from '../app/context.js';
import { startAllWorkers } from './all-workers.js';

const runtime = await bootstrap({ allowEmbedded: false });
const ctx = await createContext(runtime.config, runtime.logger, runtime.databaseUrl);
const workers = await startAllWorkers(ctx);
runtime.logger.info({ backend: ctx.queueBackend.kind }, 'worker running');
onShutdown(runtime.logger, async () => {
  await workers.close();
  await ctx.close();
});
