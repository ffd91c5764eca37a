import type { Server } from 'node:http';
import type { AppContext } from './context.js';
import { createHttpServer } from './http/http-server.js';
import { createApp } from './server.js';

export interface RunningWeb {
  server: Server;
  close(): Promise<void>;
}

/** Listens, and on close stops taking connections and lets requests in flight finish. */
export async function startWeb(ctx: AppContext): Promise<RunningWeb> {
  const web = createApp(ctx);
  const server = createHttpServer(web.app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(ctx.config.port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Once listening, an error (a refused accept: too many open files) is logged; the server goes on.
  server.on('error', (error) => ctx.logger.error({ err: error }, 'HTTP server error'));
  return {
    server,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await web.close();
    },
  };
}
