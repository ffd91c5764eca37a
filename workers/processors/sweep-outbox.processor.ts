import type { Knex } from 'knex';
import { enqueueMailDelivery, type MailJobData } from '../../app/queues/mail.queue.js';
import type { JobQueue } from '../../app/queues/queue-backend.js';
import { findStrandedOutboxIds } from '../../app/services/outbox.service.js';

/** Long enough that the web request's own enqueue normally wins; short enough that nobody waits. */
export const STRANDED_AFTER_SECONDS = 10;

/**
 * Enqueues outbox rows nobody handed to the queue (written while Redis was down, or a lost
 * enqueue). It runs on a timer in every worker process rather than as a repeatable job, because a
 * Redis that comes back empty would have forgotten the schedule; duplicates collapse on the job id.
 */
export function startOutboxSweeper(deps: {
  knex: Knex;
  queue: JobQueue<MailJobData>;
  everyMs: number;
  /** Grace period before a waiting row counts as stranded; defaults to STRANDED_AFTER_SECONDS. */
  strandedAfterSeconds?: number;
  onError(err: Error): void;
}) {
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const ids = await findStrandedOutboxIds(deps.knex, deps.strandedAfterSeconds ?? STRANDED_AFTER_SECONDS);
      for (const id of ids) await enqueueMailDelivery(deps.queue, id, { revive: true });
    } catch (err) {
      deps.onError(err as Error);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(sweep, deps.everyMs);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
