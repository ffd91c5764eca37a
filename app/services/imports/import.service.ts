import type { Knex } from 'knex';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors.js';
import type { ShopScope } from '../../models/staff-user.model.js';
import type { ImportRunMode } from '../../queues/import.queue.js';
import { neutraliseFormula } from '../customer-export.service.js';
import type { StaffPrincipal } from '../staff.service.js';
import { mappingProblem, type Mapping } from './import-fields.js';
import type { CsvDelimiter, ImportFormat } from './import-file.js';

export type ImportStatus = 'uploaded' | 'analysing' | 'ready' | 'dry_run' | 'importing' | 'done' | 'failed';

export interface RejectedRow {
  line: number;
  email: string;
  reason: string;
}

export interface CustomerImport {
  id: number;
  staffUserId: number;
  shopId: number;
  status: ImportStatus;
  originalName: string;
  storageKey: string;
  byteSize: number;
  format: ImportFormat | null;
  csvDelimiter: CsvDelimiter | null;
  header: string[];
  sampleRows: string[][];
  rowCount: number | null;
  mapping: Mapping;
  options: { tag?: string };
  runCount: number;
  resultOf: 'dry_run' | 'import' | null;
  processedRows: number;
  createdCount: number;
  updatedCount: number;
  rejectedCount: number;
  errorsSample: RejectedRow[];
  stagedRows: number | null;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

/** A worker is (or should soon be) busy with the import: the page polls. */
export const BUSY_STATUSES: readonly ImportStatus[] = ['uploaded', 'analysing', 'dry_run', 'importing'];
export const ERRORS_SAMPLE_SIZE = 100;

/** Importing creates and changes customers in bulk: owners and managers only. */
export function mayImportCustomers(staff: Pick<StaffPrincipal, 'role'>): boolean {
  return staff.role === 'owner' || staff.role === 'manager';
}

export function inScope(scope: ShopScope, shopId: number): boolean {
  return scope === 'all' || scope.includes(shopId);
}

/** The name the browser sent, for display only: no folders, no control characters. */
export function displayFileName(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters have no place in a name shown on a page
  const base = (name.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return base.slice(0, 255) || 'upload';
}

export async function createImport(
  knex: Knex,
  input: { staffId: number; shopId: number; originalName: string; storageKey: string; byteSize: number; format: ImportFormat; tag: string | null },
): Promise<number> {
  const [row] = await knex('customerImports')
    .insert({
      staffUserId: input.staffId,
      shopId: input.shopId,
      originalName: displayFileName(input.originalName),
      storageKey: input.storageKey,
      byteSize: input.byteSize,
      format: input.format,
      options: JSON.stringify(input.tag ? { tag: input.tag } : {}),
    })
    .returning('id');
  return row.id as number;
}

/** One import of this staff member, in a shop they still manage; anything else is "not found". */
export async function getImport(knex: Knex, staff: Pick<StaffPrincipal, 'id' | 'scope'>, importId: number): Promise<CustomerImport> {
  const row = (await knex('customerImports').where({ id: importId, staffUserId: staff.id }).first()) as CustomerImport | undefined;
  if (!row || !inScope(staff.scope, row.shopId)) throw new NotFoundError('We could not find that import.');
  return row;
}

export async function listRecentImports(knex: Knex, staff: Pick<StaffPrincipal, 'id' | 'scope'>, limit = 10) {
  const query = knex('customerImports as i')
    .join('shops as s', 's.id', 'i.shopId')
    .where('i.staffUserId', staff.id)
    .orderBy('i.id', 'desc')
    .limit(limit)
    .select('i.id', 'i.status', 'i.originalName', 'i.rowCount', 'i.createdAt', 'i.resultOf', 'i.createdCount', 'i.updatedCount', 'i.rejectedCount', 's.name as shopName');
  if (staff.scope !== 'all') query.whereIn('i.shopId', staff.scope);
  return query as Promise<Array<Pick<CustomerImport, 'id' | 'status' | 'originalName' | 'rowCount' | 'createdAt' | 'resultOf' | 'createdCount' | 'updatedCount' | 'rejectedCount'> & { shopName: string }>>;
}

/**
 * Saves the mapping chosen in the preview and hands the import to a worker for a dry run or the
 * import itself. Only one run at a time: a second click while one runs is a conflict, not a
 * second job. Answers the run's number (part of its job id).
 */
export async function startImportRun(
  knex: Knex,
  staff: Pick<StaffPrincipal, 'id' | 'scope'>,
  importId: number,
  input: { mapping: Mapping; tag: string | null; mode: ImportRunMode },
): Promise<number> {
  const record = await getImport(knex, staff, importId);
  if (record.status === 'done') throw new ConflictError('This file has been imported. To import it again, upload it again.');
  if (record.rowCount === null && !BUSY_STATUSES.includes(record.status)) throw new ConflictError('This file could not be read. Upload another file.');
  if (input.mapping.length !== record.header.length) throw new ValidationError({ mapping: 'The columns of the file changed. Reload the page.' });
  const problem = mappingProblem(input.mapping);
  if (problem) throw new ValidationError({ mapping: problem });

  const [row] = await knex('customerImports')
    .where({ id: importId })
    .whereIn('status', ['ready', 'failed'])
    .whereNotNull('rowCount')
    .update({
      status: input.mode === 'dry_run' ? 'dry_run' : 'importing',
      mapping: JSON.stringify(input.mapping),
      options: JSON.stringify(input.tag ? { tag: input.tag } : {}),
      runCount: knex.raw('run_count + 1'),
      processedRows: 0,
      stagedRows: null,
      error: null,
    })
    .returning('runCount');
  if (!row) throw new ConflictError('This import is already running. Wait for it to finish.');
  return row.runCount as number;
}

export async function markImportFailed(knex: Knex, importId: number, message: string): Promise<void> {
  await knex('customerImports')
    .where({ id: importId })
    .whereNot('status', 'done')
    .update({ status: 'failed', error: message.slice(0, 500), finishedAt: knex.fn.now() });
}

const CSV_BATCH = 5_000;

/** Every rejected row of the last run, in line order, as CSV cells that a spreadsheet will not run as formulas. */
export async function* rejectedRowsCsv(knex: Knex, importId: number): AsyncGenerator<string[]> {
  let after = 0;
  for (;;) {
    const rows = (await knex('customerImportRejections').where({ importId }).where('line', '>', after).orderBy('line').limit(CSV_BATCH).select('line', 'email', 'reason')) as RejectedRow[];
    for (const row of rows) yield [String(row.line), row.email, row.reason].map(neutraliseFormula);
    if (rows.length < CSV_BATCH) return;
    after = rows[rows.length - 1]!.line;
  }
}
