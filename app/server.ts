import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { AppContext } from './context.js';
import { adminRouter } from './http/admin/admin.router.js';
import { csrfProtection } from './http/middleware/csrf.js';
import { errorHandler, notFound } from './http/middleware/errors.js';
import { requestHostname } from './http/middleware/hosts.js';
import { createSessionStore, sessionMiddleware } from './http/middleware/sessions.js';
import { render } from './http/render.js';
import { storefrontRouter } from './http/storefront/storefront.router.js';
import { createViewEngine } from './http/views.js';

const PUBLIC_DIRECTORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../public');
const REQUEST_ID = /^[A-Za-z0-9-]{8,64}$/;

export interface WebApp {
  app: Express;
  close(): Promise<void>;
}

/** Builds the Express app for every host; it never listens (main.ts and the tests do). */
export function createApp(ctx: AppContext): WebApp {
  const app = express();
  app.disable('x-powered-by');
  // Pages are per staff member or customer and carry a CSRF token, so a 304 never happens: hashing
  // every body for an ETag is wasted work (static files keep theirs).
  app.disable('etag');
  app.set('trust proxy', ctx.config.trustProxy);
  app.locals.views = createViewEngine(ctx.config.env !== 'development');

  app.use(
    pinoHttp({
      logger: ctx.logger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Paths can carry tokens (invitation, reset, group URL): log the route shape, not the secret.
      serializers: {
        req: (req) => ({ id: req.id, method: req.method, url: redactTokens(req.url), host: req.headers.host }),
        // Redirects can carry them too (Shop As Customer's hand-over link in HX-Redirect / Location).
        res: (res: { statusCode: number; headers?: Record<string, unknown> }) => ({ statusCode: res.statusCode, headers: redactRedirectHeaders(res.headers) }),
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    }),
  );
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          upgradeInsecureRequests: ctx.config.publicScheme === 'https' ? [] : null,
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: ctx.config.publicScheme === 'https',
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.type('text').send('ok');
  });
  app.get('/readyz', async (_req, res) => {
    const checks = await readiness(ctx);
    res.status(Object.values(checks).every((ok) => ok) ? 200 : 503).json(checks);
  });
  app.use('/static', express.static(PUBLIC_DIRECTORY, { maxAge: ctx.config.env === 'production' ? '1d' : 0, index: false }));
  // Parsed once the host is known, so a refused body (413, 400) gets the error page of its shop.
  const formBody = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 });

  // One store per area: express-session writes its cookie settings onto the store it is given.
  const stores = [createSessionStore(ctx, 'admin'), createSessionStore(ctx, 'shop')] as const;
  const adminStack = express.Router();
  const adminSession = sessionMiddleware(ctx, stores[0], 'admin');
  // F-GRP-6: a batch connect takes up to 10,000 pasted e-mail addresses; only these two forms get
  // the larger limit, and only in a signed-in session: anyone else's body meets the usual limit
  // (413) instead of being read and parsed. (The session is read once; express-session skips a
  // request that already has one.)
  const largeForm = express.urlencoded({ extended: false, limit: '3mb', parameterLimit: 20 });
  adminStack.use(['/admin/groups/:groupId/batch', '/admin/groups/segments/:segmentId/customers'], adminSession, ((req, res, next) =>
    (req.session as { passport?: { user?: unknown } }).passport?.user ? largeForm(req, res, next) : next()) as RequestHandler);
  adminStack.use(formBody, adminSession, csrfProtection, adminRouter(ctx), notFound);
  const shopStack = express.Router();
  shopStack.use(formBody, sessionMiddleware(ctx, stores[1], 'shop'), csrfProtection, storefrontRouter(ctx), notFound);

  const byHost: RequestHandler = async (req, res, next) => {
    const hostname = requestHostname(req);
    if (hostname === ctx.config.adminHost) return adminStack(req, res, next);
    const shop = await ctx.resolveShop(hostname);
    if (!shop) return render(req, res, 'pages/unknown-host', {}, { status: 404 });
    req.shop = shop;
    res.locals.shop = shop;
    shopStack(req, res, next);
  };
  app.use(byHost);
  app.use(errorHandler);

  return {
    app,
    async close() {
      for (const store of stores) store.close?.();
    },
  };
}

async function readiness(ctx: AppContext): Promise<Record<string, boolean>> {
  const checks: Record<string, boolean> = {};
  checks.postgres = await withTimeout(ctx.knex.raw('select 1').then(() => true));
  if (ctx.redis) checks.redis = await withTimeout(ctx.redis.ping().then((reply) => reply === 'PONG'));
  // BullMQ's PostgreSQL backend checks its schema once per queue and keeps a failure: a process
  // started before the migration can enqueue nothing until it is restarted, so it is not ready.
  if (ctx.queueBackend.kind === 'postgres') checks.queues = await withTimeout(Promise.all(Object.values(ctx.queues).map((queue) => queue.waitUntilReady())).then(() => true));
  return checks;
}

function withTimeout(check: Promise<boolean>, ms = 2_000): Promise<boolean> {
  return Promise.race([check.catch(() => false), new Promise<boolean>((resolve) => setTimeout(resolve, ms, false).unref())]);
}

function redactTokens(url: string | undefined): string {
  return (url ?? '').replace(/\/(invitation|reset|g|sac)\/[^/?#]+/g, '/$1/[token]');
}

function redactRedirectHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!headers) return headers;
  const copy = { ...headers };
  for (const name of ['location', 'hx-redirect']) if (typeof copy[name] === 'string') copy[name] = redactTokens(copy[name]);
  return copy;
}
