import type { AppContext } from '../app/context.js';
import { startBulkWorker } from './bulk.worker.js';
import { startExportWorker } from './export.worker.js';
import { startGroupWorker } from './group.worker.js';
import { startImportWorker } from './import.worker.js';
import { startInvitationWorker } from './invitation.worker.js';
import { startMailWorker } from './mail.worker.js';
import { startUploadWorker } from './upload.worker.js';

/** Every queue's worker, as `npm start` and `npm run start:worker` run them; close() ends them all gracefully. */
export async function startAllWorkers(ctx: AppContext): Promise<{ close(): Promise<void> }> {
  const workers = [await startMailWorker(ctx), startBulkWorker(ctx), startImportWorker(ctx), await startInvitationWorker(ctx), startExportWorker(ctx), startUploadWorker(ctx), await startGroupWorker(ctx)];
  return {
    async close() {
      await Promise.all(workers.map((worker) => worker.close()));
    },
  };
}
