import type { FileStorage } from './file-storage.js';

// The central directory of a ZIP file (the list of its entries, at the end of the file), read
// without unpacking anything: what an upload check needs to see what a ZIP-based format holds.

export interface ZipEntry {
  /** 0 stored, 8 deflated. */
  method: number;
  compressed: number;
  /** Where the entry's local header starts. */
  offset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const MAX_DIRECTORY = 8 * 1024 * 1024;

/** The entries by name, or null when the file has no readable central directory (not a ZIP, ZIP64, damaged). */
export async function readZipDirectory(files: FileStorage, key: string): Promise<Map<string, ZipEntry> | null> {
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
  if (eocd < 0) return null;
  const directorySize = tail.readUInt32LE(eocd + 12);
  const directoryOffset = tail.readUInt32LE(eocd + 16);
  // ZIP64 (a package over 4 GB) is beyond any file we accept.
  if (directoryOffset === 0xffffffff || directorySize > MAX_DIRECTORY || directoryOffset + directorySize > size) return null;

  const directory = await files.readRange(key, directoryOffset, directorySize);
  const entries = new Map<string, ZipEntry>();
  for (let at = 0; at + 46 <= directory.length && directory.readUInt32LE(at) === CENTRAL; ) {
    const nameLength = directory.readUInt16LE(at + 28);
    const next = at + 46 + nameLength + directory.readUInt16LE(at + 30) + directory.readUInt16LE(at + 32);
    const name = directory.toString('utf8', at + 46, at + 46 + nameLength);
    entries.set(name, { method: directory.readUInt16LE(at + 10), compressed: directory.readUInt32LE(at + 20), offset: directory.readUInt32LE(at + 42) });
    at = next;
  }
  return entries;
}
