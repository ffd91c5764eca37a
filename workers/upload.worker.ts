import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { enqueueDocumentCheck, PROCESS_DOCUMENT, UPLOAD_QUEUE, type UploadJobData } from '../app/queues/upload.queue.js';
import { checkDocument, findStalePendingDocumentIds, markDocumentCheckFailed, type DocumentCheckOptions } from '../app/services/document-check.service.js';
import { startPeriodicSweep } from './periodic-sweep.js';
import { watchWorker } from './worker-events.js';

export interface UploadWorkerOptions extends DocumentCheckOptions {
  /** How often pending documents whose job was lost are handed to the queue again. */
  sweepEveryMs?: number;
  /** How long a document may stay pending before it counts as lost. */
  staleAfterSeconds?: number;
}

/**
 * Checks uploaded customer documents (F-FILE), one at a time per worker (sniffing and thumbnails
 * are CPU work). Like the bulk worker, a timer finds documents still pending after a while (the
 * queue was down when they were uploaded, or their job was lost) and enqueues them again; the job
 * id makes a duplicate harmless and the job skips a document that is no longer pending.
 */
export function startUploadWorker(ctx: AppContext, options: UploadWorkerOptions = {}) {
  const deps = { knex: ctx.knex, files: ctx.files };
  const worker = ctx.queueBackend.createWorker<UploadJobData>(
    UPLOAD_QUEUE,
    async (job: Job<UploadJobData>) => {
      if (job.name !== PROCESS_DOCUMENT) throw new Error(`Unknown job "${job.name}" on the ${UPLOAD_QUEUE} queue`);
      return checkDocument(deps, job.data.documentId, { maxPixels: options.maxPixels });
    },
    { concurrency: 1 },
  );
  watchWorker(worker, ctx.logger, {
    queue: UPLOAD_QUEUE,
    failedMessage: 'document check failed',
    gaveUp: (job) =>
      markDocumentCheckFailed(deps, job.data.documentId).catch((error: Error) => ctx.logger.warn({ err: error.message, documentId: job.data.documentId }, 'could not mark the document as failed')),
  });

  const sweeper = startPeriodicSweep(ctx.logger, 'pending document', options.sweepEveryMs ?? 30_000, async () => {
    for (const id of await findStalePendingDocumentIds(ctx.knex, options.staleAfterSeconds ?? 120)) await enqueueDocumentCheck(ctx.queues.uploads, id);
  });

  return {
    worker,
    close: async () => {
      sweeper.stop();
      await worker.close();
    },
  };
}
