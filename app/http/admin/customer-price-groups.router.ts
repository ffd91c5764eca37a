import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../../context.js';
import { ForbiddenError, ValidationError } from '../../lib/errors.js';
import { priceGroupAssignSchema } from '../../schemas/price-group.schema.js';
import { parseForm } from '../../schemas/form.js';
import type { CustomerAccess } from '../../services/customer-access.service.js';
import { assignablePriceGroups, assignPriceGroup, customerPriceGroups, mayAssignPriceGroups, unassignPriceGroup } from '../../services/price-group.service.js';
import { dashboardActions, MODALS, numericParam } from './dashboard-actions.js';

// F-DASH-6: a customer's price groups under /admin/customers/:customerId/price-groups. "View all"
// is a modal that lists every group (own and through the business account) and assigns or
// unassigns the customer's own ones; it stays open after a change and the widget reloads.
// Owners, managers and sales reps assign; support only reads.

export function customerPriceGroupsRouter(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  const { accessFor, baseOf, requestId, saved, show } = dashboardActions(ctx);

  const listLocals = async (access: CustomerAccess, errors: object = {}, message?: string) => ({
    groups: await customerPriceGroups(ctx.knex, access.customerId),
    options: await assignablePriceGroups(ctx.knex, access.customerId),
    mayAssign: mayAssignPriceGroups(access.staff),
    errors,
    message,
  });
  const changed = async (req: Request, res: Response, access: CustomerAccess, message: string) =>
    saved(req, res, access, { message, back: `${baseOf(req)}/price-groups`, modal: { partial: `${MODALS}/price-groups`, locals: await listLocals(access) }, refresh: ['priceGroups'] });

  router.get('/', async (req, res) => {
    const access = await accessFor(req);
    await show(req, res, access, `${MODALS}/price-groups`, await listLocals(access));
  });

  router.post('/assign', async (req, res) => {
    const access = await accessFor(req);
    if (!mayAssignPriceGroups(access.staff)) throw new ForbiddenError('Your role may not change a customer’s price groups.');
    let outcome: Awaited<ReturnType<typeof assignPriceGroup>>;
    try {
      outcome = await assignPriceGroup(ctx.knex, req.staff!, access.customerId, parseForm(priceGroupAssignSchema, req.body).priceGroupId, requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return show(req, res, access, `${MODALS}/price-groups`, await listLocals(access, error.fields, error.message), 422);
    }
    await changed(req, res, access, outcome.changed ? `Price group “${outcome.name}” assigned.` : `The customer already had price group “${outcome.name}”.`);
  });

  router.post('/:groupId/unassign', async (req, res) => {
    const access = await accessFor(req);
    const groupId = numericParam(req.params.groupId, 'We could not find that price group.');
    const outcome = await unassignPriceGroup(ctx.knex, req.staff!, access.customerId, groupId, requestId(req));
    await changed(req, res, access, `Price group “${outcome.name}” unassigned.`);
  });

  return router;
}
