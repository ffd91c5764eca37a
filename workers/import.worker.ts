import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { ANALYSE_IMPORT, enqueueImportAnalysis, enqueueImportRun, IMPORT_QUEUE, RUN_IMPORT, type ImportJobData } from '../app/queues/import.queue.js';
import { analyseImport } from '../app/services/imports/import-analysis.service.js';
import { runImport } from '../app/services/imports/import-run.service.js';
import { findWaitingImports, removeStagedRowsOfFailedImports, removeOldImportFiles } from '../app/services/imports/import-sweep.service.js';
import { markImportFailed } from '../app/services/imports/import.service.js';
import { startPeriodicSweep } from './periodic-sweep.js';
import { watchWorker } from './worker-events.js';

const GAVE_UP = {
  analyse: 'The file could not be read because of a problem on our side (it was logged). Upload it again in a few minutes.',
  dry_run: 'The dry run stopped because of a problem on our side (it was logged). Nothing was changed; start it again in a few minutes.',
  import: 'The import stopped because of a problem on our side (it was logged). What was imported stays imported; start it again to finish — rows already imported are matched, not duplicated.',
};

export interface ImportWorkerOptions {
  /** How often waiting imports are enqueued again, old files removed and failed runs' staged lines deleted. */
  sweepEveryMs?: number;
  /** How long an import may wait for its job before the sweep enqueues it again (the job id makes a duplicate harmless). */
  strandedAfterSeconds?: number;
  /** Uploaded files are deleted this many days after the upload, once their import is not running. */
  keepFilesDays?: number;
}

/** Customer imports (F-LIST-6): analysing an upload, dry runs and imports; one at a time per worker. */
export function startImportWorker(ctx: AppContext, options: ImportWorkerOptions = {}) {
  const deps = { knex: ctx.knex, files: ctx.files };
  const worker = ctx.queueBackend.createWorker<ImportJobData>(
    IMPORT_QUEUE,
    async (job: Job<ImportJobData>) => {
      if (job.name === ANALYSE_IMPORT) return analyseImport(deps, job.data.importId);
      if (job.name === RUN_IMPORT) return runImport(deps, job.data.importId, job.data.mode ?? 'dry_run');
      throw new Error(`Unknown job "${job.name}" on the ${IMPORT_QUEUE} queue`);
    },
    { concurrency: 1 },
  );
  watchWorker(worker, ctx.logger, {
    queue: IMPORT_QUEUE,
    failedMessage: 'import job failed',
    gaveUp: (job) => markImportFailed(ctx.knex, job.data.importId, job.name === ANALYSE_IMPORT ? GAVE_UP.analyse : GAVE_UP[job.data.mode ?? 'dry_run']),
  });
  const periodic = startPeriodicSweep(ctx.logger, 'import', options.sweepEveryMs ?? 30_000, async () => {
    for (const waiting of await findWaitingImports(ctx.knex, options.strandedAfterSeconds ?? 120)) {
      if (waiting.status === 'uploaded' || waiting.status === 'analysing') await enqueueImportAnalysis(ctx.queues.imports, waiting.id);
      else await enqueueImportRun(ctx.queues.imports, waiting.id, waiting.status === 'importing' ? 'import' : 'dry_run', waiting.runCount);
    }
    await removeOldImportFiles(ctx.knex, ctx.files, options.keepFilesDays ?? 7);
    await removeStagedRowsOfFailedImports(ctx.knex);
  });
  return {
    worker,
    sweep: periodic.sweep,
    close: async () => {
      periodic.stop();
      await worker.close();
    },
  };
}
