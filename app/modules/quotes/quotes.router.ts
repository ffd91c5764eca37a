import { Router, type Request } from 'express';
import type { AppContext } from '../../context.js';
import { ConflictError, ForbiddenError, ValidationError } from '../../lib/errors.js';
import { formatMoney } from '../../lib/money.js';
import { dashboardActions, numericParam } from '../../http/admin/dashboard-actions.js';
import { parseForm } from '../../schemas/form.js';
import { scopedShop, type CustomerAccess } from '../../services/customer-access.service.js';
import { MAX_QUOTE_LINES, quoteFormSchema, quoteInput, quoteStatusSchema } from './quote.schema.js';
import { changeQuoteStatus, createQuote, mayManageQuotes, QUOTES_REFUSED, productOptions, quotesPage, shopDay } from './quote.service.js';

// The Quotes module's actions, mounted at /admin/customers/:customerId/quotes (see ../index.ts):
//   GET  /            view all (paged, every status), with send / accept / decline
//   GET  /new         the create form (?shop=ID picks the shop when the customer has several)
//   POST /new         create; answers with the quotes widget (htmx) or a redirect (plain form)
//   POST /:id/status  send, accept or decline (action=send|accept|decline)

const PARTIALS = 'partials/modules/quotes';
const PAGE_SIZE = 20;

export function quotesRouter(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  const { accessFor, baseOf, requestId, saved, show } = dashboardActions(ctx);

  const beforeOf = (req: Request) => {
    const before = Number(req.query.before);
    return Number.isSafeInteger(before) && before > 0 ? before : undefined;
  };
  const listLocals = async (access: CustomerAccess, before?: number, message?: string) => ({
    ...(await quotesPage(ctx.knex, access, { limit: PAGE_SIZE, before })),
    before,
    message,
    mayManage: mayManageQuotes(access.staff),
  });

  /**
   * The form's locals. Without a chosen shop (a customer in several of the staff member's shops)
   * the form asks for the shop first; then it offers that shop's products only.
   */
  const formLocals = async (req: Request, access: CustomerAccess, shopId: number | null, values: Record<string, unknown> = {}, errors: object = {}, message?: string) => {
    const shop = shopId !== null ? scopedShop(access, shopId) : access.shops.length === 1 ? access.shops[0]! : null;
    const products = shop ? await productOptions(ctx.knex, shop) : [];
    const defaults = shop ? { validUntil: await shopDay(ctx.knex, shop, 30) } : {};
    return { shop, shops: access.shops, products, values: { ...defaults, ...values }, errors, message, rows: MAX_QUOTE_LINES, base: baseOf(req) };
  };

  router.get('/', async (req, res) => {
    const access = await accessFor(req);
    await show(req, res, access, `${PARTIALS}/quotes-all`, await listLocals(access, beforeOf(req)));
  });

  router.get('/new', async (req, res) => {
    const access = await accessFor(req);
    if (!mayManageQuotes(access.staff)) throw new ForbiddenError(QUOTES_REFUSED);
    const shopId = req.query.shop === undefined || req.query.shop === '' ? null : numericParam(req.query.shop, 'We could not find that shop for this customer.');
    await show(req, res, access, `${PARTIALS}/quote-form`, await formLocals(req, access, shopId));
  });

  router.post('/new', async (req, res) => {
    const access = await accessFor(req);
    let created: Awaited<ReturnType<typeof createQuote>>;
    try {
      const form = parseForm(quoteFormSchema, req.body);
      // A shop outside the customer's assignments in the staff member's scope answers 404 here.
      scopedShop(access, form.shopId);
      created = await createQuote(ctx.knex, req.staff!, access.customerId, quoteInput(form), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const body = (req.body ?? {}) as Record<string, unknown>;
      const shopId = typeof body.shopId === 'string' && /^\d{1,18}$/.test(body.shopId) ? Number(body.shopId) : null;
      return show(req, res, access, `${PARTIALS}/quote-form`, await formLocals(req, access, shopId, body, error.fields, error.message), 422);
    }
    await saved(req, res, access, { message: `Quote ${created.number} (${formatMoney(created.total, created.currency)}) was created in ${created.shopName}.`, widget: 'quotes' });
  });

  router.post('/:quoteId/status', async (req, res) => {
    const access = await accessFor(req);
    const quoteId = numericParam(req.params.quoteId, 'We could not find that quote.');
    const { action } = parseForm(quoteStatusSchema, req.body);
    let message: string;
    try {
      const changed = await changeQuoteStatus(ctx.knex, req.staff!, access.customerId, quoteId, action, requestId(req));
      message = `Quote ${changed.number} is now ${changed.status}.`;
    } catch (error) {
      // Already final or expired: say why in the list itself, with nothing changed.
      if (!(error instanceof ConflictError)) throw error;
      return show(req, res, access, `${PARTIALS}/quotes-all`, await listLocals(access, undefined, error.message), 409);
    }
    await saved(req, res, access, { message, back: `${baseOf(req)}/quotes`, modal: { partial: `${PARTIALS}/quotes-all`, locals: await listLocals(access) }, refresh: ['quotes'] });
  });

  return router;
}
