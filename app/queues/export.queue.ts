import type { JobQueue } from './queue-backend.js';

export const EXPORT_QUEUE = 'exports';
export const RUN_EXPORT = 'run';

export interface ExportJobData {
  exportId: number;
}

export async function enqueueCustomerExport(queue: JobQueue<ExportJobData>, exportId: number): Promise<void> {
  await queue.add(RUN_EXPORT, { exportId }, { jobId: `export-${exportId}`, attempts: 3, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: { count: 1_000 }, removeOnFail: false });
}
