// `npm run start:web`: the web process alone, against configured services.
import { bootstrap, onShutdown } from './bootstrap.js';
import { createContext } from './context.js';
import { startWeb } from './web.js';

const runtime = await bootstrap({ allowEmbedded: false });
const ctx = await createContext(runtime.config, runtime.logger, runtime.databaseUrl);
const web = await startWeb(ctx);
runtime.logger.info({ port: ctx.config.port, adminHost: ctx.config.adminHost }, 'web listening');
onShutdown(runtime.logger, async () => {
  await web.close();
  await ctx.close();
});
