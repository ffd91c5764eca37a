import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { enqueueMailDelivery, type MailJobData } from '../../app/queues/mail.queue.js';
import type { JobQueue } from '../../app/queues/queue-backend.js';
import { findStrandedOutboxIds } from '../../app/services/outbox.service.js';
import { startPeriodicSweep } from '../periodic-sweep.js';

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
  /** Told (as "outbox sweep failed; will try again") when a sweep fails. */
  logger: Pick<Logger, 'warn'>;
}) {
  return startPeriodicSweep(deps.logger, 'outbox', deps.everyMs, async () => {
    const ids = await findStrandedOutboxIds(deps.knex, deps.strandedAfterSeconds ?? STRANDED_AFTER_SECONDS);
    for (const id of ids) await enqueueMailDelivery(deps.queue, id, { revive: true });
  });
}
