import type { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { FileStorage } from '../../storage/file-storage.js';
import { sniffFileType } from '../../storage/sniff-file-type.js';
import { CsvRecordSplitter, CsvSyntaxError } from './csv-records.js';
import { inspectZip } from './xlsx-package.js';

/**
 * What an import file is (sniffed from its content, never from its name or the browser's
 * Content-Type) and its rows, streamed: a CSV in UTF-8 or the first sheet of an .xlsx workbook.
 */

export type ImportFormat = 'csv' | 'xlsx';
export type CsvDelimiter = ',' | ';' | '\t' | '|';

export interface SniffedFile {
  format: ImportFormat;
  delimiter: CsvDelimiter | null;
}

export interface FileRow {
  /** The row number a spreadsheet shows: the header is line 1. */
  line: number;
  cells: string[];
}

/** A problem with the file the staff member can fix; its message is shown as it is. */
export class ImportFileError extends Error {}

export const XLSX_MIME = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const USE_INSTEAD = 'Upload a CSV file (UTF-8) or an Excel workbook (.xlsx).';
const NOT_TEXT = `This file is not a text (CSV) file. ${USE_INSTEAD}`;
const NOT_UTF8 = 'This file is not UTF-8 text. In Excel, save it as “CSV UTF-8”, or upload the .xlsx workbook itself.';
const MACROS = 'Excel workbooks with macros (.xlsm) are not accepted. Save it as .xlsx (without macros) or as CSV UTF-8.';
const HEAD_BYTES = 64 * 1024;

/** "an EXE file", "a PNG file": spoken letters that start with a vowel sound take "an". */
const withArticle = (noun: string) => (/^[AEFHILMNORSX]/.test(noun) ? `an ${noun}` : `a ${noun}`);

const KNOWN_TYPES: Record<string, string> = {
  exe: 'a Windows program',
  elf: 'a program',
  macho: 'a program',
  zip: 'a ZIP archive',
  pdf: 'a PDF document',
  docx: 'a Word document',
  pptx: 'a PowerPoint presentation',
  ods: 'an OpenDocument spreadsheet',
  xml: 'an XML document',
};

/** Decides from the content whether `key` is a CSV or an XLSX file; throws ImportFileError otherwise. */
export async function sniffImportFile(files: FileStorage, key: string): Promise<SniffedFile> {
  const type = await sniffFileType(files, key);
  if (type?.mime === XLSX_MIME) return { format: 'xlsx', delimiter: null };
  if (type?.ext === 'zip') {
    const verdict = await inspectZip(files, key);
    if (verdict === 'xlsx') return { format: 'xlsx', delimiter: null };
    if (verdict === 'xlsm') throw new ImportFileError(MACROS);
  }
  if (type?.ext === 'xlsm') throw new ImportFileError(MACROS);
  if (type?.ext === 'cfb') throw new ImportFileError(`Old Excel files (.xls) cannot be read. Save it as .xlsx or as CSV UTF-8 and upload that.`);
  if (type) throw new ImportFileError(`This file is not a CSV or Excel (.xlsx) file: it looks like ${KNOWN_TYPES[type.ext] ?? withArticle(`${type.ext.toUpperCase()} file`)}. ${USE_INSTEAD}`);

  const head = await readHead(files, key, HEAD_BYTES);
  if (head.length === 0) throw new ImportFileError('The file is empty.');
  if (head.includes(0)) throw new ImportFileError(NOT_TEXT);
  let text: string;
  try {
    // `stream: true`: the 64 KiB may end inside a character.
    text = new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
  } catch {
    throw new ImportFileError(NOT_UTF8);
  }
  text = text.replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('<')) throw new ImportFileError(`This file looks like HTML or XML, not CSV. ${USE_INSTEAD}`);
  if (text.startsWith('#!')) throw new ImportFileError(`This file looks like a program or script, not CSV. ${USE_INSTEAD}`);
  return { format: 'csv', delimiter: detectDelimiter(text) };
}

/** The separator of the header line: a comma unless semicolons (Excel in many locales), tabs or pipes clearly win. */
export function detectDelimiter(text: string): CsvDelimiter {
  const counts: Record<CsvDelimiter, number> = { ',': 0, ';': 0, '\t': 0, '|': 0 };
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && ch in counts) counts[ch as CsvDelimiter]++;
  }
  let best: CsvDelimiter = ',';
  for (const candidate of [';', '\t', '|'] as const) if (counts[candidate] > counts[best]) best = candidate;
  return best;
}

async function readHead(files: FileStorage, key: string, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  const source = files.open(key);
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= bytes) break;
    }
  } finally {
    source.destroy();
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}

/** Every row of the file, header included, as text cells; blank rows are yielded too (empty cells). */
export async function* readImportRows(files: FileStorage, key: string, sniffed: SniffedFile): AsyncGenerator<FileRow> {
  try {
    if (sniffed.format === 'csv') yield* readCsvRows(files.open(key), sniffed.delimiter ?? ',');
    else yield* readXlsxRows(() => files.open(key));
  } catch (error) {
    if (error instanceof ImportFileError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ImportFileError('The uploaded file is no longer there. Upload it again.');
    if (error instanceof CsvSyntaxError) throw new ImportFileError(csvProblem(error));
    if (sniffed.format === 'xlsx') throw new ImportFileError(`The Excel file could not be read (${String((error as Error).message).slice(0, 120)}). Save it again in Excel, or as CSV UTF-8.`);
    throw error;
  }
}

/** Characters a CSV row may have: more means a quote that is never closed took in the rest of the file. */
const MAX_CSV_ROW_LENGTH = 1_000_000;

async function* readCsvRows(source: Readable, delimiter: CsvDelimiter): AsyncGenerator<FileRow> {
  const splitter = new CsvRecordSplitter(delimiter, MAX_CSV_ROW_LENGTH);
  let line = 0;
  try {
    for await (const text of utf8Text(source)) {
      for (const cells of splitter.push(text, false)) yield { line: ++line, cells };
    }
    for (const cells of splitter.push('', true)) yield { line: ++line, cells };
  } finally {
    source.destroy();
  }
}

/** The file's text, failing on the first byte sequence that is not UTF-8 text; a byte-order mark is dropped. */
async function* utf8Text(source: Readable): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (chunk?: Buffer) => {
    try {
      return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch {
      throw new ImportFileError(NOT_UTF8);
    }
  };
  for await (const chunk of source as AsyncIterable<Buffer>) {
    if (chunk.includes(0)) throw new ImportFileError(NOT_TEXT);
    yield decode(chunk);
  }
  yield decode();
}

function csvProblem(error: CsvSyntaxError): string {
  const what = error.code === 'unclosed-quote' ? 'a quoted value is never closed' : `a row has more than ${MAX_CSV_ROW_LENGTH.toLocaleString('en-GB')} characters`;
  return `The CSV file could not be read near line ${error.line}: ${what}. Check the file in a spreadsheet program and save it again as CSV UTF-8.`;
}

/** How often a workbook is read before exceljs's lost last entry (see readXlsxRows) counts as a bad file. */
export const XLSX_READ_ATTEMPTS = 3;

/**
 * The first worksheet's rows. exceljs's streaming reader now and then loses the zip's last entry
 * (exceljs#3064: about 1 read in 500 here, with several at once); a workbook written by exceljs
 * keeps its workbook part last, and the read then fails before its first row. Reading the file
 * again succeeds, so such a read is tried again, never one that has given rows.
 */
export async function* readXlsxRows(open: () => Readable): AsyncGenerator<FileRow> {
  for (let attempt = 1; ; attempt++) {
    let yielded = false;
    try {
      for await (const row of readFirstSheet(open())) {
        yielded = true;
        yield row;
      }
      return;
    } catch (error) {
      if (yielded || attempt >= XLSX_READ_ATTEMPTS || !lostWorkbookPart(error)) throw error;
    }
  }
}

// A read that loses the last entry may also find the zip ending inside it (unzipper's FILE_ENDED:
// about 1 read in 100 of a file cut before its last entry).
const lostWorkbookPart = (error: unknown) => (error instanceof TypeError && error.message.includes("reading 'sheets'")) || (error instanceof Error && error.message === 'FILE_ENDED');

async function* readFirstSheet(source: Readable): AsyncGenerator<FileRow> {
  // Only the first worksheet is read; formulas are never evaluated (their last saved result is used).
  const workbook = new ExcelJS.stream.xlsx.WorkbookReader(source, { sharedStrings: 'cache', hyperlinks: 'ignore', styles: 'cache', worksheets: 'emit' });
  try {
    for await (const sheet of workbook) {
      for await (const row of sheet) {
        const values = Array.isArray(row.values) ? row.values : [];
        const cells: string[] = [];
        for (let i = 1; i < values.length; i++) cells.push(cellText(values[i]));
        yield { line: row.number, cells };
      }
      break;
    }
  } finally {
    source.destroy();
  }
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) {
    const iso = value.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  if (typeof value === 'object') {
    const cell = value as { richText?: Array<{ text: string }>; formula?: string; sharedFormula?: string; result?: unknown; text?: unknown; error?: string };
    if (Array.isArray(cell.richText)) return cell.richText.map((part) => part.text).join('');
    if (cell.formula !== undefined || cell.sharedFormula !== undefined) return cellText(cell.result);
    if (cell.text !== undefined) return cellText(cell.text);
  }
  return '';
}
