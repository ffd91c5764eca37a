import type { JobsOptions } from 'bullmq';
import type { JobQueue } from './queue-backend.js';

export const MAIL_QUEUE = 'mail';

export interface MailJobData {
  outboxId: number;
}
export const DELIVER_MAIL = 'deliver';

const deliveryOptions = (outboxId: number): JobsOptions => ({
  // One job per outbox row: enqueueing the same row again while it waits or retries is a no-op.
  jobId: `outbox-${outboxId}`,
  attempts: 8,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { count: 1_000 },
  removeOnFail: false,
});

/**
 * `revive` is for the sweep and the admin's retry, which only ask for rows that still need sending:
 * a finished job for such a row is kept (failed: for the jobs page; completed: e.g. it found the row
 * claimed by a worker that then died) and would swallow the new add, so it is retried instead.
 */
export async function enqueueMailDelivery(queue: JobQueue<MailJobData>, outboxId: number, options: { revive?: boolean } = {}): Promise<void> {
  const job = await queue.add(DELIVER_MAIL, { outboxId }, deliveryOptions(outboxId));
  if (!options.revive) return;
  const state = await job.getState();
  if (state === 'failed' || state === 'completed') await job.retry(state);
}
