import { Router } from 'express';
import type { AppContext } from '../../context.js';
import { ForbiddenError, ValidationError } from '../../lib/errors.js';
import { formatAmountInput } from '../../lib/money.js';
import { purchaseLimitSchema } from '../../schemas/purchase-limit.schema.js';
import { parseForm } from '../../schemas/form.js';
import { scopedShop, type CustomerAccess } from '../../services/customer-access.service.js';
import { findPurchaseLimit, mayManagePurchaseLimits, removePurchaseLimit, setPurchaseLimit, todayIn } from '../../services/purchase-limit.service.js';
import { dashboardActions, MODALS, numericParam } from './dashboard-actions.js';

// F-LIMIT-1 / F-DASH-11: a customer's purchase limit per shop under
// /admin/customers/:customerId/purchase-limit. `?shop=ID` opens the set/edit modal for one of the
// customer's shops in the staff member's scope; removing asks first. Owners, managers and sales
// reps change limits; support only reads.

const SHOP_NOT_FOUND = 'We could not find that shop for this customer.';

export function customerPurchaseLimitRouter(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  const { accessFor, requestId, saved, show } = dashboardActions(ctx);

  const requireManage = (access: CustomerAccess) => {
    if (!mayManagePurchaseLimits(access.staff)) throw new ForbiddenError('Your role may not change purchase limits.');
  };
  const shopFrom = (access: CustomerAccess, raw: unknown) => scopedShop(access, numericParam(raw ?? (access.shopIds.length === 1 ? String(access.shopIds[0]) : undefined), SHOP_NOT_FOUND), SHOP_NOT_FOUND);
  const formLocals = async (access: CustomerAccess, shopId: number, values: object, errors: object = {}, message?: string) => ({
    shop: scopedShop(access, shopId, SHOP_NOT_FOUND),
    existing: await findPurchaseLimit(ctx.knex, access, shopId),
    values,
    errors,
    message,
  });

  router.get('/', async (req, res) => {
    const access = await accessFor(req);
    requireManage(access);
    const shop = shopFrom(access, req.query.shop);
    const limit = await findPurchaseLimit(ctx.knex, access, shop.shopId);
    const values = limit
      ? { amount: formatAmountInput(limit.amount), period: limit.period ?? 'fixed', startDate: limit.startDate, endDate: limit.endDate ?? '' }
      : { period: 'monthly', startDate: todayIn(shop.timeZone).slice(0, 8) + '01' };
    await show(req, res, access, `${MODALS}/purchase-limit`, await formLocals(access, shop.shopId, values));
  });

  router.post('/', async (req, res) => {
    const access = await accessFor(req);
    requireManage(access);
    const shop = shopFrom(access, typeof req.body?.shopId === 'string' ? req.body.shopId : undefined);
    let outcome: Awaited<ReturnType<typeof setPurchaseLimit>>;
    try {
      outcome = await setPurchaseLimit(ctx.knex, req.staff!, access.customerId, parseForm(purchaseLimitSchema, req.body), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return show(req, res, access, `${MODALS}/purchase-limit`, await formLocals(access, shop.shopId, req.body ?? {}, error.fields, error.message), 422);
    }
    const message = !outcome.changed ? 'Nothing was changed.' : outcome.created ? `Purchase limit set in ${outcome.shop.shopName}.` : `Purchase limit in ${outcome.shop.shopName} changed.`;
    await saved(req, res, access, { message, widget: 'purchaseLimit' });
  });

  router.get('/:shopId/remove', async (req, res) => {
    const access = await accessFor(req);
    requireManage(access);
    const shop = shopFrom(access, req.params.shopId);
    await show(req, res, access, `${MODALS}/purchase-limit-remove`, { shop, existing: await findPurchaseLimit(ctx.knex, access, shop.shopId) });
  });

  router.post('/:shopId/remove', async (req, res) => {
    const access = await accessFor(req);
    requireManage(access);
    const shop = await removePurchaseLimit(ctx.knex, req.staff!, access.customerId, shopFrom(access, req.params.shopId).shopId, requestId(req));
    await saved(req, res, access, { message: `Purchase limit in ${shop.shopName} removed.`, widget: 'purchaseLimit' });
  });

  return router;
}
