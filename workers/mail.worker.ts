import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { createMailTransport } from '../app/mail/mail-transport.js';
import { DELIVER_MAIL, MAIL_QUEUE, type MailJobData } from '../app/queues/mail.queue.js';
import type { JobWorker } from '../app/queues/queue-backend.js';
import { deliverMailProcessor } from './processors/deliver-mail.processor.js';
import { startOutboxSweeper } from './processors/sweep-outbox.processor.js';
import { watchWorker } from './worker-events.js';

export interface RunningWorker {
  worker: JobWorker<MailJobData>;
  close(): Promise<void>;
}

export interface MailWorkerOptions {
  concurrency?: number;
  sweepEveryMs?: number;
  /** How long an outbox row may wait before the sweep enqueues it (default STRANDED_AFTER_SECONDS). */
  strandedAfterSeconds?: number;
}

export async function startMailWorker(ctx: AppContext, options: MailWorkerOptions = {}): Promise<RunningWorker> {
  const transport = createMailTransport({ smtpUrl: ctx.config.smtpUrl, dataDir: ctx.config.dataDir });
  const deliver = deliverMailProcessor({ knex: ctx.knex, transport, from: ctx.config.mailFrom });
  const sweeper = startOutboxSweeper({
    knex: ctx.knex,
    queue: ctx.queues.mail,
    everyMs: options.sweepEveryMs ?? 15_000,
    strandedAfterSeconds: options.strandedAfterSeconds,
    logger: ctx.logger,
  });

  const worker = ctx.queueBackend.createWorker<MailJobData>(
    MAIL_QUEUE,
    async (job: Job<MailJobData>) => {
      if (job.name === DELIVER_MAIL) return deliver(job);
      throw new Error(`Unknown job "${job.name}" on the ${MAIL_QUEUE} queue`);
    },
    { concurrency: options.concurrency ?? 4 },
  );
  watchWorker(worker, ctx.logger, { queue: MAIL_QUEUE, failedMessage: 'job failed' });

  return {
    worker,
    async close() {
      sweeper.stop();
      // Finishes the jobs in hand before returning (graceful shutdown).
      await worker.close();
      transport.close();
    },
  };
}
