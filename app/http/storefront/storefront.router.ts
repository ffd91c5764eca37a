import { Router, type RequestHandler } from 'express';
import type { AppContext } from '../../context.js';
import { createPassport, CUSTOMER_STRATEGY } from '../../auth/passport.js';
import { ValidationError } from '../../lib/errors.js';
import { registrationSchema } from '../../schemas/auth.schema.js';
import { parseForm } from '../../schemas/form.js';
import { registerCustomer } from '../../services/customer-account.service.js';
import { getAccountOverview } from '../../services/account-overview.service.js';
import { createLoginThrottle } from '../middleware/login-throttle.js';
import { loadCustomer } from '../middleware/principals.js';
import { deliverSoon } from '../deliver-soon.js';
import { loginHandler, logoutHandler, redirect } from '../login-handler.js';
import { flash, render } from '../render.js';
import { accountDocumentsRouter } from './account-documents.router.js';
import { accountInvitationRouter } from './account-invitation.router.js';
import { shopAsCustomerGuard, shopAsCustomerRouter } from './shop-as-customer.router.js';

const REFUSALS: Record<string, string> = {
  invalid: 'The e-mail or password is not correct.',
  pending_approval: 'Your account is awaiting approval by the shop. We will e-mail you as soon as it is active.',
  disabled: 'This account is disabled. Please contact the shop.',
};

const requireCustomer: RequestHandler = (req, res, next) => {
  if (req.customer) return next();
  redirect(req, res, '/account/login');
};

/** Everything on a shop host: My Account and (later) the storefront. Unlisted routes answer 404. */
export function storefrontRouter(ctx: AppContext): Router {
  const passport = createPassport(ctx);
  const router = Router();
  router.use(passport.initialize(), passport.session(), shopAsCustomerGuard(ctx), loadCustomer(ctx));
  router.use(shopAsCustomerRouter(ctx));
  router.use(accountInvitationRouter(ctx));

  router.get('/', (req, res) => render(req, res, 'pages/storefront/home'));

  router.get('/account/login', (req, res) => {
    if (req.customer) return res.redirect(303, '/account');
    render(req, res, 'pages/storefront/login', { email: '', errors: {} });
  });
  router.post(
    '/account/login',
    loginHandler(passport, createLoginThrottle(ctx, 'shop'), {
      strategy: CUSTOMER_STRATEGY,
      template: 'pages/storefront/login',
      successUrl: '/account',
      refusalMessage: (reason) => REFUSALS[reason] ?? REFUSALS.invalid!,
    }),
  );
  router.post('/account/logout', logoutHandler('/account/login'));

  router.get('/account/register', (req, res) => {
    if (req.customer) return res.redirect(303, '/account');
    render(req, res, 'pages/storefront/register', { values: {}, errors: {} });
  });
  router.post('/account/register', async (req, res, next) => {
    const shop = req.shop!;
    try {
      const input = parseForm(registrationSchema, req.body);
      const result = await registerCustomer(ctx.knex, shop, input, { links: { scheme: ctx.config.publicScheme, port: ctx.config.publicPort }, requestId: String(req.id) });
      deliverSoon(ctx, req, result.outboxId);
      if (result.status === 'pending_approval') {
        return render(req, res, 'pages/storefront/awaiting-approval', { email: input.email });
      }
      req.logIn({ kind: 'customer', id: result.customerId, version: result.sessionVersion, shopId: shop.id } as Express.User, (err) => {
        if (err) return next(err);
        req.session.createdAt = Date.now();
        flash(req, 'success', `Welcome to ${shop.name}! Your account is ready.`);
        redirect(req, res, '/account');
      });
    } catch (error) {
      if (!(error instanceof ValidationError)) return next(error);
      const { password: _p, confirmPassword: _c, _csrf, ...values } = (req.body ?? {}) as Record<string, unknown>;
      render(req, res, 'pages/storefront/register', { values, errors: error.fields, message: error.message }, { status: 422 });
    }
  });

  router.get('/account', requireCustomer, async (req, res) => {
    const overview = await getAccountOverview(ctx.knex, req.shop!, req.customer!.id);
    render(req, res, 'pages/storefront/account', overview);
  });
  router.use('/account/documents', requireCustomer, accountDocumentsRouter(ctx));

  return router;
}
