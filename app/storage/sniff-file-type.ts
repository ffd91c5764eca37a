import { fileTypeFromStream } from 'file-type';
import type { FileStorage } from './file-storage.js';

export type SniffedType = Awaited<ReturnType<typeof fileTypeFromStream>>;

/** The type of the stored file at `key`, read from its first bytes (never its name); undefined when unknown. */
export async function sniffFileType(files: FileStorage, key: string): Promise<SniffedType> {
  const source = files.open(key);
  try {
    return await fileTypeFromStream(source);
  } finally {
    source.destroy();
  }
}
