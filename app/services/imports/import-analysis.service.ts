import type { Knex } from 'knex';
import type { FileStorage } from '../../storage/file-storage.js';
import { maskSecrets, proposeMapping } from './import-fields.js';
import { ImportFileError, readImportRows, sniffImportFile } from './import-file.js';
import { markImportFailed, type CustomerImport } from './import.service.js';

export interface ImportDeps {
  knex: Knex;
  files: FileStorage;
}

/** More columns would not fit the preview form (and no customer export has them). */
export const MAX_COLUMNS = 150;
export const MAX_ROWS = 1_000_000;
const SAMPLE_ROWS = 5;
const SAMPLE_CELL = 200;

export const isBlankRow = (cells: string[]) => cells.every((cell) => cell.trim() === '');

/** A header cell as shown and matched: trimmed, without a byte-order mark. */
function headerName(cell: string): string {
  return cell.replace(/^\uFEFF/, '').trim().slice(0, 200);
}

/**
 * The worker's first step for an uploaded file (F-FILE): sniff its real type, move it out of
 * quarantine, then read it once to the end (which also proves a CSV is valid UTF-8) for its header,
 * the number of rows, the first few rows and a proposed mapping. A file that is not usable is
 * marked failed with the reason and deleted.
 */
export async function analyseImport(deps: ImportDeps, importId: number): Promise<void> {
  const { knex, files } = deps;
  const record = (await knex('customerImports').where({ id: importId }).first()) as CustomerImport | undefined;
  if (!record || (record.status !== 'uploaded' && record.status !== 'analysing')) return;
  await knex('customerImports').where({ id: importId }).update({ status: 'analysing', processedRows: 0 });

  let key = record.storageKey;
  try {
    const sniffed = await sniffImportFile(files, key);
    key = await files.promote(key, 'imports');
    await knex('customerImports').where({ id: importId }).update({ storageKey: key, format: sniffed.format, csvDelimiter: sniffed.delimiter });

    let header: string[] | null = null;
    const sample: string[][] = [];
    let rows = 0;
    for await (const { cells } of readImportRows(files, key, sniffed)) {
      if (isBlankRow(cells)) continue;
      if (!header) {
        header = cells.map(headerName);
        while (header.length && header[header.length - 1] === '') header.pop();
        if (header.length > MAX_COLUMNS) throw new ImportFileError(`The file has ${header.length} columns; at most ${MAX_COLUMNS} can be imported. Remove the columns you do not need.`);
        continue;
      }
      rows += 1;
      if (rows > MAX_ROWS) throw new ImportFileError(`The file has more than ${MAX_ROWS.toLocaleString('en-GB')} rows. Split it into smaller files.`);
      if (sample.length < SAMPLE_ROWS) sample.push(header.map((_, i) => (cells[i] ?? '').slice(0, SAMPLE_CELL)));
      if (rows % 20_000 === 0) await knex('customerImports').where({ id: importId }).update({ processedRows: rows });
    }
    if (!header || header.length === 0) throw new ImportFileError('The file is empty.');
    if (rows === 0) throw new ImportFileError('The file has a header row but no customers below it.');

    await knex('customerImports')
      .where({ id: importId })
      .update({
        status: 'ready',
        header: JSON.stringify(header),
        sampleRows: JSON.stringify(maskSecrets(header, sample)),
        rowCount: rows,
        mapping: JSON.stringify(proposeMapping(header)),
        processedRows: rows,
        finishedAt: knex.fn.now(),
      });
  } catch (error) {
    if (!(error instanceof ImportFileError)) throw error;
    await files.remove(key);
    await markImportFailed(knex, importId, error.message);
  }
}
