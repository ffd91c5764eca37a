import type { JobQueue } from './queue-backend.js';

// The `groups` queue (SPEC 13): recomputes dynamic groups (F-GRP-2) after a group is saved and
// nightly (a BullMQ job scheduler, on Redis and on the PostgreSQL backend alike).

export const GROUP_QUEUE = 'groups';
export const RECOMPUTE_GROUP = 'recompute';
export const RECOMPUTE_ALL_GROUPS = 'recompute-all';
export const NIGHTLY_SCHEDULER_ID = 'groups-nightly';
/** 02:30 every night (server time). */
export const NIGHTLY_PATTERN = '30 2 * * *';

export interface GroupJobData {
  /** One group; absent for "every dynamic group" (the nightly run). */
  groupId?: number;
}

const retries = { attempts: 3, backoff: { type: 'exponential' as const, delay: 5_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } };

/**
 * Asks for a group's members to be recomputed. `version` (the group's updated_at) makes the job id
 * unique per saved rule: a repeated add for the same version is a no-op, a newer rule gets its own run.
 */
export async function enqueueGroupRecompute(queue: JobQueue<GroupJobData>, groupId: number, version: Date | string | number): Promise<void> {
  const stamp = version instanceof Date ? version.getTime() : typeof version === 'string' ? new Date(version).getTime() : version;
  await queue.add(RECOMPUTE_GROUP, { groupId }, { jobId: `group-${groupId}-${stamp}`, ...retries });
}

/** Creates or updates the nightly run; upserting the same scheduler from every worker is harmless. */
export async function scheduleNightlyGroupRecompute(queue: JobQueue<GroupJobData>): Promise<void> {
  await queue.upsertJobScheduler(NIGHTLY_SCHEDULER_ID, { pattern: NIGHTLY_PATTERN }, { name: RECOMPUTE_ALL_GROUPS, data: {}, opts: retries });
}
