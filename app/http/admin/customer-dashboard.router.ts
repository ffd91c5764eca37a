import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors.js';
import { formatAmountInput, formatMoney } from '../../lib/money.js';
import { newToken } from '../../lib/tokens.js';
import {
  addressDefaultSchema,
  addressSchema,
  creditAdjustSchema,
  customerDetailsSchema,
  noteSchema,
  passwordSchema,
  tagsSchema,
} from '../../schemas/customer-dashboard.schema.js';
import { customerTypes } from '../../schemas/shop-settings.schema.js';
import { parseForm } from '../../schemas/form.js';
import type { CustomerAccess } from '../../services/customer-access.service.js';
import { createAddress, deleteAddress, findAddress, listAddresses, setDefaultAddress, updateAddress } from '../../services/customer-address.service.js';
import { adjustCredit, creditBalances, creditHistory, creditRefusal } from '../../services/customer-credit.service.js';
import { loadDashboard, loadWidget } from '../../services/customer-dashboard.service.js';
import { dashboardWidget } from '../../services/dashboard-widgets.js';
import {
  changeCustomerPassword,
  customerFormOptions,
  customerRecord,
  customerTags,
  deleteCustomer,
  deleteRefusal,
  mayDeleteCustomers,
  replaceCustomerTags,
  updateCustomerDetails,
  type DeleteRefusal,
} from '../../services/customer-details.service.js';
import { addNote, listNotes } from '../../services/customer-note.service.js';
import { ordersPage, parseOrderPageQuery } from '../../services/customer-order.service.js';
import { setAssignmentStatus } from '../../services/customer-assignment.service.js';
import { timeline } from '../../services/customer-timeline.service.js';
import { deliverSoon } from '../deliver-soon.js';
import { redirect } from '../login-handler.js';
import { flash, render, wantsFragment } from '../render.js';
import { viewHelpers } from '../views.js';
import { dashboardActions, MODALS, numericParam } from './dashboard-actions.js';
import { customerPriceGroupsRouter } from './customer-price-groups.router.js';
import { customerCardsRouter } from './customer-cards.router.js';
import { customerPurchaseLimitRouter } from './customer-purchase-limit.router.js';
import { customerInvitationsRouter } from './customer-invitations.router.js';
import { customerGdprRouter } from './customer-gdpr.router.js';
import { customerSubscriptionsRouter } from './customer-subscriptions.router.js';
import { customerDocumentsRouter } from './customer-documents.router.js';
import { customerGroupsRouter } from './customer-groups.router.js';
import { customerShopAsCustomerRouter } from './customer-shop-as-customer.router.js';
import { installModules } from '../../modules/index.js';

// The customer dashboard (F-DASH) under /admin/customers/:customerId. Every route starts with the
// scope check (customerAccess: another shop's or another team's customer is a 404). An action
// opens as a modal fragment with htmx (GET, swapped into the page's <dialog>) and as a full page
// without; a save answers htmx with the changed widget (HX-Retarget) plus HX-Trigger events that
// make the other affected widgets reload themselves, and answers a plain form with a redirect.

const statusSchema = z.object({ status: z.enum(['active', 'disabled'], { error: 'Choose enable or disable.' }) });

export function customerDashboardRouter(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  const { accessFor, baseOf, checkAhead, links, requestId, saved, show } = dashboardActions(ctx);

  // Only numeric ids are customers; /admin/customers/count, /export.csv … belong to the list router.
  router.use(((req, _res, next) => (/^\d{1,18}$/.test(String(req.params.customerId)) ? next() : next('router'))) as RequestHandler);

  // F-CUST-9: an erased customer is a record kept for orders and the ledger; nothing may add
  // personal data to it again. Every change is refused except deleting the record (the GDPR
  // actions answer for themselves); the scope check comes first, so another shop's staff learn
  // nothing about the customer.
  router.use(async (req, _res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.path.startsWith('/gdpr/') || req.path === '/delete') return next();
    const { erasedAt } = await checkAhead(req);
    if (erasedAt) throw new ConflictError(`This customer’s personal data was erased on ${viewHelpers.date(erasedAt)}; the record can no longer be changed.`);
    next();
  });

  // ---- the page and its widgets -------------------------------------------------------------

  router.get('/', async (req, res) => {
    const access = await accessFor(req);
    const dashboard = await loadDashboard(ctx.knex, access);
    render(req, res, 'pages/admin/customer', { ...dashboard, customerId: access.customerId, base: baseOf(req) });
  });

  router.get('/widgets/:widget', async (req, res) => {
    const name = String(req.params.widget);
    if (!dashboardWidget(name)) throw new NotFoundError('There is no such widget.');
    const access = await accessFor(req);
    if (!wantsFragment(req)) return res.redirect(303, `${baseOf(req)}#w-${name}`);
    const widget = await loadWidget(ctx.knex, access, name);
    render(req, res, widget.template, widget.locals);
  });

  // ---- customer information (F-DASH-1) --------------------------------------------------------

  const editLocals = async (values: object, errors: object = {}, message?: string) => ({ values, errors, message, options: await customerFormOptions(ctx.knex), customerTypes });

  router.get('/edit', async (req, res) => {
    const access = await accessFor(req);
    const record = await customerRecord(ctx.knex, access.customerId);
    const values = {
      ...record,
      requireApprovalOver: record.requireApprovalOver === null ? '' : formatAmountInput(record.requireApprovalOver),
      blockCheckoutOver: record.blockCheckoutOver === null ? '' : formatAmountInput(record.blockCheckoutOver),
    };
    await show(req, res, access, `${MODALS}/edit-customer`, await editLocals(values));
  });

  router.post('/edit', async (req, res) => {
    const access = await accessFor(req);
    let changed: number;
    try {
      const input = parseForm(customerDetailsSchema, req.body);
      changed = Object.keys(await updateCustomerDetails(ctx.knex, req.staff!, access.customerId, input, requestId(req))).length;
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return show(req, res, access, `${MODALS}/edit-customer`, await editLocals(req.body ?? {}, error.fields, error.message), 422);
    }
    await saved(req, res, access, { message: changed ? 'The customer’s details were saved.' : 'Nothing was changed.', widget: 'info' });
  });

  router.get('/password', async (req, res) => {
    const access = await accessFor(req);
    await show(req, res, access, `${MODALS}/password`, { errors: {} });
  });

  router.post('/password', async (req, res) => {
    const access = await accessFor(req);
    try {
      const input = parseForm(passwordSchema, req.body);
      await changeCustomerPassword(ctx.knex, req.staff!, access.customerId, input, requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return show(req, res, access, `${MODALS}/password`, { errors: error.fields, message: error.message }, 422);
    }
    await saved(req, res, access, { message: 'The password was changed; the customer’s other sessions have ended.', widget: 'info' });
  });

  // ---- addresses (F-ADDR via F-DASH-1) --------------------------------------------------------

  const addressBook = async (access: CustomerAccess, message?: string) => ({ addresses: await listAddresses(ctx.knex, access), message });
  const addressesSaved = async (req: Request, res: Response, access: CustomerAccess, message: string) =>
    saved(req, res, access, { message, back: `${baseOf(req)}/addresses`, modal: { partial: `${MODALS}/address-book`, locals: await addressBook(access) }, refresh: ['info'] });

  router.get('/addresses', async (req, res) => {
    const access = await accessFor(req);
    await show(req, res, access, `${MODALS}/address-book`, await addressBook(access));
  });

  router.get('/addresses/new', async (req, res) => {
    const access = await accessFor(req);
    await show(req, res, access, `${MODALS}/address-form`, { address: null, values: {}, errors: {} });
  });

  router.post('/addresses/new', async (req, res) => {
    const access = await accessFor(req);
    try {
      await createAddress(ctx.knex, req.staff!, access.customerId, parseForm(addressSchema, req.body), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return show(req, res, access, `${MODALS}/address-form`, { address: null, values: req.body ?? {}, errors: error.fields, message: error.message }, 422);
    }
    await addressesSaved(req, res, access, 'The address was added.');
  });

  router.get('/addresses/:addressId/edit', async (req, res) => {
    const access = await accessFor(req);
    const address = await findAddress(ctx.knex, access, numericParam(req.params.addressId, 'We could not find that address.'));
    await show(req, res, access, `${MODALS}/address-form`, { address, values: { ...address, defaultBilling: address.isDefaultBilling, defaultShipping: address.isDefaultShipping }, errors: {} });
  });

  router.post('/addresses/:addressId/edit', async (req, res) => {
    const access = await accessFor(req);
    const address = await findAddress(ctx.knex, access, numericParam(req.params.addressId, 'We could not find that address.'));
    try {
      await updateAddress(ctx.knex, req.staff!, access.customerId, address.id, parseForm(addressSchema, req.body), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return show(req, res, access, `${MODALS}/address-form`, { address, values: req.body ?? {}, errors: error.fields, message: error.message }, 422);
    }
    await addressesSaved(req, res, access, 'The address was saved.');
  });

  router.post('/addresses/:addressId/default', async (req, res) => {
    const access = await accessFor(req);
    const addressId = numericParam(req.params.addressId, 'We could not find that address.');
    const { kind } = parseForm(addressDefaultSchema, req.body);
    await setDefaultAddress(ctx.knex, req.staff!, access.customerId, addressId, kind, requestId(req));
    await addressesSaved(req, res, access, `The default ${kind} address was changed.`);
  });

  router.post('/addresses/:addressId/delete', async (req, res) => {
    const access = await accessFor(req);
    const addressId = numericParam(req.params.addressId, 'We could not find that address.');
    try {
      await deleteAddress(ctx.knex, req.staff!, access.customerId, addressId, requestId(req));
    } catch (error) {
      // The last address: say why in the address book itself, with nothing changed.
      if (!(error instanceof ConflictError)) throw error;
      return show(req, res, access, `${MODALS}/address-book`, await addressBook(access, error.message), 409);
    }
    await addressesSaved(req, res, access, 'The address was deleted.');
  });

  // ---- notes (F-DASH-3, F-CUST-6) -------------------------------------------------------------

  router.get('/notes', async (req, res) => {
    const access = await accessFor(req);
    const before = Number(req.query.before);
    const notes = await listNotes(ctx.knex, access, { limit: 51, beforeId: Number.isSafeInteger(before) && before > 0 ? before : undefined });
    await show(req, res, access, `${MODALS}/notes`, { notes: notes.slice(0, 50), nextBefore: notes.length > 50 ? notes[49]!.id : null });
  });

  router.get('/notes/new', async (req, res) => {
    const access = await accessFor(req);
    await show(req, res, access, `${MODALS}/note-form`, { values: {}, errors: {} });
  });

  router.post('/notes/new', async (req, res) => {
    const access = await accessFor(req);
    try {
      await addNote(ctx.knex, req.staff!, access.customerId, parseForm(noteSchema, req.body).body, requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return show(req, res, access, `${MODALS}/note-form`, { values: req.body ?? {}, errors: error.fields, message: error.message }, 422);
    }
    await saved(req, res, access, { message: 'The note was added.', widget: 'notes' });
  });

  // ---- account credit (F-DASH-5) --------------------------------------------------------------

  const creditLocals = async (access: CustomerAccess, values: Record<string, unknown>, errors: object = {}, message?: string) => {
    const state = ((await ctx.knex('customers').where({ id: access.customerId }).first('state')) as { state: string }).state;
    const key = typeof values.key === 'string' && values.key.length >= 16 && values.key.length <= 100 ? values.key : newToken();
    return { values: { ...values, key }, errors, message, balances: await creditBalances(ctx.knex, access), refusal: creditRefusal(state) };
  };

  router.get('/credit/adjust', async (req, res) => {
    const access = await accessFor(req);
    const shopId = Number(req.query.shop);
    await show(req, res, access, `${MODALS}/credit-adjust`, await creditLocals(access, { shopId: access.shopIds.includes(shopId) ? shopId : access.shopIds[0] }));
  });

  router.post('/credit/adjust', async (req, res) => {
    const access = await accessFor(req);
    let outcome: Awaited<ReturnType<typeof adjustCredit>>;
    try {
      outcome = await adjustCredit(ctx.knex, req.staff!, access.customerId, parseForm(creditAdjustSchema, req.body), { links: links(), requestId: requestId(req) });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return show(req, res, access, `${MODALS}/credit-adjust`, await creditLocals(access, req.body ?? {}, error.fields, error.message), 422);
    }
    deliverSoon(ctx, req, outcome.outboxId);
    const balance = formatMoney(outcome.balance, outcome.shop.currency);
    const message = outcome.booked ? `Booked. The balance in ${outcome.shop.shopName} is now ${balance}.` : `This adjustment was already booked; nothing was booked twice. The balance in ${outcome.shop.shopName} is ${balance}.`;
    await saved(req, res, access, { message, widget: 'credit', refresh: ['danger'] });
  });

  router.get('/credit', async (req, res) => {
    const access = await accessFor(req);
    const before = Number(req.query.before);
    const movements = await creditHistory(ctx.knex, access, { limit: 51, beforeId: Number.isSafeInteger(before) && before > 0 ? before : undefined });
    await show(req, res, access, `${MODALS}/credit-history`, {
      movements: movements.slice(0, 50),
      nextBefore: movements.length > 50 ? movements[49]!.id : null,
      balances: await creditBalances(ctx.knex, access),
    });
  });

  // ---- orders, timeline: "view all" pages (F-DASH-2, F-CUST-7) ----------------------------------

  router.get('/orders', async (req, res) => {
    const access = await accessFor(req);
    const query = parseOrderPageQuery(req.query);
    const page = await ordersPage(ctx.knex, access, query);
    await show(req, res, access, 'partials/admin/dashboard/orders-all', { ...page, query, total: access.shops.reduce((sum, s) => sum + Number(s.ordersCount), 0) });
  });

  router.get('/timeline', async (req, res) => {
    const access = await accessFor(req);
    const before = Number(req.query.before);
    const page = await timeline(ctx.knex, access, { limit: 50, before: Number.isSafeInteger(before) && before > 0 ? before : undefined });
    await show(req, res, access, 'partials/admin/dashboard/timeline-all', page);
  });

  // ---- shop assignments (F-DASH-9, F-CUST-2) ----------------------------------------------------

  router.post('/shops/:shopId/status', async (req, res) => {
    const access = await accessFor(req);
    const shopId = numericParam(req.params.shopId, 'We could not find that shop for this customer.');
    const { status } = parseForm(statusSchema, req.body);
    const change = await setAssignmentStatus(ctx.knex, req.staff!, access.customerId, shopId, status, { links: links(), requestId: requestId(req) });
    deliverSoon(ctx, req, change.outboxId);
    const message = !change.changed
      ? `Nothing changed: the customer was already ${status === 'active' ? 'enabled' : 'disabled'} in ${change.shopName}.`
      : `${status === 'active' ? 'Enabled' : 'Disabled'} in ${change.shopName}; the customer was told by e-mail.`;
    // The assignment list was read before the change: read it again for the widget.
    await saved(req, res, await accessFor(req), { message, widget: 'shops' });
  });

  // ---- tags (F-DASH-11) ---------------------------------------------------------------------------

  router.get('/tags', async (req, res) => {
    const access = await accessFor(req);
    await show(req, res, access, `${MODALS}/tags`, { values: { tags: (await customerTags(ctx.knex, access.customerId)).join(', ') }, errors: {} });
  });

  router.post('/tags', async (req, res) => {
    const access = await accessFor(req);
    try {
      await replaceCustomerTags(ctx.knex, req.staff!, access.customerId, parseForm(tagsSchema, req.body).tags, requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return show(req, res, access, `${MODALS}/tags`, { values: req.body ?? {}, errors: error.fields, message: error.message }, 422);
    }
    await saved(req, res, access, { message: 'The tags were saved.', widget: 'tags' });
  });

  // ---- delete (F-CUST-4) ----------------------------------------------------------------------------

  const deleteLocals = (access: CustomerAccess, refusal: DeleteRefusal | null) => ({ refusal, mayDelete: mayDeleteCustomers(access.staff), shops: access.shops });

  router.get('/delete', async (req, res) => {
    const access = await accessFor(req);
    await show(req, res, access, `${MODALS}/delete`, deleteLocals(access, await deleteRefusal(ctx.knex, access)));
  });

  router.post('/delete', async (req, res) => {
    const access = await accessFor(req);
    const refusal = await deleteCustomer(ctx.knex, req.staff!, access.customerId, requestId(req));
    if (refusal) return show(req, res, access, `${MODALS}/delete`, deleteLocals(access, refusal), 409);
    flash(req, 'success', 'The customer was deleted.');
    redirect(req, res, '/admin/customers');
  });

  router.use('/subscriptions', customerSubscriptionsRouter(ctx));
  installModules(ctx, router);

  router.use('/invitations', customerInvitationsRouter(ctx));
  router.use('/documents', customerDocumentsRouter(ctx));
  router.use('/gdpr', customerGdprRouter(ctx));
  router.use('/price-groups', customerPriceGroupsRouter(ctx));
  router.use('/cards', customerCardsRouter(ctx));
  router.use('/purchase-limit', customerPurchaseLimitRouter(ctx));
  router.use('/groups', customerGroupsRouter(ctx));
  router.use('/shop-as-customer', customerShopAsCustomerRouter(ctx));
  return router;
}
