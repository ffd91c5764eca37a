import { Router, type Request, type RequestHandler } from 'express';
import { RateLimiterPostgres, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { AppContext } from '../../context.js';
import { ForbiddenError, TooManyRequestsError } from '../../lib/errors.js';
import {
  adminDashboardUrl,
  adminUrl,
  checkShopAsCustomer,
  endShopAsCustomer,
  redeemShopAsCustomer,
  setRemoteAssistanceConsent,
  SAC_END_LABELS,
  type SacSessionRef,
  type SacView,
} from '../../services/shop-as-customer.service.js';
import { parseForm } from '../../schemas/form.js';
import { remoteAssistanceSchema } from '../../schemas/shop-as-customer.schema.js';
import { flash, render } from '../render.js';

// F-SAC-1/2 on a shop host. GET /sac/{token} redeems the hand-over token minted on the admin host
// (single use, 60 s, this shop only), logs in as the customer on a new session id and records the
// impersonation in the server-side session. The guard runs on every request of such a session
// (before loadCustomer): when the session may no longer continue (ended, time box passed, staff
// logged out, role, scope or consent changed) it ends the session. POST /sac/end ends it on request
// and redirects to /sac/ended, a page on this host that links back to the customer's dashboard (a
// form redirected straight to the admin host is stopped by the CSP's form-action 'self'). The token
// is in the path: the request log prints /sac/[token] (server.ts), the page is sent with
// Referrer-Policy no-referrer, and bad tokens are rate limited per IP. Also here: the customer's own
// consent page (/account/remote-assistance) and the refusal of password/e-mail/2FA routes while
// impersonating.

declare module 'express-session' {
  interface SessionData {
    /** Set while a staff member shops as this session's customer (F-SAC). */
    sac?: SacSessionRef;
  }
}

const REFUSED_PAGE = 'pages/storefront/sac-refused';
const BAD_TOKENS_PER_IP = 20;
const WINDOW_SECONDS = 15 * 60;

function createSacThrottle(ctx: AppContext) {
  const keyPrefix = `${ctx.config.queuePrefix}:sac:bad-token-ip`;
  const limiter: RateLimiterAbstract = ctx.redis
    ? new RateLimiterRedis({ storeClient: ctx.redis, useRedisPackage: true, keyPrefix, points: BAD_TOKENS_PER_IP, duration: WINDOW_SECONDS })
    : new RateLimiterPostgres({ storeClient: ctx.knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, keyPrefix, points: BAD_TOKENS_PER_IP, duration: WINDOW_SECONDS });
  return {
    async assertAllowed(ip: string) {
      const state = await limiter.get(ip);
      if (state && state.consumedPoints >= BAD_TOKENS_PER_IP) throw new TooManyRequestsError(Math.max(1, Math.ceil(state.msBeforeNext / 1000)));
    },
    async recordBadToken(ip: string) {
      await limiter.penalty(ip);
    },
  };
}

/** Impersonating: the request is refused (F-SAC-1: no password, e-mail or 2FA changes by staff). */
export const refuseWhileImpersonating: RequestHandler = (req, _res, next) => {
  next(req.session?.sac ? new ForbiddenError('While shopping as the customer you cannot change the customer’s password, e-mail address or two-factor settings.') : undefined);
};

/**
 * Runs on every storefront request before the customer is loaded: a session that carries an
 * impersonation continues only while the check passes; otherwise it ends here (recorded once by
 * the service) and the browser continues anonymously on a new session.
 */
export function shopAsCustomerGuard(ctx: AppContext): RequestHandler {
  return async (req, res, next) => {
    const sac = req.session?.sac;
    if (!sac || !req.shop) return next();
    const sameCustomer = req.user?.kind === 'customer' && Number(req.user.id) === sac.customerId;
    const check = sameCustomer
      ? await checkShopAsCustomer(ctx.knex, sac, req.shop.id, { requestId: String(req.id) })
      : ({ ok: false, reason: (await endShopAsCustomer(ctx.knex, sac.id, 'requested', { requestId: String(req.id) })) ? 'requested' : null } as const);
    if (check.ok) {
      const view: SacView = check.view;
      res.locals.sac = view;
      return next();
    }
    req.user = undefined;
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.createdAt = Date.now();
      flash(req, 'info', `The Shop As Customer session has ended${check.reason ? ` (${SAC_END_LABELS[check.reason]})` : ''}.`);
      next();
    });
  };
}

export function shopAsCustomerRouter(ctx: AppContext): Router {
  const router = Router();
  const throttle = createSacThrottle(ctx);
  const ipOf = (req: Request) => req.ip ?? 'unknown';
  const links = () => ({ scheme: ctx.config.publicScheme, port: ctx.config.publicPort });

  router.get('/sac/ended', (req, res) => {
    const raw = typeof req.query.customer === 'string' ? req.query.customer : '';
    const back = /^\d{1,18}$/.test(raw) ? adminDashboardUrl(ctx.config.adminHost, Number(raw), links()) : null;
    render(req, res, 'pages/storefront/sac-ended', { back, adminHome: adminUrl(ctx.config.adminHost, '/admin/customers', links()) });
  });

  router.get('/sac/:token', async (req, res, next) => {
    res.set({ 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' });
    await throttle.assertAllowed(ipOf(req));
    const outcome = await redeemShopAsCustomer(ctx.knex, req.shop!.id, String(req.params.token), { requestId: String(req.id) });
    if (!outcome.ok) {
      await throttle.recordBadToken(ipOf(req));
      return render(req, res, REFUSED_PAGE, {}, { status: 410 });
    }
    // An impersonation already in this browser session (another customer) is replaced.
    const earlier = req.session.sac;
    if (earlier && earlier.id !== outcome.sessionId) await endShopAsCustomer(ctx.knex, earlier.id, 'replaced', { requestId: String(req.id) });
    // passport regenerates the session on login: a new id, nothing of the old session is kept.
    req.logIn({ kind: 'customer', id: outcome.customerId, version: outcome.customerVersion, shopId: req.shop!.id } as Express.User, (err) => {
      if (err) return next(err);
      req.session.createdAt = Date.now();
      req.session.sac = { id: outcome.sessionId, staffId: outcome.staffId, customerId: outcome.customerId };
      res.redirect(303, '/account');
    });
  });

  router.post('/sac/end', async (req, res, next) => {
    const sac = req.session.sac;
    if (!sac) return res.redirect(303, '/');
    await endShopAsCustomer(ctx.knex, sac.id, 'requested', { requestId: String(req.id) });
    req.logout((logoutError) => {
      if (logoutError) return next(logoutError);
      req.session.destroy((destroyError) => {
        if (destroyError) return next(destroyError);
        // Not straight to the admin host: the CSP's form-action 'self' stops a form redirected to
        // another host. This page (same host, no session) links back to the customer's dashboard.
        res.redirect(303, `/sac/ended?customer=${sac.customerId}`);
      });
    });
  });


  // "Log out" while impersonating ends the impersonation too (then the usual logout runs).
  router.post('/account/logout', async (req, _res, next) => {
    const sac = req.session.sac;
    if (sac) await endShopAsCustomer(ctx.knex, sac.id, 'requested', { requestId: String(req.id) });
    next();
  });

  // The customer's consent (F-SAC-1), set by the customer only: refused while impersonating.
  router.get('/account/remote-assistance', async (req, res) => {
    if (!req.customer) return res.redirect(303, '/account/login');
    const row = (await ctx.knex('customers').where({ id: req.customer.id }).first('allowRemoteAssistance')) as { allowRemoteAssistance: boolean };
    render(req, res, 'pages/storefront/remote-assistance', { allow: row.allowRemoteAssistance, impersonating: Boolean(req.session.sac) });
  });
  router.post('/account/remote-assistance', refuseWhileImpersonating, async (req, res) => {
    if (!req.customer) return res.redirect(303, '/account/login');
    const allow = parseForm(remoteAssistanceSchema, req.body).allow === 'on';
    await setRemoteAssistanceConsent(ctx.knex, req.shop!.id, req.customer.id, allow, { requestId: String(req.id) });
    flash(req, 'success', allow ? 'Staff may now shop for you when you ask them to.' : 'Staff can no longer shop for you.');
    res.redirect(303, '/account/remote-assistance');
  });

  // Routes that set or change the customer's password, e-mail or 2FA: refused while impersonating
  // (the later ones fail closed once they exist).
  router.use(['/account/invitation', '/account/password', '/account/profile/email', '/account/profile/password', '/account/email', '/account/2fa', '/account/two-factor'], refuseWhileImpersonating);

  return router;
}
