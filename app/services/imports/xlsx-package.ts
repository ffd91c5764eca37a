import { inflateRawSync } from 'node:zlib';
import type { FileStorage } from '../../storage/file-storage.js';
import { readZipDirectory } from '../../storage/zip-directory.js';

/**
 * Whether a ZIP file is an Excel workbook (.xlsx), read from its central directory and its
 * `[Content_Types].xml`. file-type recognises workbooks whose content types come first (as Excel
 * writes them), but streaming writers put them after the sheets, where it stops looking.
 */
export type ZipVerdict = 'xlsx' | 'xlsm' | 'other';

const LOCAL = 0x04034b50;
const SHEET_MAIN = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml';
const MACRO_MAIN = 'application/vnd.ms-excel.sheet.macroEnabled.main+xml';
const MAX_CONTENT_TYPES = 1024 * 1024;

export async function inspectZip(files: FileStorage, key: string): Promise<ZipVerdict> {
  const entries = await readZipDirectory(files, key);
  if (!entries) return 'other';
  const contentTypes = entries.get('[Content_Types].xml');
  if (!contentTypes || !entries.has('xl/workbook.xml') || contentTypes.compressed > MAX_CONTENT_TYPES) return 'other';

  const header = await files.readRange(key, contentTypes.offset, 30);
  if (header.length < 30 || header.readUInt32LE(0) !== LOCAL) return 'other';
  const dataStart = contentTypes.offset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const data = await files.readRange(key, dataStart, contentTypes.compressed);
  let xml: string;
  try {
    if (contentTypes.method === 8) xml = inflateRawSync(data, { maxOutputLength: 4 * MAX_CONTENT_TYPES }).toString('utf8');
    else if (contentTypes.method === 0) xml = data.toString('utf8');
    else return 'other';
  } catch {
    return 'other';
  }
  if (xml.includes(MACRO_MAIN)) return 'xlsm';
  return xml.includes(SHEET_MAIN) ? 'xlsx' : 'other';
}
