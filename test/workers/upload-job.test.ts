import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueDocumentCheck } from '../../app/queues/upload.queue.js';
import { checkDocument, markDocumentCheckFailed, MAX_IMAGE_PIXELS } from '../../app/services/document-check.service.js';
import { startUploadWorker } from '../../workers/upload.worker.js';
import { eventually } from '../support/customer-list.js';
import { auditOf } from '../support/dashboard.js';
import {
  bareSvg,
  csvFile,
  exeFile,
  htmlFile,
  jpegFile,
  pdfFile,
  pendingDocument,
  pngBomb,
  pngFile,
  shellScript,
  svgWithScript,
  fakeDocx,
  xlsxFile,
  zipFile,
} from '../support/document-fixtures.js';
import { makeCustomer, makeShop } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** The `uploads` job (F-FILE): sniff from content, refuse what is dangerous, thumbnail images, move out of quarantine. */
describe('document check (uploads job)', () => {
  let t: TestApp;
  let shop: { id: number };
  let customer: { id: number };

  beforeAll(async () => {
    t = await createTestApp({ backend: 'postgres' });
    shop = await makeShop(t.ctx.knex, { code: 'docjob' });
    customer = await makeCustomer(t.ctx.knex, [shop.id]);
  });
  afterAll(() => t?.close());

  const deps = () => ({ knex: t.ctx.knex, files: t.ctx.files });
  const area = (name: string) => readdir(path.join(t.dataDir, 'files', name)).catch(() => [] as string[]);
  const documentRow = (id: number) => t.ctx.knex('customerDocuments').where({ id }).first();

  async function check(name: string, content: Buffer) {
    const pending = await pendingDocument(t.ctx.knex, t.ctx.files, { customerId: customer.id, shopId: shop.id, name, content });
    const outcome = await checkDocument(deps(), pending.id);
    return { ...pending, outcome, row: await documentRow(pending.id) };
  }

  async function expectRejected(name: string, content: Buffer, reason: RegExp) {
    const result = await check(name, content);
    expect(result.outcome, name).toBe('rejected');
    expect(result.row).toMatchObject({ status: 'rejected', storageKey: null, thumbnailKey: null });
    expect(result.row.reason, name).toMatch(reason);
    // Quarantine files are deleted after processing.
    expect(await area('quarantine')).not.toContain(result.key.split('/')[1]);
    expect(await area('documents')).not.toContain(result.key.split('/')[1]);
    return result;
  }

  it('rejects a Windows program renamed .pdf, with a reason, and deletes it', async () => {
    const { row, id } = await expectRejected('invoice.pdf', exeFile(), /is a program/);
    expect(row.reason).toBe('This file is a program (an executable). Programs are not accepted, whatever the file is called.');
    const [entry] = await auditOf(t.ctx.knex, customer.id);
    expect(entry).toMatchObject({ action: 'document.rejected', shopId: shop.id, changes: { documentId: id, name: 'invoice.pdf', reason: row.reason } });
  });

  it('rejects an SVG with a script (with and without an XML declaration), HTML, scripts, archives and unknown binaries', async () => {
    await expectRejected('logo.svg', svgWithScript(), /SVG images are not accepted: they can contain scripts/);
    await expectRejected('logo.png', bareSvg(), /SVG images are not accepted/);
    await expectRejected('invoice.pdf', htmlFile(), /HTML and XML files are not accepted/);
    await expectRejected('notes.txt', Buffer.from('Dear customer,\nplease see <script>alert(1)</script>\n'), /HTML and XML files are not accepted/);
    await expectRejected('run.txt', shellScript(), /looks like a script/);
    await expectRejected('docs.zip', await zipFile(), /Archives \(ZIP, RAR, 7z, …\) are not accepted/);
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(120)]);
    await expectRejected('report.pdf', elf, /is a program/);
    const machO = Buffer.concat([Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]), Buffer.alloc(120)]);
    await expectRejected('photo.jpg', machO, /is a program/);
    await expectRejected('blob.bin', Buffer.from([1, 2, 3, 0, 4, 5, 0, 0, 255, 254]), /could not be recognised/);
    await expectRejected('latin1.txt', Buffer.from('Gr\xfc\xdfe aus K\xf6ln', 'latin1'), /not UTF-8/);
  });

  it('rejects an office file that is a renamed archive or carries programs, pages or macros', async () => {
    await expectRejected('contract.docx', await fakeDocx({ 'payload.exe': exeFile() }), /contains other files \(programs, scripts, web pages or archives\)/);
    await expectRejected('contract.docx', await fakeDocx({ 'word/page.html': '<script>alert(1)</script>' }), /contains other files/);
    await expectRejected('contract.docx', await fakeDocx({ 'word/vbaProject.bin': Buffer.from([1, 2, 3]) }), /Office files with macros are not accepted/);
    await expectRejected('contract.docx', await fakeDocx({ 'notes.txt': 'x' }, false), /not a valid \.docx document/);
    expect((await check('letter.docx', await fakeDocx({ 'word/styles.xml': '<w:styles/>' }))).row).toMatchObject({ status: 'ready', extension: 'docx' });
  });

  it('makes a PNG ready with a small WebP thumbnail, outside quarantine', async () => {
    const { row, outcome, key, id } = await check('photo.png', await pngFile(400, 300));
    expect(outcome).toBe('ready');
    expect(row).toMatchObject({ status: 'ready', contentType: 'image/png', extension: 'png', reason: null });
    expect(row.storageKey).toBe(`documents/${key.split('/')[1]}`);
    expect(row.thumbnailKey).toMatch(/^documents\/[a-f0-9]{32}$/);
    expect(row.processedAt).toBeInstanceOf(Date);
    expect(await area('quarantine')).not.toContain(key.split('/')[1]);
    const thumbnail = await sharp(path.join(t.dataDir, 'files', ...row.thumbnailKey.split('/'))).metadata();
    expect(thumbnail).toMatchObject({ format: 'webp', width: 160, height: 120 });
    const [entry] = await auditOf(t.ctx.knex, customer.id);
    expect(entry).toMatchObject({ action: 'document.ready', changes: { documentId: id, name: 'photo.png', type: 'png' } });

    const jpeg = await check('scan.JPEG', await jpegFile());
    expect(jpeg.row).toMatchObject({ status: 'ready', contentType: 'image/jpeg', extension: 'jpg' });
    expect(jpeg.row.thumbnailKey).not.toBeNull();
  });

  it('makes a PDF, an Excel workbook and a CSV ready without a thumbnail', async () => {
    expect((await check('contract.pdf', pdfFile())).row).toMatchObject({ status: 'ready', contentType: 'application/pdf', extension: 'pdf', thumbnailKey: null });
    expect((await check('prices.xlsx', await xlsxFile())).row).toMatchObject({ status: 'ready', extension: 'xlsx', contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' });
    expect((await check('invoices.csv', csvFile())).row).toMatchObject({ status: 'ready', extension: 'csv', contentType: 'text/csv; charset=utf-8' });
    expect((await check('readme', Buffer.from('Plain words, 100 % text — ünïcödé.\n'))).row).toMatchObject({ status: 'ready', extension: 'txt', contentType: 'text/plain; charset=utf-8' });
  });

  it('rejects a decompression bomb without decoding it, and a damaged image', async () => {
    expect(50_000 * 50_000).toBeGreaterThan(MAX_IMAGE_PIXELS);
    await expectRejected('huge.png', await pngBomb(), /The image is too large to check \(more than 40 megapixels\)/);
    const broken = Buffer.from(await pngFile(32, 32)).subarray(0, 60);
    await expectRejected('broken.png', broken, /could not be read/);
  });

  it('does nothing the second time: a document that is no longer pending is skipped', async () => {
    const first = await check('again.pdf', pdfFile());
    expect(first.outcome).toBe('ready');
    const before = await auditOf(t.ctx.knex, customer.id);
    expect(await checkDocument(deps(), first.id)).toBe('skipped');
    expect(await documentRow(first.id)).toEqual(first.row);
    expect(await auditOf(t.ctx.knex, customer.id)).toEqual(before);
    // A document that is gone, or never was.
    expect(await checkDocument(deps(), 987654321)).toBe('skipped');
    // Giving up on a document already decided changes nothing either.
    await markDocumentCheckFailed(deps(), first.id);
    expect(await documentRow(first.id)).toEqual(first.row);
  });

  it('finishes a run that stopped after moving the file, and rejects a document whose file is lost', async () => {
    const pending = await pendingDocument(t.ctx.knex, t.ctx.files, { customerId: customer.id, shopId: shop.id, name: 'moved.pdf', content: pdfFile() });
    // As if a worker died between moving the file and recording it.
    await t.ctx.files.promote(pending.key, 'documents');
    expect(await checkDocument(deps(), pending.id)).toBe('ready');
    expect(await documentRow(pending.id)).toMatchObject({ status: 'ready', storageKey: pending.key.replace('quarantine/', 'documents/') });

    const lost = await pendingDocument(t.ctx.knex, t.ctx.files, { customerId: customer.id, shopId: shop.id, name: 'lost.pdf', content: pdfFile() });
    await t.ctx.files.remove(lost.key);
    expect(await checkDocument(deps(), lost.id)).toBe('rejected');
    expect((await documentRow(lost.id)).reason).toBe('The uploaded file was lost before it could be checked. Please upload it again.');
  });

  it('marks a document rejected when the job gave up, and removes its quarantine file', async () => {
    const pending = await pendingDocument(t.ctx.knex, t.ctx.files, { customerId: customer.id, shopId: shop.id, name: 'unlucky.pdf', content: pdfFile() });
    await markDocumentCheckFailed(deps(), pending.id);
    expect(await documentRow(pending.id)).toMatchObject({ status: 'rejected', reason: expect.stringContaining('a problem on our side') });
    expect(await area('quarantine')).not.toContain(pending.key.split('/')[1]);
  });
});

describe.each(['redis', 'postgres'] as const)('uploads queue and worker (%s backend)', (backend) => {
  let t: TestApp;
  let worker: ReturnType<typeof startUploadWorker> | undefined;

  beforeAll(async () => {
    t = await createTestApp({ backend });
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  const statusOf = async (id: number) => ((await t.ctx.knex('customerDocuments').where({ id }).first('status')) as { status: string }).status;

  it('processes an enqueued document (the payload holds only its id), and sweeps one whose job was lost', async () => {
    const knex = t.ctx.knex;
    const shop = await makeShop(knex, { code: `docq-${backend}` });
    const customer = await makeCustomer(knex, [shop.id]);
    const queued = await pendingDocument(knex, t.ctx.files, { customerId: customer.id, shopId: shop.id, name: 'queued.png', content: await pngFile(50, 50) });
    await enqueueDocumentCheck(t.ctx.queues.uploads, queued.id);
    // Enqueued twice (a sweep while the first waits): one job.
    await enqueueDocumentCheck(t.ctx.queues.uploads, queued.id);
    const job = await t.ctx.queues.uploads.getJob(`document-${queued.id}`);
    expect(job?.data).toEqual({ documentId: queued.id });

    // Recorded as the upload does, but never handed to the queue (it was down).
    const stranded = await pendingDocument(knex, t.ctx.files, { customerId: customer.id, shopId: shop.id, name: 'stranded.exe.pdf', content: exeFile() });

    worker = startUploadWorker(t.ctx, { sweepEveryMs: 100, staleAfterSeconds: 0 });
    await eventually(async () => ((await statusOf(queued.id)) === 'ready' ? true : undefined), 20_000, 'the queued document to be ready');
    await eventually(async () => ((await statusOf(stranded.id)) === 'rejected' ? true : undefined), 20_000, 'the stranded document to be checked');
    expect(await knex('customerDocuments').where({ id: queued.id }).first('thumbnailKey')).toEqual({ thumbnailKey: expect.stringMatching(/^documents\//) });
    // Each was decided once.
    const decided = await knex('auditLog').where({ customerId: customer.id }).whereIn('action', ['document.ready', 'document.rejected']).select('action');
    expect(decided.map((r: { action: string }) => r.action).sort()).toEqual(['document.ready', 'document.rejected']);
  });
});
