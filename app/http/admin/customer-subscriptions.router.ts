import { Router, type Request } from 'express';
import type { AppContext } from '../../context.js';
import { ConflictError, ForbiddenError, ValidationError } from '../../lib/errors.js';
import { SUBSCRIPTION_INTERVALS, subscriptionSchema, subscriptionStatusSchema } from '../../schemas/customer-subscription.schema.js';
import { parseForm } from '../../schemas/form.js';
import { scopedShop, type CustomerAccess } from '../../services/customer-access.service.js';
import {
  addSubscription,
  changeSubscriptionStatus,
  countSubscriptions,
  listSubscriptions,
  mayAddSubscriptions,
  shopToday,
  SUBSCRIPTION_ADD_REFUSED,
  subscriptionProducts,
} from '../../services/customer-subscription.service.js';
import { dashboardActions, MODALS, numericParam } from './dashboard-actions.js';

// Product subscriptions (F-DASH-4) under /admin/customers/:customerId/subscriptions:
//   GET  /              view all (newest first, 50 a page) with pause / resume / cancel
//   GET  /new           the add form (?shop=ID picks the shop when the customer has several)
//   POST /new           add; answers with the subscriptions widget (htmx) or a redirect
//   POST /:id/status    action=pause|resume|cancel

const PAGE_SIZE = 50;
const INTERVAL_LABELS: Record<string, string> = { weekly: 'Every week', monthly: 'Every month', quarterly: 'Every 3 months', yearly: 'Every year' };

export function customerSubscriptionsRouter(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  const { accessFor, baseOf, requestId, saved, show } = dashboardActions(ctx);

  const listLocals = async (access: CustomerAccess, before?: number, message?: string) => {
    const [rows, count] = await Promise.all([listSubscriptions(ctx.knex, access, { limit: PAGE_SIZE + 1, before }), countSubscriptions(ctx.knex, access)]);
    const subscriptions = rows.slice(0, PAGE_SIZE);
    return { subscriptions, count, before, nextBefore: rows.length > PAGE_SIZE ? subscriptions.at(-1)!.id : null, message, mayAdd: mayAddSubscriptions(access.staff), intervalLabels: INTERVAL_LABELS };
  };

  const formLocals = async (req: Request, access: CustomerAccess, shopId: number | null, values: Record<string, unknown> = {}, errors: object = {}, message?: string) => {
    const shop = shopId !== null ? scopedShop(access, shopId) : access.shops.length === 1 ? access.shops[0]! : null;
    const products = shop ? await subscriptionProducts(ctx.knex, shop) : [];
    const defaults = shop ? { quantity: '1', interval: 'monthly', firstDelivery: await shopToday(ctx.knex, shop, 7) } : {};
    return { shop, shops: access.shops, products, intervals: SUBSCRIPTION_INTERVALS.map((value) => ({ value, label: INTERVAL_LABELS[value]! })), values: { ...defaults, ...values }, errors, message, base: baseOf(req) };
  };

  router.get('/', async (req, res) => {
    const access = await accessFor(req);
    const before = Number(req.query.before);
    await show(req, res, access, `${MODALS}/subscriptions`, await listLocals(access, Number.isSafeInteger(before) && before > 0 ? before : undefined));
  });

  router.get('/new', async (req, res) => {
    const access = await accessFor(req);
    if (!mayAddSubscriptions(access.staff)) throw new ForbiddenError(SUBSCRIPTION_ADD_REFUSED);
    const shopId = req.query.shop === undefined || req.query.shop === '' ? null : numericParam(req.query.shop, 'We could not find that shop for this customer.');
    await show(req, res, access, `${MODALS}/subscription-form`, await formLocals(req, access, shopId));
  });

  router.post('/new', async (req, res) => {
    const access = await accessFor(req);
    let added: Awaited<ReturnType<typeof addSubscription>>;
    try {
      added = await addSubscription(ctx.knex, req.staff!, access.customerId, parseForm(subscriptionSchema, req.body), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const body = (req.body ?? {}) as Record<string, unknown>;
      const shopId = typeof body.shopId === 'string' && /^\d{1,18}$/.test(body.shopId) ? Number(body.shopId) : null;
      return show(req, res, access, `${MODALS}/subscription-form`, await formLocals(req, access, shopId, body, error.fields, error.message), 422);
    }
    await saved(req, res, access, { message: `The subscription to ${added.productName} was added in ${added.shopName}.`, widget: 'subscriptions' });
  });

  router.post('/:subscriptionId/status', async (req, res) => {
    const access = await accessFor(req);
    const subscriptionId = numericParam(req.params.subscriptionId, 'We could not find that subscription.');
    const { action } = parseForm(subscriptionStatusSchema, req.body);
    let message: string;
    try {
      const changed = await changeSubscriptionStatus(ctx.knex, req.staff!, access.customerId, subscriptionId, action, requestId(req));
      message = {
        pause: `The subscription to ${changed.productName} is paused.`,
        resume: `The subscription to ${changed.productName} is active again; next delivery ${changed.nextDelivery}.`,
        cancel: `The subscription to ${changed.productName} was cancelled.`,
      }[action];
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      return show(req, res, access, `${MODALS}/subscriptions`, await listLocals(access, undefined, error.message), 409);
    }
    await saved(req, res, access, { message, back: `${baseOf(req)}/subscriptions`, modal: { partial: `${MODALS}/subscriptions`, locals: await listLocals(access) }, refresh: ['subscriptions'] });
  });

  return router;
}
