import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import ExcelJS from 'exceljs';
import type { Knex } from 'knex';
import sharp from 'sharp';
import yazl from 'yazl';
import type { FileStorage } from '../../app/storage/file-storage.js';

// Small files for the customer document tests (F-FILE), generated here rather than committed.

export async function pngFile(width = 400, height = 300): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#3366cc' } }).png().toBuffer();
}

export async function jpegFile(): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 48, channels: 3, background: '#cc6633' } }).jpeg().toBuffer();
}

/** A valid PNG whose header claims 50,000 × 50,000 pixels (2.5 gigapixels): a decompression bomb. */
export async function pngBomb(): Promise<Buffer> {
  const png = Buffer.from(await pngFile(8, 8));
  // IHDR is the first chunk: length (4) 'IHDR' (4) width (4) height (4) … CRC over type + data.
  png.writeUInt32BE(50_000, 16);
  png.writeUInt32BE(50_000, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

export const pdfFile = (): Buffer =>
  Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1');

/** The start of a Windows program: the DOS header ("MZ"), its stub, and the PE signature. */
export function exeFile(): Buffer {
  const exe = Buffer.alloc(512);
  exe.write('MZ', 0, 'latin1');
  exe.writeUInt32LE(0x80, 0x3c);
  exe.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  exe.write('PE\0\0', 0x80, 'latin1');
  return exe;
}

export const svgWithScript = (): Buffer =>
  Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script><rect width="10" height="10"/></svg>\n');

export const bareSvg = (): Buffer => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>');

export const htmlFile = (): Buffer => Buffer.from('<!doctype html>\n<html><body><h1>Invoice</h1><script>fetch("/admin")</script></body></html>\n');

export const csvFile = (): Buffer => Buffer.from('\uFEFFinvoice;amount\nINV-1;12,50\nINV-2;7,00\n');

export const shellScript = (): Buffer => Buffer.from('#!/bin/sh\nrm -rf ~\n');

export async function zipFile(entries: Record<string, string | Buffer> = { 'hello.txt': 'hello' }): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(entries)) zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const WORD_CONTENT_TYPES =
  '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
  '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>';

/** A ZIP that file-type takes for a Word document (its content types come first), holding `extra` besides. */
export function fakeDocx(extra: Record<string, string | Buffer>, withDocument = true): Promise<Buffer> {
  return zipFile({ '[Content_Types].xml': WORD_CONTENT_TYPES, ...(withDocument ? { 'word/document.xml': '<w:document/>' } : {}), ...extra });
}

export async function xlsxFile(): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.addWorksheet('Prices').addRow(['sku', 'price']);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** A pending document as the upload leaves it: the file in quarantine and its row. */
export async function pendingDocument(knex: Knex, files: FileStorage, input: { customerId: number; shopId: number; name: string; content: Buffer; visible?: boolean }) {
  const { key, bytes } = await files.receive(Readable.from([input.content]));
  const [row] = (await knex('customerDocuments')
    .insert({ customerId: input.customerId, shopId: input.shopId, originalName: input.name, storageKey: key, byteSize: bytes, visibleToCustomer: input.visible ?? false, uploadedByName: 'Test' })
    .returning('id')) as Array<{ id: number }>;
  return { id: Number(row!.id), key };
}
