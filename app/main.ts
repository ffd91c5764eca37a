// `npm run start:web`: the web process alone, against configured services. With WEB_CONCURRENCY
// above 1 it is a Node cluster: the primary only forks (and replaces) that many web processes,
// which share the port, so the app uses more than one core.
import cluster from 'node:cluster';
import { bootstrap, onShutdown } from './bootstrap.js';
import { createContext } from './context.js';
import { startWeb } from './web.js';

const runtime = await bootstrap({ allowEmbedded: false });
const processes = runtime.config.webConcurrency;

if (cluster.isPrimary && processes > 1) {
  let stopping = false;
  for (let i = 0; i < processes; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    runtime.logger.error({ pid: worker.process.pid, code, signal }, 'web process exited; starting another in a second');
    // The pause keeps a process that cannot start (database down) from being forked in a tight loop.
    setTimeout(() => {
      if (!stopping) cluster.fork();
    }, 1_000);
  });
  runtime.logger.info({ port: runtime.config.port, processes }, 'web cluster started');
  onShutdown(runtime.logger, async () => {
    stopping = true;
    // Each web process finishes its requests and closes its connections, then exits.
    const running = Object.values(cluster.workers ?? {}).filter((worker): worker is NonNullable<typeof worker> => worker !== undefined && !worker.isDead());
    await Promise.all(
      running.map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            worker.process.kill('SIGTERM');
          }),
      ),
    );
  });
} else {
  const ctx = await createContext(runtime.config, runtime.logger, runtime.databaseUrl);
  const web = await startWeb(ctx);
  const address = web.server.address();
  runtime.logger.info({ port: typeof address === 'object' && address ? address.port : ctx.config.port, adminHost: ctx.config.adminHost }, 'web listening');
  onShutdown(runtime.logger, async () => {
    await web.close();
    await ctx.close();
  });
}
