import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { enqueueGroupRecompute, GROUP_QUEUE, RECOMPUTE_ALL_GROUPS, scheduleNightlyGroupRecompute, type GroupJobData } from '../app/queues/group.queue.js';
import { dynamicGroupIds, recomputeDynamicGroup, staleDynamicGroupIds } from '../app/services/group-rule.service.js';
import { startPeriodicSweep } from './periodic-sweep.js';
import { watchWorker } from './worker-events.js';

export interface GroupWorkerOptions {
  /** How often dynamic groups whose recompute job was lost are handed to the queue again. */
  sweepEveryMs?: number;
  /** How long a changed rule may wait before it counts as lost. */
  staleAfterSeconds?: number;
}

/**
 * Recomputes dynamic groups (F-GRP-2): one group after it was saved, or every dynamic group (the
 * nightly job scheduler, upserted when the worker starts). Like the bulk worker, a timer finds
 * groups whose job never reached the queue (saved while it was down) and enqueues them again.
 */
export async function startGroupWorker(ctx: AppContext, options: GroupWorkerOptions = {}) {
  const queue = ctx.queues.groups;
  const worker = ctx.queueBackend.createWorker<GroupJobData>(
    GROUP_QUEUE,
    async (job: Job<GroupJobData>) => {
      const ids = job.name === RECOMPUTE_ALL_GROUPS || job.data.groupId === undefined ? await dynamicGroupIds(ctx.knex) : [job.data.groupId];
      const results: Record<number, unknown> = {};
      for (const id of ids) results[id] = await recomputeDynamicGroup(ctx.knex, id);
      return results;
    },
    { concurrency: 1 },
  );
  watchWorker(worker, ctx.logger, { queue: GROUP_QUEUE, failedMessage: 'group recompute failed' });

  // Awaited, like the invitation expiry's: once the workers have started, the nightly run exists
  // (before, `npm start` could log "ready" with the upsert still in flight).
  await scheduleNightlyGroupRecompute(queue).catch((err: Error) => ctx.logger.warn({ err: err.message }, 'could not schedule the nightly group recompute; the next worker start will'));

  const sweeper = startPeriodicSweep(ctx.logger, 'group recompute', options.sweepEveryMs ?? 60_000, async () => {
    for (const id of await staleDynamicGroupIds(ctx.knex, options.staleAfterSeconds ?? 60)) {
      const group = (await ctx.knex('customerGroups').where({ id }).first('updatedAt')) as { updatedAt: Date } | undefined;
      if (group) await enqueueGroupRecompute(queue, id, group.updatedAt);
    }
  });

  return {
    worker,
    close: async () => {
      sweeper.stop();
      await worker.close();
    },
  };
}
