import { Router, type Request } from 'express';
import type { AppContext } from '../../context.js';
import { ForbiddenError, ValidationError } from '../../lib/errors.js';
import { businessAccountAssignSchema, priceGroupPriceSchema, priceGroupSchema } from '../../schemas/price-group.schema.js';
import { parseForm } from '../../schemas/form.js';
import {
  assignBusinessAccount,
  businessAccountOptions,
  createPriceGroup,
  findPriceGroup,
  groupBusinessAccounts,
  groupPrices,
  listPriceGroups,
  mayManagePriceGroups,
  productOptions,
  removeGroupPrice,
  setGroupPrice,
  unassignBusinessAccount,
  updatePriceGroup,
  PRICE_GROUP_NOT_FOUND,
} from '../../services/price-group.service.js';
import { redirect } from '../login-handler.js';
import { flash, render } from '../render.js';
import { numericParam } from './dashboard-actions.js';

// /admin/price-groups (F-PRICE-1, F-CUST-5): list, create and edit price groups, their product
// prices and the business accounts that have them. Every staff member may look; owners and
// managers change. Plain pages with post/redirect/get; a refused form comes back with 422.

export function priceGroupsRouter(ctx: AppContext): Router {
  const router = Router();
  const requestId = (req: Request) => String(req.id);
  const requireManage = (req: Request) => {
    if (!mayManagePriceGroups(req.staff!)) throw new ForbiddenError('Only owners and managers may change price groups.');
  };
  const groupIdOf = (req: Request) => numericParam(req.params.groupId, PRICE_GROUP_NOT_FOUND);

  /** The edit page: the group's form, its prices and business accounts, with any refused form's messages. */
  const editLocals = async (req: Request, groupId: number, overrides: Record<string, unknown> = {}) => {
    const group = await findPriceGroup(ctx.knex, groupId);
    const [prices, products, accounts, accountOptions] = await Promise.all([
      groupPrices(ctx.knex, req.staff!, groupId),
      productOptions(ctx.knex, req.staff!),
      groupBusinessAccounts(ctx.knex, groupId),
      businessAccountOptions(ctx.knex, groupId),
    ]);
    return { group, values: group, errors: {}, priceValues: {}, priceErrors: {}, accountErrors: {}, prices, products, accounts, accountOptions, mayManage: mayManagePriceGroups(req.staff!), ...overrides };
  };

  router.get('/', async (req, res) => {
    render(req, res, 'pages/admin/price-groups', { groups: await listPriceGroups(ctx.knex), mayManage: mayManagePriceGroups(req.staff!) });
  });

  router.get('/new', (req, res) => {
    requireManage(req);
    render(req, res, 'pages/admin/price-group-new', { values: { priority: '0' }, errors: {} });
  });

  router.post('/new', async (req, res) => {
    requireManage(req);
    let id: number;
    try {
      id = await createPriceGroup(ctx.knex, req.staff!, parseForm(priceGroupSchema, req.body), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return render(req, res, 'pages/admin/price-group-new', { values: req.body ?? {}, errors: error.fields, message: error.message }, { status: 422 });
    }
    flash(req, 'success', 'The price group was created. Now add its prices.');
    redirect(req, res, `/admin/price-groups/${id}`);
  });

  router.get('/:groupId', async (req, res) => {
    render(req, res, 'pages/admin/price-group', await editLocals(req, groupIdOf(req)));
  });

  router.post('/:groupId', async (req, res) => {
    requireManage(req);
    const groupId = groupIdOf(req);
    let changed: number;
    try {
      changed = await updatePriceGroup(ctx.knex, req.staff!, groupId, parseForm(priceGroupSchema, req.body), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return render(req, res, 'pages/admin/price-group', await editLocals(req, groupId, { values: req.body ?? {}, errors: error.fields, message: error.message }), { status: 422 });
    }
    flash(req, 'success', changed ? 'The price group was saved.' : 'Nothing was changed.');
    redirect(req, res, `/admin/price-groups/${groupId}`);
  });

  router.post('/:groupId/prices', async (req, res) => {
    requireManage(req);
    const groupId = groupIdOf(req);
    try {
      await setGroupPrice(ctx.knex, req.staff!, groupId, parseForm(priceGroupPriceSchema, req.body), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return render(req, res, 'pages/admin/price-group', await editLocals(req, groupId, { priceValues: req.body ?? {}, priceErrors: error.fields, message: error.message }), { status: 422 });
    }
    flash(req, 'success', 'The price was saved.');
    redirect(req, res, `/admin/price-groups/${groupId}#prices`);
  });

  router.post('/:groupId/prices/:priceId/delete', async (req, res) => {
    requireManage(req);
    const groupId = groupIdOf(req);
    await removeGroupPrice(ctx.knex, req.staff!, groupId, numericParam(req.params.priceId, 'We could not find that price.'), requestId(req));
    flash(req, 'success', 'The price was removed.');
    redirect(req, res, `/admin/price-groups/${groupId}#prices`);
  });

  router.post('/:groupId/business-accounts', async (req, res) => {
    requireManage(req);
    const groupId = groupIdOf(req);
    let added: boolean;
    try {
      added = await assignBusinessAccount(ctx.knex, req.staff!, groupId, parseForm(businessAccountAssignSchema, req.body).businessAccountId, requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return render(req, res, 'pages/admin/price-group', await editLocals(req, groupId, { accountErrors: error.fields, message: error.message }), { status: 422 });
    }
    flash(req, 'success', added ? 'The business account now has this price group.' : 'The business account already had this price group.');
    redirect(req, res, `/admin/price-groups/${groupId}#business-accounts`);
  });

  router.post('/:groupId/business-accounts/:accountId/delete', async (req, res) => {
    requireManage(req);
    const groupId = groupIdOf(req);
    await unassignBusinessAccount(ctx.knex, req.staff!, groupId, numericParam(req.params.accountId, 'We could not find that business account.'), requestId(req));
    flash(req, 'success', 'The business account no longer has this price group.');
    redirect(req, res, `/admin/price-groups/${groupId}#business-accounts`);
  });

  return router;
}
