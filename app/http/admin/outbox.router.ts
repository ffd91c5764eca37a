import { Router } from 'express';
import type { AppContext } from '../../context.js';
import { ForbiddenError, NotFoundError } from '../../lib/errors.js';
import { enqueueMailDelivery } from '../../queues/mail.queue.js';
import { findOutboxMail, listOutbox, retryOutboxMail } from '../../services/outbox.service.js';
import { flash, render } from '../render.js';
import { redirect } from '../login-handler.js';

const PAGE_SIZE = 50;

function parseId(raw: unknown): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) throw new NotFoundError('We could not find that message.');
  return id;
}

export function outboxRouter(ctx: AppContext): Router {
  const router = Router();

  // Mail is addressed to customers of every sales team: the outbox is for those who run the shop.
  router.use((req, _res, next) => {
    if (req.staff!.role !== 'owner' && req.staff!.role !== 'manager') return next(new ForbiddenError('Only owners and managers may see the outbox.'));
    next();
  });

  router.get('/', async (req, res) => {
    const before = Number(req.query.before);
    const messages = await listOutbox(ctx.knex, req.staff!.scope, { limit: PAGE_SIZE + 1, beforeId: Number.isSafeInteger(before) && before > 0 ? before : undefined });
    render(req, res, 'pages/admin/outbox', { messages: messages.slice(0, PAGE_SIZE), nextBefore: messages.length > PAGE_SIZE ? messages[PAGE_SIZE - 1]!.id : null });
  });

  router.get('/:id', async (req, res) => {
    const message = await findOutboxMail(ctx.knex, req.staff!.scope, parseId(req.params.id));
    if (!message) throw new NotFoundError('We could not find that message.');
    render(req, res, 'pages/admin/outbox-message', { message });
  });

  router.post('/:id/retry', async (req, res) => {
    const id = parseId(req.params.id);
    if (!(await retryOutboxMail(ctx.knex, req.staff!.scope, id))) throw new NotFoundError('That message is not waiting for a retry.');
    await enqueueMailDelivery(ctx.queues.mail, id, { revive: true }).catch((err: Error) => req.log.warn({ err: err.message }, 'enqueue failed; the outbox sweep will pick it up'));
    flash(req, 'success', 'The message will be sent again.');
    redirect(req, res, '/admin/outbox');
  });

  return router;
}
