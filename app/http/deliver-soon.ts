import type { Request } from 'express';
import type { AppContext } from '../context.js';
import { enqueueMailDelivery } from '../queues/mail.queue.js';

/**
 * Hands an outbox row to the mail queue once its transaction has committed. It never fails the
 * request: if the queue is down, the workers' outbox sweep sends the mail later.
 */
export function deliverSoon(ctx: AppContext, req: Request, outboxId: number | null): void {
  if (!outboxId) return;
  enqueueMailDelivery(ctx.queues.mail, outboxId).catch((err: Error) => req.log.warn({ err: err.message, outboxId }, 'mail enqueue failed; the outbox sweep will deliver it'));
}
