import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { BULK_QUEUE, enqueueBulkOperation, type BulkJobData } from '../app/queues/bulk.queue.js';
import { findStrandedBulkOperationIds, markBulkOperationFailed, runBulkOperation } from '../app/services/bulk-action.service.js';
import { enqueueMailDelivery } from '../app/queues/mail.queue.js';
import { pendingBulkOperationMail } from '../app/services/outbox.service.js';
import { startPeriodicSweep } from './periodic-sweep.js';
import { watchWorker } from './worker-events.js';

export interface BulkWorkerOptions {
  /** How often queued operations whose job was lost are handed to the queue again. */
  sweepEveryMs?: number;
  /** How long an operation may wait in 'queued' before it counts as lost. */
  strandedAfterSeconds?: number;
}

/**
 * Runs bulk actions of the customer list; one at a time per worker, each in set-based chunks.
 * Like the outbox, operations whose enqueue failed (the queue was down when the form was sent)
 * are found by a timer in every worker and enqueued again; the job id makes duplicates harmless.
 */
export function startBulkWorker(ctx: AppContext, options: BulkWorkerOptions = {}) {
  const worker = ctx.queueBackend.createWorker<BulkJobData>(
    BULK_QUEUE,
    async (job: Job<BulkJobData>) => {
      await runBulkOperation(ctx.knex, job.data.operationId, undefined, { links: { scheme: ctx.config.publicScheme, port: ctx.config.publicPort } });
      await enqueueBulkOperationMail(ctx, job.data.operationId);
    },
    { concurrency: 1 },
  );
  watchWorker(worker, ctx.logger, {
    queue: BULK_QUEUE,
    failedMessage: 'bulk operation failed',
    gaveUp: (job, err) => markBulkOperationFailed(ctx.knex, job.data.operationId, err.message),
  });

  const sweeper = startPeriodicSweep(ctx.logger, 'bulk operation', options.sweepEveryMs ?? 30_000, async () => {
    for (const id of await findStrandedBulkOperationIds(ctx.knex, options.strandedAfterSeconds ?? 60)) await enqueueBulkOperation(ctx.queues.bulk, id);
  });

  return {
    worker,
    close: async () => {
      sweeper.stop();
      await worker.close();
    },
  };
}

/**
 * Hands the e-mails an operation's chunks wrote to the outbox (invitations, F-LIFE-2; notices of
 * disabled assignments, F-CUST-2) to the mail queue. It never fails the bulk job: what cannot be
 * enqueued now is sent by the outbox sweep.
 */
async function enqueueBulkOperationMail(ctx: AppContext, operationId: number): Promise<void> {
  try {
    const ids = await pendingBulkOperationMail(ctx.knex, operationId);
    for (let i = 0; i < ids.length; i += 100) await Promise.all(ids.slice(i, i + 100).map((id) => enqueueMailDelivery(ctx.queues.mail, id)));
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message, operationId }, 'bulk operation mail enqueue failed; the outbox sweep will deliver it');
  }
}
