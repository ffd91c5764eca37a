import { Router, type RequestHandler } from 'express';
import type { AppContext } from '../../context.js';
import { createPassport, STAFF_STRATEGY } from '../../auth/passport.js';
import { createLoginThrottle } from '../middleware/login-throttle.js';
import { loadStaff } from '../middleware/principals.js';
import { loginHandler, logoutHandler, redirect, safeNextUrl } from '../login-handler.js';

/** After logging in, staff go back to the admin page they asked for (`?next=`), only ever one of these. */
const ADMIN_PATHS = '/admin/';
import { render } from '../render.js';
import { bulkRouter } from './bulk.router.js';
import { customerDashboardRouter } from './customer-dashboard.router.js';
import { endShopAsCustomerAtLogout } from './customer-shop-as-customer.router.js';
import { customersRouter } from './customers.router.js';
import { exportRouter } from './export.router.js';
import { groupsRouter } from './groups.router.js';
import { importRouter } from './import.router.js';
import { outboxRouter } from './outbox.router.js';
import { priceGroupsRouter } from './price-groups.router.js';

const requireStaff: RequestHandler = (req, res, next) => {
  if (req.staff) return next();
  redirect(req, res, `/admin/login?next=${encodeURIComponent(req.originalUrl)}`);
};

/** Everything on ADMIN_HOST. Routes not listed here answer 404 (fail closed). */
export function adminRouter(ctx: AppContext): Router {
  const passport = createPassport(ctx);
  const router = Router();
  router.use(passport.initialize(), passport.session(), loadStaff(ctx));

  router.get('/', (_req, res) => res.redirect(303, '/admin/customers'));
  router.get('/admin', (_req, res) => res.redirect(303, '/admin/customers'));

  router.get('/admin/login', (req, res) => {
    if (req.staff) return res.redirect(303, '/admin/customers');
    render(req, res, 'pages/admin/login', { email: '', errors: {}, next: safeNextUrl(req.query.next, ADMIN_PATHS) });
  });
  router.post(
    '/admin/login',
    loginHandler(passport, createLoginThrottle(ctx, 'admin'), {
      strategy: STAFF_STRATEGY,
      template: 'pages/admin/login',
      successUrl: '/admin/customers',
      nextPrefix: ADMIN_PATHS,
      refusalMessage: () => 'The e-mail or password is not correct.',
    }),
  );
  router.post('/admin/logout', endShopAsCustomerAtLogout(ctx), logoutHandler('/admin/login'));

  router.use('/admin', requireStaff);
  router.use('/admin/customers/bulk', bulkRouter(ctx));
  router.use('/admin/customers/import', importRouter(ctx));
  router.use('/admin/customers/exports', exportRouter(ctx));
  router.use('/admin/customers/:customerId', customerDashboardRouter(ctx));
  router.use('/admin/customers', customersRouter(ctx));
  router.use('/admin/outbox', outboxRouter(ctx));
  router.use('/admin/groups', groupsRouter(ctx));
  router.use('/admin/price-groups', priceGroupsRouter(ctx));
  return router;
}
