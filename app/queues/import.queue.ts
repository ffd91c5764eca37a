import type { JobQueue } from './queue-backend.js';

export const IMPORT_QUEUE = 'imports';
export const ANALYSE_IMPORT = 'analyse';
export const RUN_IMPORT = 'run';

export type ImportRunMode = 'dry_run' | 'import';

export type ImportJobData = { importId: number; mode?: ImportRunMode };

const options = (jobId: string) => ({
  jobId,
  // A retry starts the step again (an import continues after its last merged batch).
  attempts: 3,
  backoff: { type: 'exponential' as const, delay: 5_000 },
  removeOnComplete: { count: 1_000 },
  removeOnFail: false,
});

/** Reads the uploaded file's header, counts its rows and proposes a mapping. */
export async function enqueueImportAnalysis(queue: JobQueue<ImportJobData>, importId: number): Promise<void> {
  await queue.add(ANALYSE_IMPORT, { importId }, options(`import-${importId}-analyse`));
}

/** A dry run or the import itself; `run` numbers the runs of one import so each gets its own job. */
export async function enqueueImportRun(queue: JobQueue<ImportJobData>, importId: number, mode: ImportRunMode, run: number): Promise<void> {
  await queue.add(RUN_IMPORT, { importId, mode }, options(`import-${importId}-run-${run}`));
}
