import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { BULK_QUEUE, enqueueBulkOperation, type BulkJobData } from '../app/queues/bulk.queue.js';
import { findStrandedBulkOperationIds, markBulkOperationFailed, runBulkOperation } from '../app/services/bulk-action.service.js';
import { enqueueBulkInvitationMail } from './invitation.worker.js';

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
  worker.on('failed', (job, err) => {
    ctx.logger.warn({ queue: BULK_QUEUE, jobId: job?.id, err: err.message }, 'bulk operation failed');
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) void markBulkOperationFailed(ctx.knex, job.data.operationId, err.message);
  });
  worker.on('error', (err) => ctx.logger.warn({ queue: BULK_QUEUE, err: err.message }, 'worker connection problem'));

  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      for (const id of await findStrandedBulkOperationIds(ctx.knex, options.strandedAfterSeconds ?? 60)) await enqueueBulkOperation(ctx.queues.bulk, id);
    } catch (err) {
      ctx.logger.warn({ err: (err as Error).message }, 'bulk operation sweep failed; will try again');
    } finally {
      sweeping = false;
    }
  };
  const timer = setInterval(sweep, options.sweepEveryMs ?? 30_000);
  timer.unref();

  return {
    worker,
    close: async () => {
      clearInterval(timer);
      await worker.close();
    },
  };
}
