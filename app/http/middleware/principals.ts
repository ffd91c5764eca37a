import type { RequestHandler } from 'express';
import type { AppContext } from '../../context.js';
import { sessionShopOf, sessionVersionOf } from '../../auth/passport.js';
import { loadStaffPrincipal } from '../../services/staff.service.js';
import type { CustomerPrincipal } from '../types.js';

/**
 * How old the staff member read with the session may be. Between the two, only the body of a
 * request is read; a large one (a batch of pasted e-mail addresses) on a slow connection can take
 * minutes, and a staff member disabled meanwhile must not be let through.
 */
const PRELOAD_FRESH_MS = 1_000;

/**
 * Turns the session's user into the principal for this request, and ends the session when the
 * account changed underneath it (disabled, password or role changed: the version moved on).
 */
export function loadStaff(ctx: AppContext): RequestHandler {
  return async (req, res, next) => {
    if (req.user?.kind !== 'staff') return next();
    const preloaded = req.preloadedStaff;
    const staff = preloaded?.staffId === req.user.id && Date.now() - preloaded.readAt < PRELOAD_FRESH_MS ? preloaded.principal : await loadStaffPrincipal(ctx.knex, req.user.id);
    if (!staff || staff.sessionVersion !== sessionVersionOf(req.user)) return endSession(req, next);
    req.staff = staff;
    res.locals.staff = staff;
    next();
  };
}

export function loadCustomer(ctx: AppContext): RequestHandler {
  return async (req, res, next) => {
    if (req.user?.kind !== 'customer' || !req.shop) return next();
    // The session store is shared by all shops: a session opened on another shop (a copied cookie) ends here.
    if (sessionShopOf(req.user) !== req.shop.id) return endSession(req, next);
    const row = await ctx.knex('customers')
      .join('customerShops', 'customerShops.customerId', 'customers.id')
      .where({ 'customers.id': req.user.id, 'customerShops.shopId': req.shop.id, 'customerShops.status': 'active' })
      .whereNot('customers.state', 'disabled')
      .first('customers.id', 'customers.email', 'customers.firstName', 'customers.lastName', 'customers.customerType', 'customers.taxExempt', 'customers.sessionVersion');
    if (!row || row.sessionVersion !== sessionVersionOf(req.user)) return endSession(req, next);
    const customer: CustomerPrincipal = { kind: 'customer', shopId: req.shop.id, ...row };
    req.customer = customer;
    res.locals.customer = customer;
    next();
  };
}

function endSession(req: Parameters<RequestHandler>[0], next: (err?: unknown) => void): void {
  req.session.regenerate((err) => next(err));
}
