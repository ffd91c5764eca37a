import type { RequestHandler } from 'express';
import session, { type Store } from 'express-session';
import { RedisStore } from 'connect-redis';
import connectPgSimple from 'connect-pg-simple';
import type { AppContext } from '../../context.js';

/** One store for both hosts: Redis when configured, else the http_sessions table. */
export function createSessionStore(ctx: AppContext): Store & { close?: () => void } {
  if (ctx.redis) return new RedisStore({ client: ctx.redis, prefix: `${ctx.config.queuePrefix}:sess:` });
  const PgStore = connectPgSimple(session);
  return new PgStore({ conString: ctx.databaseUrl, tableName: 'http_sessions', createTableIfMissing: false, pruneSessionInterval: 15 * 60 });
}

/**
 * Admin and shop sessions use different cookies (the admin one SameSite=Strict). Cookies carry no
 * Domain, so each host has its own: a session from one shop is anonymous on another.
 */
export function sessionMiddleware(ctx: AppContext, store: Store, area: 'admin' | 'shop'): RequestHandler {
  const idle = ctx.config.sessionIdleMs;
  const absolute = ctx.config.sessionAbsoluteMs;
  const handler = session({
    name: area === 'admin' ? 'cp_admin' : 'cp_shop',
    secret: ctx.config.sessionSecret,
    store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: { httpOnly: true, sameSite: area === 'admin' ? 'strict' : 'lax', secure: 'auto', maxAge: idle, path: '/' },
  });
  return (req, res, next) => {
    handler(req, res, (err?: unknown) => {
      if (err) return next(err);
      const created = req.session.createdAt;
      if (created && Date.now() - created > absolute) {
        // Past the absolute lifetime: start over with an empty, new session.
        return req.session.regenerate((regenerateError) => {
          if (!regenerateError) req.session.createdAt = Date.now();
          next(regenerateError);
        });
      }
      req.session.createdAt ??= Date.now();
      next();
    });
  };
}
