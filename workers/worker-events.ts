import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { JobWorker } from '../app/queues/queue-backend.js';

export interface WorkerEventOptions<T> {
  queue: string;
  /** Logged (as a warning) on every failed attempt. */
  failedMessage: string;
  /** Called once a job has failed its last attempt, to mark its record as failed. */
  gaveUp?(job: Job<T, unknown, string>, err: Error): Promise<unknown>;
}

/**
 * Logs a worker's failed attempts and connection problems, and marks a job's record as failed
 * once its last attempt failed (what the queue will not retry would otherwise stay "queued").
 */
export function watchWorker<T>(worker: JobWorker<T>, logger: Pick<Logger, 'warn'>, options: WorkerEventOptions<T>): void {
  const { queue, gaveUp } = options;
  worker.on('failed', (job, err) => {
    logger.warn({ queue, job: job?.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, options.failedMessage);
    if (gaveUp && job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      gaveUp(job, err).catch((error: Error) => logger.warn({ queue, jobId: job.id, err: error.message }, 'could not mark the job as failed'));
    }
  });
  worker.on('error', (err) => logger.warn({ queue, err: err.message }, 'worker connection problem'));
}
