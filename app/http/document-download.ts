import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import type { AppContext } from '../context.js';
import { attachmentDisposition, displayFileName } from '../lib/document-file-name.js';
import { NotFoundError } from '../lib/errors.js';

// Downloads of stored customer documents (F-FILE), shared by the admin dashboard and My Account.

/** Aliases of a sniffed extension that a file name may already end with. */
const SAME_TYPE: Record<string, string[]> = { jpg: ['jpg', 'jpeg', 'jpe', 'jfif'], txt: ['txt', 'text', 'log', 'md'] };

/** The name a download gets: the uploaded one, plus the real extension when the name claims another type. */
export function downloadName(originalName: string, extension: string | null): string {
  const name = displayFileName(originalName);
  if (!extension) return name;
  const current = /\.([^.]+)$/.exec(name)?.[1]?.toLowerCase();
  return current && (SAME_TYPE[extension] ?? [extension]).includes(current) ? name : `${name}.${extension}`;
}

/** Sends a stored file as a download: never inline, never sniffed by the browser, never cached by a proxy. */
export async function sendStoredFile(ctx: AppContext, res: Response, file: { key: string; contentType: string; name: string | null }) {
  if (!(await ctx.files.exists(file.key))) throw new NotFoundError('The file of this document is missing. Please upload it again.');
  res.set({
    'Content-Type': file.contentType,
    'Content-Length': String(await ctx.files.size(file.key)),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'private, no-store',
    // Opened directly anyway (a mistake or an old browser): no scripts, no plugins, no same origin.
    'Content-Security-Policy': "default-src 'none'; img-src 'self'; sandbox",
    ...(file.name === null ? {} : { 'Content-Disposition': attachmentDisposition(file.name) }),
  });
  await pipeline(ctx.files.open(file.key), res);
}
