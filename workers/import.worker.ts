import type { Job } from 'bullmq';
import type { AppContext } from '../app/context.js';
import { ANALYSE_IMPORT, IMPORT_QUEUE, RUN_IMPORT, type ImportJobData } from '../app/queues/import.queue.js';
import { analyseImport } from '../app/services/imports/import-analysis.service.js';
import { runImport } from '../app/services/imports/import-run.service.js';
import { markImportFailed } from '../app/services/imports/import.service.js';

const GAVE_UP = {
  analyse: 'The file could not be read because of a problem on our side (it was logged). Upload it again in a few minutes.',
  dry_run: 'The dry run stopped because of a problem on our side (it was logged). Nothing was changed; start it again in a few minutes.',
  import: 'The import stopped because of a problem on our side (it was logged). What was imported stays imported; start it again to finish — rows already imported are matched, not duplicated.',
};

/** Customer imports (F-LIST-6): analysing an upload, dry runs and imports; one at a time per worker. */
export function startImportWorker(ctx: AppContext) {
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
  worker.on('failed', (job, err) => {
    ctx.logger.warn({ queue: IMPORT_QUEUE, job: job?.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'import job failed');
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      void markImportFailed(ctx.knex, job.data.importId, job.name === ANALYSE_IMPORT ? GAVE_UP.analyse : GAVE_UP[job.data.mode ?? 'dry_run']);
    }
  });
  worker.on('error', (err) => ctx.logger.warn({ queue: IMPORT_QUEUE, err: err.message }, 'worker connection problem'));
  return { worker, close: () => worker.close() };
}
