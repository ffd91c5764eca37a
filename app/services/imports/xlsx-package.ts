import { inflateRawSync } from 'node:zlib';
import type { FileStorage } from '../../storage/file-storage.js';

/**
 * Whether a ZIP file is an Excel workbook (.xlsx), read from its central directory and its
 * `[Content_Types].xml`. file-type recognises workbooks whose content types come first (as Excel
 * writes them), but streaming writers put them after the sheets, where it stops looking.
 */
export type ZipVerdict = 'xlsx' | 'xlsm' | 'other';

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const SHEET_MAIN = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml';
const MACRO_MAIN = 'application/vnd.ms-excel.sheet.macroEnabled.main+xml';
const MAX_DIRECTORY = 8 * 1024 * 1024;
const MAX_CONTENT_TYPES = 1024 * 1024;

export async function inspectZip(files: FileStorage, key: string): Promise<ZipVerdict> {
  const size = await files.size(key);
  const tailStart = Math.max(0, size - (22 + 65_535));
  const tail = await files.readRange(key, tailStart, size - tailStart);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return 'other';
  const directorySize = tail.readUInt32LE(eocd + 12);
  const directoryOffset = tail.readUInt32LE(eocd + 16);
  // ZIP64 (a package over 4 GB) is beyond any file we accept.
  if (directoryOffset === 0xffffffff || directorySize > MAX_DIRECTORY || directoryOffset + directorySize > size) return 'other';

  const directory = await files.readRange(key, directoryOffset, directorySize);
  const entries = new Map<string, { method: number; compressed: number; offset: number }>();
  for (let at = 0; at + 46 <= directory.length && directory.readUInt32LE(at) === CENTRAL; ) {
    const nameLength = directory.readUInt16LE(at + 28);
    const next = at + 46 + nameLength + directory.readUInt16LE(at + 30) + directory.readUInt16LE(at + 32);
    const name = directory.toString('utf8', at + 46, at + 46 + nameLength);
    entries.set(name, { method: directory.readUInt16LE(at + 10), compressed: directory.readUInt32LE(at + 20), offset: directory.readUInt32LE(at + 42) });
    at = next;
  }
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
