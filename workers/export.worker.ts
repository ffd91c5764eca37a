import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { enqueueCustomerExport, EXPORT_QUEUE, type ExportJobData } from '../app/queues/export.queue.js';
import { findStrandedExportIds, markCustomerExportFailed, removeExpiredExportFiles, runCustomerExport } from '../app/services/customer-export.service.js';
import { startPeriodicSweep } from './periodic-sweep.js';
import { watchWorker } from './worker-events.js';

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
  watchWorker(worker, ctx.logger, {
    queue: EXPORT_QUEUE,
    failedMessage: 'export failed',
    gaveUp: (job) => markCustomerExportFailed(ctx.knex, job.data.exportId, 'The export could not be written; please try again'),
  });

  const sweeper = startPeriodicSweep(ctx.logger, 'export', options.sweepEveryMs ?? 30_000, async () => {
    for (const id of await findStrandedExportIds(ctx.knex, options.strandedAfterSeconds ?? 60)) await enqueueCustomerExport(ctx.queues.exports, id);
    await removeExpiredExportFiles(ctx.knex, ctx.files);
  });

  return {
    worker,
    sweep: sweeper.sweep,
    close: async () => {
      sweeper.stop();
      await worker.close();
    },
  };
}
