import type { JobQueue } from './queue-backend.js';

export const BULK_QUEUE = 'bulk';
export const RUN_BULK_OPERATION = 'run';

export interface BulkJobData {
  operationId: number;
}

export async function enqueueBulkOperation(queue: JobQueue<BulkJobData>, operationId: number): Promise<void> {
  await queue.add(
    RUN_BULK_OPERATION,
    { operationId },
    // One job per operation; a retry resumes from the operation's saved progress.
    { jobId: `bulk-${operationId}`, attempts: 3, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: { count: 1_000 }, removeOnFail: false },
  );
}
