import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../../context.js';
import { ValidationError } from '../../lib/errors.js';
import { parseForm } from '../../schemas/form.js';
import { acceptInvitationSchema, requestInvitationSchema } from '../../schemas/invitation.schema.js';
import { acceptInvitation, findOpenInvitation, requestNewInvitation } from '../../services/invitation.service.js';
import { deliverSoon } from '../deliver-soon.js';
import { redirect } from '../login-handler.js';
import { createInvitationThrottle } from '../middleware/invitation-throttle.js';
import { flash, render } from '../render.js';

// F-LIFE-2 on a shop host: GET|POST /account/invitation/{token} (SPEC 14) lets an invited customer
// choose a password, which activates the account and logs them in; an expired, used, superseded
// or unknown link shows "Password token expired" with a form (GET|POST /account/invitation) to
// ask for a new one. The token is in the path: the request log prints the path with the token
// replaced (server.ts), the pages are sent with Referrer-Policy no-referrer and never cached, and
// the token is looked up by its hash only.

const EXPIRED_PAGE = 'pages/storefront/invitation-expired';
const SET_PASSWORD_PAGE = 'pages/storefront/invitation';

export function accountInvitationRouter(ctx: AppContext): Router {
  const router = Router();
  const throttle = createInvitationThrottle(ctx);
  const links = () => ({ scheme: ctx.config.publicScheme, port: ctx.config.publicPort });
  const ipOf = (req: Request) => req.ip ?? 'unknown';

  const tokenPage = (res: Response) => res.set({ 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' });
  const expired = async (req: Request, res: Response, options: { badToken: boolean }) => {
    if (options.badToken) await throttle.recordBadToken(ipOf(req));
    render(req, res, EXPIRED_PAGE, { values: {}, errors: {} }, { status: 410 });
  };

  router.get('/account/invitation/:token', async (req, res) => {
    tokenPage(res);
    await throttle.assertTokenAllowed(ipOf(req));
    const invitation = await findOpenInvitation(ctx.knex, req.shop!, req.params.token);
    if (!invitation) return expired(req, res, { badToken: true });
    render(req, res, SET_PASSWORD_PAGE, { token: req.params.token, email: invitation.email, firstName: invitation.firstName, errors: {} });
  });

  router.post('/account/invitation/:token', async (req, res, next) => {
    tokenPage(res);
    const shop = req.shop!;
    const token = req.params.token;
    await throttle.assertTokenAllowed(ipOf(req));
    let outcome: Awaited<ReturnType<typeof acceptInvitation>>;
    try {
      outcome = await acceptInvitation(ctx.knex, shop, token, parseForm(acceptInvitationSchema, req.body), { requestId: String(req.id) });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const invitation = await findOpenInvitation(ctx.knex, shop, token);
      if (!invitation) return expired(req, res, { badToken: false });
      return render(req, res, SET_PASSWORD_PAGE, { token, email: invitation.email, firstName: invitation.firstName, errors: error.fields, message: error.message }, { status: 422 });
    }
    if (!outcome.ok) {
      if (outcome.reason === 'disabled') return render(req, res, 'pages/error', { status: 403, message: 'This account is disabled in this shop. Please contact the shop.', area: 'shop' }, { status: 403 });
      return expired(req, res, { badToken: true });
    }
    // passport regenerates the session on login: the id changes, nothing of the old session is kept.
    req.logIn({ kind: 'customer', id: outcome.customerId, version: outcome.sessionVersion, shopId: shop.id } as Express.User, (err) => {
      if (err) return next(err);
      req.session.createdAt = Date.now();
      flash(req, 'success', `Your password is set and your account at ${shop.name} is active. Welcome!`);
      redirect(req, res, '/account');
    });
  });

  // Asking for a new link: the same answer whether or not the e-mail belongs to an invitation.
  router.get('/account/invitation', (req, res) => {
    render(req, res, EXPIRED_PAGE, { values: {}, errors: {}, direct: true });
  });

  router.post('/account/invitation', async (req, res) => {
    tokenPage(res);
    let email: string;
    try {
      email = parseForm(requestInvitationSchema, req.body).email;
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return render(req, res, EXPIRED_PAGE, { values: { email: typeof req.body?.email === 'string' ? req.body.email : '' }, errors: error.fields, message: error.message }, { status: 422 });
    }
    if (await throttle.allowNewLinkRequest(ipOf(req), email)) {
      const outboxId = await requestNewInvitation(ctx.knex, req.shop!, email, { links: links(), requestId: String(req.id) });
      deliverSoon(ctx, req, outboxId);
    }
    render(req, res, 'pages/storefront/invitation-requested', { email });
  });

  return router;
}
