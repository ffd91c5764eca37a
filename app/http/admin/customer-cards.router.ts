import { Router } from 'express';
import type { AppContext } from '../../context.js';
import { ForbiddenError, ValidationError } from '../../lib/errors.js';
import { cardAddSchema, cardEditSchema } from '../../schemas/payment-card.schema.js';
import { parseForm } from '../../schemas/form.js';
import type { CustomerAccess } from '../../services/customer-access.service.js';
import { addCard, findCard, listCards, mayManageCards, removeCard, updateCard } from '../../services/payment-card.service.js';
import { dashboardActions, MODALS, numericParam } from './dashboard-actions.js';

// F-DASH-7: a customer's payment cards under /admin/customers/:customerId/cards. The add form's
// card number is reduced to brand + last 4 by the schema and never sent back: a refused form is
// re-rendered from the other fields only (the number field comes back empty), and nothing here
// logs a request body. Owners, managers and sales reps change cards; support only reads.

const CARD_NOT_FOUND = 'We could not find that card.';

/** The fields a refused form may show again: never the number. */
function echo(body: unknown): Record<string, unknown> {
  const fields = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  return { holderName: fields.holderName, expMonth: fields.expMonth, expYear: fields.expYear };
}

export function customerCardsRouter(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  const { accessFor, requestId, saved, show } = dashboardActions(ctx);

  const requireManage = (access: CustomerAccess) => {
    if (!mayManageCards(access.staff)) throw new ForbiddenError('Your role may not change a customer’s payment cards.');
  };

  router.get('/', async (req, res) => {
    const access = await accessFor(req);
    await show(req, res, access, `${MODALS}/cards`, { cards: await listCards(ctx.knex, access), mayManage: mayManageCards(access.staff) });
  });

  router.get('/new', async (req, res) => {
    const access = await accessFor(req);
    requireManage(access);
    await show(req, res, access, `${MODALS}/card-form`, { card: null, values: {}, errors: {} });
  });

  router.post('/new', async (req, res) => {
    const access = await accessFor(req);
    requireManage(access);
    let card: Awaited<ReturnType<typeof addCard>>;
    try {
      card = await addCard(ctx.knex, req.staff!, access.customerId, parseForm(cardAddSchema, req.body), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return show(req, res, access, `${MODALS}/card-form`, { card: null, values: echo(req.body), errors: error.fields, message: error.message }, 422);
    }
    await saved(req, res, access, { message: `${card.brandLabel} •••• ${card.last4} was added.`, widget: 'cards' });
  });

  router.get('/:cardId/edit', async (req, res) => {
    const access = await accessFor(req);
    requireManage(access);
    const card = await findCard(ctx.knex, access, numericParam(req.params.cardId, CARD_NOT_FOUND));
    await show(req, res, access, `${MODALS}/card-form`, { card, values: card, errors: {} });
  });

  router.post('/:cardId/edit', async (req, res) => {
    const access = await accessFor(req);
    requireManage(access);
    const card = await findCard(ctx.knex, access, numericParam(req.params.cardId, CARD_NOT_FOUND));
    let changed: number;
    try {
      changed = await updateCard(ctx.knex, req.staff!, access.customerId, card.id, parseForm(cardEditSchema, req.body), requestId(req));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return show(req, res, access, `${MODALS}/card-form`, { card, values: echo(req.body), errors: error.fields, message: error.message }, 422);
    }
    await saved(req, res, access, { message: changed ? `${card.brandLabel} •••• ${card.last4} was saved.` : 'Nothing was changed.', widget: 'cards' });
  });

  router.post('/:cardId/delete', async (req, res) => {
    const access = await accessFor(req);
    requireManage(access);
    const card = await removeCard(ctx.knex, req.staff!, access.customerId, numericParam(req.params.cardId, CARD_NOT_FOUND), requestId(req));
    await saved(req, res, access, { message: `${card.brandLabel} •••• ${card.last4} was removed.`, widget: 'cards' });
  });

  return router;
}
