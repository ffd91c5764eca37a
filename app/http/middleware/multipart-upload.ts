import busboy from 'busboy';
import type { Request } from 'express';
import { BadRequestError } from '../../lib/errors.js';
import type { FileStorage } from '../../storage/file-storage.js';

export interface ReceivedFile {
  key: string;
  bytes: number;
  /** What the browser called it: for display only. */
  originalName: string;
  /** The size limit cut it short: the stored part must be thrown away. */
  truncated: boolean;
}

export interface MultipartUpload {
  fields: Record<string, string>;
  file: ReceivedFile | null;
  /** What `accept` threw: the file was drained, not stored. */
  refused: unknown;
}

export interface MultipartOptions {
  files: FileStorage;
  maxBytes: number;
  fileField: string;
  /**
   * Runs with the fields sent before the file, when the file starts: throw to refuse it (a bad
   * CSRF token, a shop outside the staff member's scope) and nothing is written.
   */
  accept(fields: Record<string, string>): void;
}

/**
 * Streams a multipart form with one file into the storage's quarantine area (never held in memory,
 * never under the browser's file name). Forms put their small fields before the file.
 */
export function receiveMultipart(req: Request, options: MultipartOptions): Promise<MultipartUpload> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: { fileSize: options.maxBytes, files: 1, fields: 20, fieldSize: 4096, parts: 25 },
      });
    } catch {
      reject(new BadRequestError('The upload could not be understood.'));
      return;
    }
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    let stored: Promise<ReceivedFile> | null = null;
    let refused: unknown = null;

    parser.on('field', (name, value) => {
      // A field sent twice keeps its first value: later ones cannot override what was checked.
      if (!(name in fields)) fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== options.fileField || stored || refused) {
        stream.resume();
        return;
      }
      try {
        options.accept(fields);
      } catch (error) {
        refused = error;
        stream.resume();
        return;
      }
      stored = options.files.receive(stream).then(({ key, bytes }) => ({ key, bytes, originalName: info.filename ?? '', truncated: stream.truncated === true }));
      // Reported when the form ends; without a handler a failed write would be an unhandled rejection.
      stored.catch(() => undefined);
    });
    parser.on('close', () => {
      (stored ?? Promise.resolve(null)).then((file) => resolve({ fields, file, refused }), reject);
    });
    parser.on('error', () => {
      // A broken or aborted form: whatever part of the file arrived is removed.
      void stored?.then((file) => options.files.remove(file.key)).catch(() => undefined);
      req.unpipe(parser);
      reject(new BadRequestError('The upload was interrupted or could not be read. Please try again.'));
    });
    req.pipe(parser);
  });
}
