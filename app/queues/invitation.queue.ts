import type { JobQueue } from './queue-backend.js';

// Queue `invitations` (SPEC 13). Job payloads never carry a token: the expiry job has no data at
// all, and bulk invitations run as `bulk` operations (their tokens are minted inside the worker's
// chunk transaction and exist only in the e-mails).

export const INVITATION_QUEUE = 'invitations';
export const EXPIRE_INVITATIONS = 'expire';
export const EXPIRE_SCHEDULER_ID = 'expire-invitations';
export const EXPIRE_EVERY_MS = 15 * 60_000;

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the expiry job needs no data
export type InvitationJobData = {};

/**
 * The repeatable expiry job, through BullMQ 6's job scheduler (Redis and PostgreSQL backends
 * alike). Upserting the same scheduler id from every worker is harmless: there is one scheduler.
 */
export async function scheduleInvitationExpiry(queue: JobQueue<InvitationJobData>, everyMs = EXPIRE_EVERY_MS): Promise<void> {
  await queue.upsertJobScheduler(
    EXPIRE_SCHEDULER_ID,
    { every: everyMs },
    { name: EXPIRE_INVITATIONS, data: {}, opts: { attempts: 3, backoff: { type: 'exponential', delay: 5_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 1_000 } } },
  );
}

/** One expiry run now (e.g. after an outage), besides the schedule. */
export async function enqueueInvitationExpiry(queue: JobQueue<InvitationJobData>): Promise<void> {
  await queue.add(EXPIRE_INVITATIONS, {}, { attempts: 3, backoff: { type: 'exponential', delay: 5_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 1_000 } });
}
