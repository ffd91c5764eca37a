import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { BULK_QUEUE, enqueueBulkOperation, type BulkJobData } from '../app/queues/bulk.queue.js';
import { findStrandedBulkOperationIds, markBulkOperationFailed, runBulkOperation } from '../app/services/bulk-action.service.js';
import { enqueueBulkInvitationMail } from './invitation.worker.js';
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
      // Bulk invitations (F-LIFE-2) wrote their e-mails to the outbox chunk by chunk: hand them to the mail queue.
      await enqueueBulkInvitationMail(ctx, job.data.operationId);
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
