import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { enqueueDocumentCheck, PROCESS_DOCUMENT, UPLOAD_QUEUE, type UploadJobData } from '../app/queues/upload.queue.js';
import { checkDocument, findStalePendingDocumentIds, markDocumentCheckFailed, type DocumentCheckOptions } from '../app/services/document-check.service.js';

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
  worker.on('failed', (job, err) => {
    ctx.logger.warn({ queue: UPLOAD_QUEUE, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'document check failed');
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      markDocumentCheckFailed(deps, job.data.documentId).catch((error: Error) => ctx.logger.warn({ err: error.message, documentId: job.data.documentId }, 'could not mark the document as failed'));
    }
  });
  worker.on('error', (err) => ctx.logger.warn({ queue: UPLOAD_QUEUE, err: err.message }, 'worker connection problem'));

  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      for (const id of await findStalePendingDocumentIds(ctx.knex, options.staleAfterSeconds ?? 120)) await enqueueDocumentCheck(ctx.queues.uploads, id);
    } catch (err) {
      ctx.logger.warn({ err: (err as Error).message }, 'pending document sweep failed; will try again');
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
