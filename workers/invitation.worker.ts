import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { EXPIRE_INVITATIONS, INVITATION_QUEUE, scheduleInvitationExpiry, type InvitationJobData } from '../app/queues/invitation.queue.js';
import { expireInvitations } from '../app/services/invitation.service.js';
import { watchWorker } from './worker-events.js';

export interface InvitationWorkerOptions {
  /** How often the expiry job runs (default every 15 minutes). */
  expireEveryMs?: number;
}

/**
 * Queue `invitations` (F-LIFE-2): the repeatable job that marks expired invitations. The schedule
 * is upserted by every worker at start (one scheduler per queue, whatever the number of workers);
 * if the queue store is away at that moment, the next start or a timer tries again.
 */
export async function startInvitationWorker(ctx: AppContext, options: InvitationWorkerOptions = {}) {
  const worker = ctx.queueBackend.createWorker<InvitationJobData>(
    INVITATION_QUEUE,
    async (job: Job<InvitationJobData>) => {
      if (job.name === EXPIRE_INVITATIONS) return { expired: await expireInvitations(ctx.knex) };
      throw new Error(`Unknown job "${job.name}" on the ${INVITATION_QUEUE} queue`);
    },
    { concurrency: 1 },
  );
  watchWorker(worker, ctx.logger, { queue: INVITATION_QUEUE, failedMessage: 'invitation job failed' });

  let scheduled = false;
  const schedule = async () => {
    if (scheduled) return;
    try {
      await scheduleInvitationExpiry(ctx.queues.invitations, options.expireEveryMs);
      scheduled = true;
    } catch (err) {
      ctx.logger.warn({ err: (err as Error).message }, 'could not schedule the invitation expiry job; will try again');
    }
  };
  await schedule();
  const timer = setInterval(() => void schedule(), 60_000);
  timer.unref();

  return {
    worker,
    async close() {
      clearInterval(timer);
      await worker.close();
    },
  };
}
