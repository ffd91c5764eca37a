import type { RequestHandler } from 'express';
import session, { type Store } from 'express-session';
import { RedisStore } from 'connect-redis';
import connectPgSimple from 'connect-pg-simple';
import type { AppContext } from '../../context.js';
import { poolConfig } from '../../db/knex.js';
import { StaffSessionStore } from './staff-session-store.js';

/**
 * A session store on Redis when configured, else on the http_sessions table (the admin area's
 * reads the signed-in staff member with the session). Stores do not
 * "touch" on every request: the idle timeout is extended by saving at most once a minute (below),
 * which saves a write per request.
 */
export function createSessionStore(ctx: AppContext, area: 'admin' | 'shop'): Store & { close?: () => void } {
  if (ctx.redis) return new RedisStore({ client: ctx.redis, prefix: `${ctx.config.queuePrefix}:sess:`, disableTouch: true });
  const options = {
    tableName: 'http_sessions',
    createTableIfMissing: false,
    pruneSessionInterval: 15 * 60,
    disableTouch: true,
    errorLog: (message: string, error: unknown) => ctx.logger.error({ err: error }, message),
  };
  // The admin store makes its pool (with poolConfig) itself; the shop store is given the pool's settings.
  if (area === 'admin') return new StaffSessionStore(ctx.knex, { ...options, conString: ctx.databaseUrl });
  const PgStore = connectPgSimple(session);
  return new PgStore({ ...options, conObject: poolConfig(ctx.databaseUrl) });
}

/** How often an active session's expiry (and cookie) is pushed forward by the idle timeout. */
const EXTEND_EVERY_MS = 60_000;

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
    rolling: false,
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
      const now = Date.now();
      req.session.createdAt ??= now;
      // Changing the session saves it with a fresh expiry and re-sends the cookie: the idle timeout
      // restarts, with a minute's precision.
      if (!req.session.lastSeenAt || now - req.session.lastSeenAt > EXTEND_EVERY_MS) req.session.lastSeenAt = now;
      next();
    });
  };
}
