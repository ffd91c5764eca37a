import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import sharp from 'sharp';
import type { FileStorage } from '../storage/file-storage.js';
import { sniffFileType } from '../storage/sniff-file-type.js';
import { readZipDirectory } from '../storage/zip-directory.js';
import { recordAudit } from './audit.service.js';
import { removeFiles } from './customer-document.service.js';

// The `uploads` job's work (F-FILE): decide from the content (never the name or the browser's
// Content-Type) whether an uploaded customer document is allowed, make a thumbnail of an image,
// move the file out of quarantine under its random key, and mark the document ready or rejected
// with a reason the staff member can act on. Running it again for a document that is no longer
// pending does nothing, so a repeated or swept job is harmless.

export interface DocumentCheckDeps {
  knex: Knex;
  files: FileStorage;
}

export interface DocumentCheckOptions {
  /** Largest image (width × height) decoded for a thumbnail; larger ones are refused, not decoded. */
  maxPixels?: number;
}

export type DocumentCheckOutcome = 'ready' | 'rejected' | 'skipped';

export const MAX_IMAGE_PIXELS = 40_000_000;
export const THUMBNAIL_SIZE = 160;
const TEXT_HEAD = 64 * 1024;

const ACCEPTED = 'Accepted are PDF, images (PNG, JPEG, GIF, WebP), Word, Excel, PowerPoint and OpenDocument files, and plain text or CSV.';

/** What the content says a file is, when it is allowed. */
interface Allowed {
  contentType: string;
  extension: string;
  image: boolean;
}

type Verdict = { ok: true; type: Allowed } | { ok: false; reason: string };

const ALLOWED: Record<string, Allowed> = {
  pdf: { contentType: 'application/pdf', extension: 'pdf', image: false },
  png: { contentType: 'image/png', extension: 'png', image: true },
  apng: { contentType: 'image/png', extension: 'png', image: true },
  jpg: { contentType: 'image/jpeg', extension: 'jpg', image: true },
  gif: { contentType: 'image/gif', extension: 'gif', image: true },
  webp: { contentType: 'image/webp', extension: 'webp', image: true },
  docx: { contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', extension: 'docx', image: false },
  xlsx: { contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', extension: 'xlsx', image: false },
  pptx: { contentType: 'application/vnd.openxmlformats-officedocument.presentationml.presentation', extension: 'pptx', image: false },
  odt: { contentType: 'application/vnd.oasis.opendocument.text', extension: 'odt', image: false },
  ods: { contentType: 'application/vnd.oasis.opendocument.spreadsheet', extension: 'ods', image: false },
  odp: { contentType: 'application/vnd.oasis.opendocument.presentation', extension: 'odp', image: false },
};
/** The formats sharp may decode for a thumbnail: what the sniffed type said, nothing else (not SVG). */
const DECODABLE = new Set(['png', 'jpeg', 'gif', 'webp']);

const PROGRAMS = new Set(['exe', 'elf', 'macho', 'class', 'jar', 'apk', 'wasm', 'dmg', 'deb', 'rpm', 'crx', 'xpi', 'lnk', 'reg', 'swf', 'nes', 'dex']);
const MACROS = new Set(['docm', 'dotm', 'xlsm', 'xltm', 'pptm', 'potm', 'ppsm']);
const ARCHIVES = new Set(['zip', 'tar', 'rar', 'gz', 'tar.gz', 'bz2', '7z', 'xz', 'zst', 'lz', 'lz4', 'lzh', 'Z', 'cab', 'ar', 'cpio', 'arj', 'ace', 'asar', 'epub']);

const REASONS = {
  program: 'This file is a program (an executable). Programs are not accepted, whatever the file is called.',
  macros: 'Office files with macros are not accepted. Save it without macros (.docx, .xlsx or .pptx) and upload that.',
  oldOffice: 'Old Office files (.doc, .xls, .ppt) and Windows installers are not accepted. Save it as .docx, .xlsx, .pptx or PDF and upload that.',
  archive: 'Archives (ZIP, RAR, 7z, …) are not accepted: what is inside them cannot be checked. Upload the files one by one.',
  svg: 'SVG images are not accepted: they can contain scripts. Save the image as PNG or PDF and upload that.',
  html: 'HTML and XML files are not accepted: a browser would run what they contain. Save it as PDF and upload that.',
  script: 'This file looks like a script (a program in text form). Scripts are not accepted.',
  empty: 'The file is empty.',
  binary: `This type of file could not be recognised, so it is not accepted. ${ACCEPTED}`,
  notUtf8: 'This text file is not UTF-8. Save it as UTF-8 (“CSV UTF-8” in Excel) and upload it again.',
  tooManyPixels: (max: number) => `The image is too large to check (more than ${Math.round(max / 1_000_000)} megapixels). Make it smaller and upload it again.`,
  badImage: 'The image could not be read; the file may be damaged. Save it again and upload it.',
  lost: 'The uploaded file was lost before it could be checked. Please upload it again.',
  badPackage: (ext: string) => `This file is not a valid .${ext} document (it may be damaged or a renamed archive). Save it again and upload it.`,
  packedFiles: (ext: string) => `This .${ext} document contains other files (programs, scripts, web pages or archives), so it is not accepted. Save it again without attachments and upload it.`,
};

const other = (ext: string) => `This type of file (${ext.toUpperCase()}) is not accepted. ${ACCEPTED}`;

/**
 * Office files are ZIP packages, and file-type names them from one marker entry alone: any ZIP
 * that starts with the right marker would pass. The package must have its format's main part, and
 * nothing that runs or hides more files: programs, scripts, web pages, macros, nested archives.
 */
const PACKAGE_MAIN_PART: Record<string, string> = {
  docx: 'word/document.xml',
  xlsx: 'xl/workbook.xml',
  pptx: 'ppt/presentation.xml',
  odt: 'content.xml',
  ods: 'content.xml',
  odp: 'content.xml',
};
const FORBIDDEN_ENTRY = /(^|\/)vbaProject\.bin$|\.(exe|dll|com|scr|msi|bat|cmd|ps1|vbs|js|jse|wsf|hta|sh|jar|app|html?|xhtml|svg|zip|rar|7z|gz|tar|docm|xlsm|pptm)$/i;

async function checkPackage(files: FileStorage, key: string, ext: string, allowed: Allowed): Promise<Verdict> {
  const entries = await readZipDirectory(files, key);
  if (!entries || !entries.has(PACKAGE_MAIN_PART[ext]!)) return { ok: false, reason: REASONS.badPackage(ext) };
  for (const name of entries.keys()) {
    if (name.startsWith('/') || name.split('/').includes('..')) return { ok: false, reason: REASONS.badPackage(ext) };
    if (/vbaProject\.bin$/i.test(name)) return { ok: false, reason: REASONS.macros };
    if (FORBIDDEN_ENTRY.test(name)) return { ok: false, reason: REASONS.packedFiles(ext) };
  }
  return { ok: true, type: allowed };
}

/** Decides from the content what the file at `key` is, and whether it is allowed. */
export async function sniffDocument(files: FileStorage, key: string, originalName: string): Promise<Verdict> {
  const type = await sniffFileType(files, key);
  if (type) {
    const allowed = ALLOWED[type.ext];
    if (allowed && PACKAGE_MAIN_PART[type.ext]) return checkPackage(files, key, type.ext, allowed);
    if (allowed) return { ok: true, type: allowed };
    if (PROGRAMS.has(type.ext)) return { ok: false, reason: REASONS.program };
    if (MACROS.has(type.ext)) return { ok: false, reason: REASONS.macros };
    if (type.ext === 'cfb') return { ok: false, reason: REASONS.oldOffice };
    if (ARCHIVES.has(type.ext)) return { ok: false, reason: REASONS.archive };
    if (type.ext !== 'xml') return { ok: false, reason: other(type.ext) };
    // XML: SVG and XHTML are refused below with their own reasons.
  }
  return sniffText(files, key, originalName);
}

/** Markup a browser would render or run, and script headers, anywhere in a "text" file. */
const MARKUP = /<\s*(svg|script|html|iframe|object|embed|body|head|meta|!doctype|\?xml|\?php)\b/i;

/**
 * Plain text or CSV: valid UTF-8 throughout, no NUL, and nothing that looks like markup or a
 * script (a browser or shell could run it); served as text/plain or text/csv.
 */
async function sniffText(files: FileStorage, key: string, originalName: string): Promise<Verdict> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let head = '';
  let tail = '';
  let bytes = 0;
  const source = files.open(key);
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (chunk.includes(0)) return { ok: false, reason: REASONS.binary };
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        return { ok: false, reason: /^\s*</.test(head) ? REASONS.html : REASONS.notUtf8 };
      }
      if (head.length < TEXT_HEAD) head += text.slice(0, TEXT_HEAD - head.length);
      // A tag split between two chunks is still seen: the end of the previous chunk goes first.
      const window = tail + text;
      const markup = MARKUP.exec(window);
      if (markup) return { ok: false, reason: /svg/i.test(markup[1]!) || /<svg\b/i.test(window) ? REASONS.svg : REASONS.html };
      tail = window.slice(-32);
    }
    decoder.decode();
  } catch {
    return { ok: false, reason: REASONS.notUtf8 };
  } finally {
    source.destroy();
  }
  if (bytes === 0) return { ok: false, reason: REASONS.empty };
  const start = head.replace(/^\uFEFF/, '').trimStart();
  if (start.startsWith('<')) return { ok: false, reason: REASONS.html };
  if (start.startsWith('#!') || /^@echo\s+off\b/i.test(start) || /^<%|^<\?/.test(start)) return { ok: false, reason: REASONS.script };
  const csv = /\.csv$/i.test(originalName);
  return { ok: true, type: { contentType: csv ? 'text/csv; charset=utf-8' : 'text/plain; charset=utf-8', extension: csv ? 'csv' : 'txt', image: false } };
}

class ImageRefused extends Error {}

/** A small WebP of the image; refuses (ImageRefused) one over `maxPixels` without decoding it, or one that cannot be read. */
async function makeThumbnail(files: FileStorage, key: string, maxPixels: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const source = files.open(key);
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) chunks.push(chunk);
  } finally {
    source.destroy();
  }
  const input = Buffer.concat(chunks);
  const options = { limitInputPixels: maxPixels, failOn: 'error' as const, sequentialRead: true };
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(input, options).metadata();
  } catch (error) {
    throw new ImageRefused(/pixel limit/i.test((error as Error).message) ? REASONS.tooManyPixels(maxPixels) : REASONS.badImage);
  }
  const format = meta.format as string | undefined;
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (!format || !DECODABLE.has(format)) throw new ImageRefused(REASONS.badImage);
  if (pixels > maxPixels) throw new ImageRefused(REASONS.tooManyPixels(maxPixels));
  try {
    return await sharp(input, options).rotate().resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 70 }).toBuffer();
  } catch (error) {
    throw new ImageRefused(/pixel limit/i.test((error as Error).message) ? REASONS.tooManyPixels(maxPixels) : REASONS.badImage);
  }
}

interface PendingRow {
  id: number;
  customerId: number;
  shopId: number;
  originalName: string;
  storageKey: string | null;
  status: string;
}

/** The file of a pending document: in quarantine, or already moved (a run that stopped before it could record that). */
async function locateFile(files: FileStorage, storageKey: string | null): Promise<string | null> {
  if (!storageKey) return null;
  if (await files.exists(storageKey)) return storageKey;
  const moved = storageKey.replace(/^quarantine\//, 'documents/');
  return moved !== storageKey && (await files.exists(moved)) ? moved : null;
}

/** Checks one document (the `uploads` job). See the file's header for what it does. */
export async function checkDocument(deps: DocumentCheckDeps, documentId: number, options: DocumentCheckOptions = {}): Promise<DocumentCheckOutcome> {
  const { knex, files } = deps;
  const row = (await knex('customerDocuments').where({ id: documentId }).first('id', 'customerId', 'shopId', 'originalName', 'storageKey', 'status')) as PendingRow | undefined;
  if (!row || row.status !== 'pending') return 'skipped';

  const key = await locateFile(files, row.storageKey);
  if (!key) return reject(deps, row, REASONS.lost, []);
  const verdict = await sniffDocument(files, key, row.originalName);
  if (!verdict.ok) return reject(deps, row, verdict.reason, [key]);

  let thumbnailKey: string | null = null;
  if (verdict.type.image) {
    let thumbnail: Buffer;
    try {
      thumbnail = await makeThumbnail(files, key, options.maxPixels ?? MAX_IMAGE_PIXELS);
    } catch (error) {
      if (error instanceof ImageRefused) return reject(deps, row, error.message, [key]);
      throw error;
    }
    thumbnailKey = (await files.receive(Readable.from([thumbnail]), 'documents')).key;
  }
  const storedKey = key.startsWith('documents/') ? key : await files.promote(key, 'documents');

  const recorded = await knex.transaction(async (trx) => {
    const updated = await trx('customerDocuments')
      .where({ id: row.id, status: 'pending' })
      .update({ status: 'ready', storageKey: storedKey, thumbnailKey, contentType: verdict.type.contentType, extension: verdict.type.extension, reason: null, processedAt: trx.fn.now(), updatedAt: trx.fn.now() });
    if (updated === 0) return false;
    await recordAudit(trx, {
      actorType: 'system',
      actorId: null,
      shopId: row.shopId,
      customerId: row.customerId,
      action: 'document.ready',
      changes: { documentId: row.id, name: row.originalName, type: verdict.type.extension },
    });
    return true;
  });
  // Deleted (or decided by another run) meanwhile: what this run stored is not needed.
  if (!recorded) {
    await removeFiles(files, [storedKey, thumbnailKey]);
    return 'skipped';
  }
  return 'ready';
}

async function reject(deps: DocumentCheckDeps, row: PendingRow, reason: string, keys: string[]): Promise<DocumentCheckOutcome> {
  const recorded = await deps.knex.transaction(async (trx) => {
    const updated = await trx('customerDocuments')
      .where({ id: row.id, status: 'pending' })
      .update({ status: 'rejected', reason, storageKey: null, thumbnailKey: null, processedAt: trx.fn.now(), updatedAt: trx.fn.now() });
    if (updated === 0) return false;
    await recordAudit(trx, {
      actorType: 'system',
      actorId: null,
      shopId: row.shopId,
      customerId: row.customerId,
      action: 'document.rejected',
      changes: { documentId: row.id, name: row.originalName, reason },
    });
    return true;
  });
  // The quarantine file goes either way: refused, or its document is gone.
  await removeFiles(deps.files, keys);
  return recorded ? 'rejected' : 'skipped';
}

/** The job gave up (every attempt failed): the document is rejected rather than left "Checking…" for ever. */
export async function markDocumentCheckFailed(deps: DocumentCheckDeps, documentId: number): Promise<void> {
  const row = (await deps.knex('customerDocuments').where({ id: documentId }).first('id', 'customerId', 'shopId', 'originalName', 'storageKey', 'status')) as PendingRow | undefined;
  if (!row || row.status !== 'pending') return;
  const key = row.storageKey;
  await reject(deps, row, 'The file could not be checked because of a problem on our side (it was logged). Please upload it again in a few minutes.', key ? [key, key.replace(/^quarantine\//, 'documents/')] : []);
}

/** Pending documents older than `graceSeconds`: their job may have been lost (the queue was down). */
export async function findStalePendingDocumentIds(knex: Knex, graceSeconds: number): Promise<number[]> {
  const rows = (await knex('customerDocuments')
    .where('status', 'pending')
    .andWhere('createdAt', '<', knex.raw('now() - make_interval(secs => ?)', [graceSeconds]))
    .orderBy('createdAt')
    .limit(100)
    .select('id')) as Array<{ id: number }>;
  return rows.map((row) => Number(row.id));
}
