import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { enqueueCustomerExport, EXPORT_QUEUE, type ExportJobData } from '../app/queues/export.queue.js';
import { findStrandedExportIds, markCustomerExportFailed, removeExpiredExportFiles, runCustomerExport } from '../app/services/customer-export.service.js';

export interface ExportWorkerOptions {
  /** How often lost exports are enqueued again and expired files removed. */
  sweepEveryMs?: number;
  /** How long an export may wait in 'queued' before it counts as lost. */
  strandedAfterSeconds?: number;
}

/**
 * Writes large CSV exports of the customer list (F-LIST-6), one at a time per worker. A timer
 * re-enqueues exports whose job never reached the queue and deletes the files of expired ones.
 */
export function startExportWorker(ctx: AppContext, options: ExportWorkerOptions = {}) {
  const worker = ctx.queueBackend.createWorker<ExportJobData>(EXPORT_QUEUE, async (job: Job<ExportJobData>) => runCustomerExport(ctx.knex, ctx.files, job.data.exportId), { concurrency: 1 });
  worker.on('failed', (job, err) => {
    ctx.logger.warn({ queue: EXPORT_QUEUE, jobId: job?.id, err: err.message }, 'export failed');
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) void markCustomerExportFailed(ctx.knex, job.data.exportId, 'The export could not be written; please try again');
  });
  worker.on('error', (err) => ctx.logger.warn({ queue: EXPORT_QUEUE, err: err.message }, 'worker connection problem'));

  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      for (const id of await findStrandedExportIds(ctx.knex, options.strandedAfterSeconds ?? 60)) await enqueueCustomerExport(ctx.queues.exports, id);
      await removeExpiredExportFiles(ctx.knex, ctx.files);
    } catch (err) {
      ctx.logger.warn({ err: (err as Error).message }, 'export sweep failed; will try again');
    } finally {
      sweeping = false;
    }
  };
  const timer = setInterval(sweep, options.sweepEveryMs ?? 30_000);
  timer.unref();

  return {
    worker,
    sweep,
    close: async () => {
      clearInterval(timer);
      await worker.close();
    },
  };
}
