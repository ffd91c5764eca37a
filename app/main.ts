// `npm run start:web`: the web process alone, against configured services. With WEB_CONCURRENCY
// above 1 it is a Node cluster: the primary only forks (and replaces) that many web processes,
// which share the port, so the app uses more than one core.
import cluster from 'node:cluster';
import { bootstrap, onShutdown } from './bootstrap.js';
import { createContext } from './context.js';
import { startWeb } from './web.js';

/** A web process that exits within this long of its start counts as one that could not start. */
const QUICK_EXIT_MS = 10_000;
const MAX_QUICK_EXITS = 5;
const SHUTDOWN_GRACE_MS = 15_000;

const runtime = await bootstrap({ allowEmbedded: false });
const processes = runtime.config.webConcurrency;

if (cluster.isPrimary && processes > 1) {
  let stopping = false;
  let quickExits = 0;
  const forkedAt = new Map<number, number>();
  const fork = () => forkedAt.set(cluster.fork().id, Date.now());
  const running = () => Object.values(cluster.workers ?? {}).filter((worker): worker is NonNullable<typeof worker> => worker !== undefined && !worker.isDead());

  for (let i = 0; i < processes; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const lived = Date.now() - (forkedAt.get(worker.id) ?? 0);
    forkedAt.delete(worker.id);
    quickExits = lived < QUICK_EXIT_MS ? quickExits + 1 : 0;
    if (quickExits >= MAX_QUICK_EXITS) {
      // Something outside the app is wrong (port taken, database refused): let the process manager see it.
      runtime.logger.fatal({ pid: worker.process.pid, code, signal, quickExits }, 'web processes keep exiting right after they start; giving up');
      stopping = true;
      for (const other of running()) other.process.kill('SIGTERM');
      process.exit(1);
    }
    runtime.logger.error({ pid: worker.process.pid, code, signal }, 'web process exited; starting another in a second');
    // The pause keeps a process that cannot start from being forked in a tight loop.
    setTimeout(() => {
      if (!stopping) fork();
    }, 1_000);
  });
  runtime.logger.info({ port: runtime.config.port, processes }, 'web cluster started');
  onShutdown(runtime.logger, async () => {
    stopping = true;
    // Each web process finishes its requests and closes its connections, then exits; one that
    // hangs is killed after SHUTDOWN_GRACE_MS.
    const exits = running().map(
      (worker) =>
        new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          worker.process.kill('SIGTERM');
        }),
    );
    const grace = setTimeout(() => {
      for (const worker of running()) worker.process.kill('SIGKILL');
    }, SHUTDOWN_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(grace);
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
