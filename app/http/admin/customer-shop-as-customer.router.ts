import { Router, type RequestHandler } from 'express';
import type { AppContext } from '../../context.js';
import { ForbiddenError, ValidationError } from '../../lib/errors.js';
import { parseForm } from '../../schemas/form.js';
import { startShopAsCustomerSchema } from '../../schemas/shop-as-customer.schema.js';
import type { CustomerAccess } from '../../services/customer-access.service.js';
import { shopUrl } from '../../services/customer-account.service.js';
import { endShopAsCustomerOfStaff, mayShopAsCustomer, sacShopChoices, SAC_TOKEN_TTL_SECONDS, startShopAsCustomer } from '../../services/shop-as-customer.service.js';
import { render, wantsFragment } from '../render.js';
import { dashboardActions, MODALS } from './dashboard-actions.js';

// F-SAC-1 on the admin host, under /admin/customers/:customerId/shop-as-customer: the orders
// widget's "Create order" opens the modal (shop + reason); the POST mints the single-use token and
// sends the browser to the shop's configured host name (never the request's Host) at /sac/{token}:
// htmx with HX-Redirect; a plain form gets a page with the link, because the CSP's form-action
// 'self' would refuse a form redirected to another host. The token is only in that answer.

const MODAL = `${MODALS}/shop-as-customer`;

export function customerShopAsCustomerRouter(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  const { accessFor, baseOf, links, requestId, show } = dashboardActions(ctx);

  const modalLocals = (access: CustomerAccess, values: Record<string, unknown>, errors: object = {}, message?: string) => {
    const shops = sacShopChoices(access);
    return { values: { shopId: shops[0]?.shopId, ...values }, errors, message, shops, inactive: access.shops.filter((s) => s.status !== 'active'), ttl: SAC_TOKEN_TTL_SECONDS };
  };

  const requireRole: RequestHandler = (req, _res, next) => next(mayShopAsCustomer(req.staff!) ? undefined : new ForbiddenError('Your role may not shop as a customer.'));

  router.get('/', async (req, res) => {
    const access = await accessFor(req);
    if (!mayShopAsCustomer(req.staff!)) throw new ForbiddenError('Your role may not shop as a customer.');
    await show(req, res, access, MODAL, modalLocals(access, {}));
  });

  router.post('/', requireRole, async (req, res) => {
    const access = await accessFor(req);
    let start: Awaited<ReturnType<typeof startShopAsCustomer>>;
    try {
      const input = parseForm(startShopAsCustomerSchema, req.body);
      start = await startShopAsCustomer(ctx.knex, req.staff!, access.customerId, input.shopId, input.reason, { requestId: requestId(req) });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const body = (req.body ?? {}) as Record<string, unknown>;
      return show(req, res, access, MODAL, modalLocals(access, { shopId: body.shopId, reason: body.reason }, error.fields, error.message), 422);
    }
    const url = shopUrl({ hostname: start.hostname }, `/sac/${start.token}`, links());
    res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
    if (wantsFragment(req)) {
      res.set('HX-Redirect', url).status(204).end();
      return;
    }
    render(req, res, 'pages/admin/shop-as-customer-started', { url, shopName: start.shopName, ttl: SAC_TOKEN_TTL_SECONDS, base: baseOf(req) });
  });

  return router;
}

/** Staff logout ends the staff member's open Shop As Customer sessions (F-SAC-1); mounted before the logout handler. */
export function endShopAsCustomerAtLogout(ctx: AppContext): RequestHandler {
  return async (req, _res, next) => {
    if (req.staff) await endShopAsCustomerOfStaff(ctx.knex, req.staff.id, 'staff_logout', { requestId: String(req.id) });
    next();
  };
}
