import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { BULK_QUEUE, type BulkJobData } from '../app/queues/bulk.queue.js';
import { markBulkOperationFailed, runBulkOperation } from '../app/services/bulk-action.service.js';

/** Runs bulk actions of the customer list; one at a time per worker, each in set-based chunks. */
export function startBulkWorker(ctx: AppContext) {
  const worker = ctx.queueBackend.createWorker<BulkJobData>(
    BULK_QUEUE,
    async (job: Job<BulkJobData>) => {
      await runBulkOperation(ctx.knex, job.data.operationId);
    },
    { concurrency: 1 },
  );
  worker.on('failed', (job, err) => {
    ctx.logger.warn({ queue: BULK_QUEUE, jobId: job?.id, err: err.message }, 'bulk operation failed');
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) void markBulkOperationFailed(ctx.knex, job.data.operationId, err.message);
  });
  worker.on('error', (err) => ctx.logger.warn({ queue: BULK_QUEUE, err: err.message }, 'worker connection problem'));
  return { worker, close: () => worker.close() };
}
