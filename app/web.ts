import type { Server } from 'node:http';
import type { AppContext } from './context.js';
import { createApp } from './server.js';

export interface RunningWeb {
  server: Server;
  close(): Promise<void>;
}

/** Listens, and on close stops taking connections and lets requests in flight finish. */
export async function startWeb(ctx: AppContext): Promise<RunningWeb> {
  const web = createApp(ctx);
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = web.app.listen(ctx.config.port, (err?: Error) => (err ? reject(err) : resolve(listening)));
  });
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
