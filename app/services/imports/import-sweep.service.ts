import type { Knex } from 'knex';
import type { FileStorage } from '../../storage/file-storage.js';
import { BUSY_STATUSES, type ImportStatus } from './import.service.js';

// What the imports worker's sweep does besides the jobs themselves: find imports whose job never
// reached the queue (it was down when the file was uploaded or the run started) so they can be
// enqueued again, delete uploaded files once their import is long over, and delete the staged
// lines of runs that stopped for good.

/** Imports busy since before the grace period: waiting for their analysis or for a started run. */
export async function findWaitingImports(knex: Knex, graceSeconds: number): Promise<Array<{ id: number; status: ImportStatus; runCount: number }>> {
  return knex('customerImports')
    .whereIn('status', BUSY_STATUSES)
    .andWhere('createdAt', '<', knex.raw('now() - make_interval(secs => ?)', [graceSeconds]))
    .orderBy('id')
    .limit(100)
    .select('id', 'status', 'runCount');
}

export const FILE_REMOVED = (days: number) => `The uploaded file was deleted ${days} days after it was uploaded; upload it again to import it.`;

/**
 * Deletes the files of imports uploaded more than `days` ago that are not running: a customer
 * list should not lie around. A finished import keeps its report; one that was never finished
 * says why it cannot run any more.
 */
export async function removeOldImportFiles(knex: Knex, files: FileStorage, days: number): Promise<number> {
  const old = (await knex('customerImports')
    .whereNull('fileRemovedAt')
    .whereNotIn('status', ['analysing', 'dry_run', 'importing'])
    .andWhere('createdAt', '<', knex.raw('now() - make_interval(days => ?)', [days]))
    .orderBy('id')
    .limit(500)
    .select('id', 'status', 'storageKey')) as Array<{ id: number; status: ImportStatus; storageKey: string }>;
  for (const row of old) {
    await files.remove(row.storageKey);
    await knex('customerImports')
      .where({ id: row.id })
      .update({
        fileRemovedAt: knex.fn.now(),
        ...(row.status === 'done' ? {} : { status: 'failed', error: FILE_REMOVED(days), finishedAt: knex.fn.now() }),
      });
  }
  return old.length;
}

/**
 * Deletes the staged lines of failed imports. A run keeps its staged lines while its job may be
 * retried (a retry resumes from them); one that gave up is failed, and starting it again stages
 * the file afresh, so its lines (up to a whole file's) would otherwise stay until then, or for
 * ever. The status is checked by the deleting statement itself: a run started again meanwhile is
 * running before it stages anything, so its lines are never taken for the old run's. (Failed imports
 * are found first, each by one index probe: a join would read the lines of a running import too.)
 */
export async function removeStagedRowsOfFailedImports(knex: Knex): Promise<number> {
  const failed = (await knex('customerImports as i')
    .where('i.status', 'failed')
    .whereExists(knex('customerImportRows as s').whereRaw('s.import_id = i.id'))
    .pluck('i.id')) as number[];
  let removed = 0;
  for (const importId of failed) {
    removed += await knex('customerImportRows')
      .where({ importId })
      .whereExists(knex('customerImports').where({ id: importId, status: 'failed' }))
      .delete();
  }
  return removed;
}
