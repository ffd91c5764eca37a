import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Where uploaded files live (F-FILE), behind a small interface so an object store can replace the
 * local disk. Keys are `<area>/<random hex>`: never derived from a user's file name.
 */
export interface FileStorage {
  /** Streams `source` into `area` (by default the quarantine, for what is not checked yet) under a new random key. */
  receive(source: Readable, area?: FileArea): Promise<{ key: string; bytes: number }>;
  open(key: string): Readable;
  /** Up to `length` bytes from `start` (fewer at the end of the file): for formats read from the end, like ZIP. */
  readRange(key: string, start: number, length: number): Promise<Buffer>;
  size(key: string): Promise<number>;
  /** Moves a checked file out of quarantine into `area`; answers its new key. */
  promote(key: string, area: FileArea): Promise<string>;
  remove(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
}

export type FileArea = 'quarantine' | 'imports' | 'exports' | 'documents';

const KEY = /^(quarantine|imports|exports|documents)\/[a-f0-9]{32}$/;

export function isStorageKey(key: string): boolean {
  return KEY.test(key);
}

/** Files under `root` (DATA_DIR/files), outside public/. */
export function createLocalFileStorage(root: string): FileStorage {
  const fileOf = (key: string) => {
    // Keys come from us, but a bad one must never reach the file system.
    if (!KEY.test(key)) throw new Error('Invalid storage key');
    return path.join(root, ...key.split('/'));
  };
  return {
    async receive(source, area = 'quarantine') {
      const key = `${area}/${randomBytes(16).toString('hex')}`;
      const file = fileOf(key);
      await mkdir(path.dirname(file), { recursive: true });
      try {
        await pipeline(source, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
      } catch (error) {
        await rm(file, { force: true });
        throw error;
      }
      return { key, bytes: (await stat(file)).size };
    },
    open(key) {
      return createReadStream(fileOf(key));
    },
    async readRange(key, start, length) {
      const handle = await open(fileOf(key), 'r');
      try {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, start);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
    async size(key) {
      return (await stat(fileOf(key))).size;
    },
    async promote(key, area) {
      const target = `${area}/${key.split('/')[1]}`;
      if (target === key) return key;
      await mkdir(path.dirname(fileOf(target)), { recursive: true });
      await rename(fileOf(key), fileOf(target));
      return target;
    },
    async remove(key) {
      await rm(fileOf(key), { force: true });
    },
    async exists(key) {
      return stat(fileOf(key)).then(
        () => true,
        () => false,
      );
    },
  };
}
