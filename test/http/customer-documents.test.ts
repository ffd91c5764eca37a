import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startUploadWorker } from '../../workers/upload.worker.js';
import { agentFor, csrfFrom, loginCustomer, loginStaff, type Agent } from '../support/agents.js';
import { eventually } from '../support/customer-list.js';
import { auditOf, getHtmx, HTMX, postForm, sectionText, tokenOf, triggers } from '../support/dashboard.js';
import { exeFile, pdfFile, pngFile, svgWithScript } from '../support/document-fixtures.js';
import { makeCustomer, makeSalesTeam, makeShop, makeStaff } from '../support/factories.js';
import { fieldError, textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** Customer documents (F-DASH-8, F-FILE, F-ACC-4): upload → check → download, visibility, delete, scope. */
describe('customer dashboard: documents', () => {
  let t: TestApp;
  let worker: ReturnType<typeof startUploadWorker>;
  let shop: { id: number; name: string }, other: { id: number; name: string };
  let owner: Agent, foreign: Agent, otherTeamRep: Agent, support: Agent;
  let ownerId: number;
  let teamA: { id: number };

  beforeAll(async () => {
    t = await createTestApp({ env: { DOCUMENT_MAX_MB: '1' } });
    const knex = t.ctx.knex;
    shop = await makeShop(knex, { code: 'docs', name: 'Docs Shop', hostname: 'docs.localhost' });
    other = await makeShop(knex, { code: 'docs-other', name: 'Other Docs Shop', hostname: 'docs-other.localhost' });
    const o = await makeStaff(knex, { role: 'owner' });
    ownerId = o.id;
    owner = await loginStaff(t.app, o.email);
    foreign = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [other.id] })).email);
    teamA = await makeSalesTeam(knex);
    const teamB = await makeSalesTeam(knex);
    otherTeamRep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shop.id], salesTeamId: teamB.id })).email);
    support = await loginStaff(t.app, (await makeStaff(knex, { role: 'support', shopIds: [shop.id] })).email);
    worker = startUploadWorker(t.ctx, { sweepEveryMs: 60_000 });
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  const quarantine = () => readdir(path.join(t.dataDir, 'files', 'quarantine')).catch(() => [] as string[]);
  const documentsArea = () => readdir(path.join(t.dataDir, 'files', 'documents')).catch(() => [] as string[]);
  const documentCount = async () => Number(((await t.ctx.knex('customerDocuments').count({ n: '*' }).first()) as { n: string }).n);
  let before: { files: string[]; documents: number };
  beforeEach(async () => {
    before = { files: await quarantine(), documents: await documentCount() };
  });
  async function expectNothingStored() {
    expect(await quarantine()).toEqual(before.files);
    expect(await documentCount()).toBe(before.documents);
  }

  interface UploadOptions {
    shopId?: string;
    visible?: boolean;
    /** null: no token at all; undefined: the agent's own. */
    token?: string | null;
    htmx?: boolean;
  }
  async function upload(agent: Agent, customerId: number, file: Buffer | null, name: string, options: UploadOptions = {}) {
    const token = options.token === undefined ? await tokenOf(agent) : options.token;
    let request = agent.post(`/admin/customers/${customerId}/documents`);
    if (options.htmx) request = request.set({ ...HTMX, 'X-CSRF-Token': token ?? '' });
    else if (token !== null) request = request.field('_csrf', token);
    request = request.field('shopId', options.shopId ?? String(shop.id));
    if (options.visible) request = request.field('visible', 'on');
    return file ? request.attach('file', file, name) : request;
  }

  /** The response body as bytes, whatever its type. */
  function download(agent: Agent, url: string) {
    return agent
      .get(url)
      .buffer(true)
      .parse((res, callback) => {
        const chunks: Buffer[] = [];
        const stream = res as unknown as NodeJS.ReadableStream;
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => callback(null, Buffer.concat(chunks)));
      });
  }

  const newest = async (customerId: number) => t.ctx.knex('customerDocuments').where({ customerId }).orderBy('id', 'desc').first();
  const settled = (id: number) =>
    eventually(async () => {
      const row = await t.ctx.knex('customerDocuments').where({ id }).first();
      return row.status === 'pending' ? undefined : row;
    }, 20_000, `document ${id} to be checked`);

  async function readyDocument(customerId: number, file: Buffer, name: string, visible = false) {
    expect((await upload(owner, customerId, file, name, { visible })).status).toBe(303);
    const row = await newest(customerId);
    return settled(row.id);
  }

  it('uploads a plain form into quarantine, shows "Checking…" while the list polls, then the ready document with its thumbnail', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    const page = await owner.get(`/admin/customers/${c.id}`);
    const widget = sectionText(page.text, 'w-documents');
    expect(widget).toContain('No documents yet.');
    expect(widget).toContain('Up to 1 MB');
    // A plain multipart form whose first field is the token (checked before anything is stored).
    expect(page.text).toMatch(new RegExp(`<form class="document-upload" method="post" action="/admin/customers/${c.id}/documents" enctype="multipart/form-data"[^>]*>\\s*<input type="hidden" name="_csrf"`));

    // Stopped, so the document stays pending while we look.
    await worker.worker.pause();
    const png = await pngFile(320, 240);
    const response = await upload(owner, c.id, png, 'photo.png');
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/admin/customers/${c.id}`);
    const row = await newest(c.id);
    expect(row).toMatchObject({ status: 'pending', originalName: 'photo.png', byteSize: png.length, shopId: shop.id, uploadedByStaffId: ownerId, visibleToCustomer: false });
    expect(row.storageKey).toMatch(/^quarantine\/[a-f0-9]{32}$/);
    expect(await quarantine()).toContain(row.storageKey.split('/')[1]);
    const job = await t.ctx.queues.uploads.getJob(`document-${row.id}`);
    expect(job?.data).toEqual({ documentId: row.id });

    const pending = await owner.get(`/admin/customers/${c.id}`);
    expect(textOf(pending.text)).toContain('Checking…');
    expect(sectionText(pending.text, 'w-documents')).toContain('photo.png');
    expect(pending.text).toContain(`hx-get="/admin/customers/${c.id}/documents/list" hx-trigger="every 2s"`);
    // Not downloadable before it was checked.
    expect((await owner.get(`/admin/customers/${c.id}/documents/${row.id}/download`)).status).toBe(404);

    worker.worker.resume();
    const ready = await settled(row.id);
    expect(ready).toMatchObject({ status: 'ready', contentType: 'image/png', extension: 'png' });
    expect(await quarantine()).not.toContain(row.storageKey.split('/')[1]);

    const list = await getHtmx(owner, `/admin/customers/${c.id}/documents/list`);
    expect(list.status).toBe(200);
    expect(list.text).not.toContain('every 2s');
    expect(textOf(list.text)).not.toContain('Checking…');
    expect(textOf(list.text)).toContain(`photo.png ${(png.length / 1024).toFixed(1)} KB · PNG image`);
    expect(list.text).toContain(`<img class="document-thumb" src="/admin/customers/${c.id}/documents/${row.id}/thumbnail"`);

    const thumbnail = await download(owner, `/admin/customers/${c.id}/documents/${row.id}/thumbnail`);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers['content-type']).toBe('image/webp');
    expect(thumbnail.headers['x-content-type-options']).toBe('nosniff');
    expect((thumbnail.body as Buffer).subarray(8, 12).toString()).toBe('WEBP');

    const file = await download(owner, `/admin/customers/${c.id}/documents/${row.id}/download`);
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('image/png');
    expect(file.headers['content-disposition']).toBe(`attachment; filename="photo.png"; filename*=UTF-8''photo.png`);
    expect(file.headers['x-content-type-options']).toBe('nosniff');
    expect(file.headers['cache-control']).toBe('private, no-store');
    expect(Buffer.compare(file.body as Buffer, png)).toBe(0);

    const timeline = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-timeline');
    expect(timeline).toContain('Document uploaded: photo.png');
    expect(timeline).toContain('Document checked and ready: photo.png');
  });

  it('answers an htmx upload with the widget (polling while pending) and a toast', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    await worker.worker.pause();
    try {
      const response = await upload(owner, c.id, pdfFile(), 'contract.pdf', { htmx: true, visible: true });
      expect(response.status).toBe(200);
      expect(response.headers['hx-retarget']).toBe('#w-documents');
      expect(response.headers['hx-reswap']).toBe('outerHTML');
      expect(triggers(response)).toMatchObject({ closeModal: { target: 'body' }, timelineChanged: { target: 'body' } });
      expect(textOf(response.text)).toContain('“contract.pdf” was uploaded and is being checked.');
      expect(response.text).toContain('id="w-documents"');
      expect(response.text).toContain('hx-trigger="every 2s"');
      expect(await newest(c.id)).toMatchObject({ visibleToCustomer: true, status: 'pending' });
    } finally {
      worker.worker.resume();
    }
    const row = await settled((await newest(c.id)).id);
    expect(row).toMatchObject({ status: 'ready', contentType: 'application/pdf' });
    const file = await download(owner, `/admin/customers/${c.id}/documents/${row.id}/download`);
    expect(file.headers['content-type']).toBe('application/pdf');
    expect((file.body as Buffer).subarray(0, 8).toString()).toBe('%PDF-1.4');
  });

  it('rejects a program renamed .pdf and an SVG with a script, showing the reason; neither can be downloaded', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    const exe = await readyDocument(c.id, exeFile(), 'invoice.pdf', true);
    expect(exe).toMatchObject({ status: 'rejected', storageKey: null });
    const svg = await readyDocument(c.id, svgWithScript(), 'logo.svg');
    expect(svg.status).toBe('rejected');
    const widget = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-documents');
    expect(widget).toContain('invoice.pdf');
    expect(widget).toContain('Rejected This file is a program (an executable). Programs are not accepted, whatever the file is called.');
    expect(widget).toContain('SVG images are not accepted: they can contain scripts.');
    const refused = await owner.get(`/admin/customers/${c.id}/documents/${exe.id}/download`);
    expect(refused.status).toBe(404);
    expect(textOf(refused.text)).toContain('This document was rejected, so it cannot be downloaded.');
    expect(sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-timeline')).toContain('Document rejected: invoice.pdf');
  });

  it('toggles visibility (plain and htmx) and the customer sees and downloads only their visible, ready documents', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id], { firstName: 'Vera' });
    const someoneElse = await makeCustomer(knex, [shop.id]);
    const shared = await readyDocument(c.id, pdfFile(), 'Rechnung März "2026".pdf');
    const hidden = await readyDocument(c.id, pdfFile(), 'internal.pdf');
    const rejected = await readyDocument(c.id, exeFile(), 'setup.pdf', true);
    const theirs = await readyDocument(someoneElse.id, pdfFile(), 'theirs.pdf', true);

    const customer = await loginCustomer(t.app, 'docs.localhost', c.email);
    expect((await customer.get('/account')).text).toContain('href="/account/documents"');
    expect(textOf((await customer.get('/account/documents')).text)).toContain('There are no documents for you here yet.');

    const shown = await postForm(owner, `/admin/customers/${c.id}/documents/${shared.id}/visibility`, { visible: 'on' });
    expect(shown.status).toBe(303);
    expect(await knex('customerDocuments').where({ id: shared.id }).first('visibleToCustomer')).toEqual({ visibleToCustomer: true });
    const [entry] = await auditOf(knex, c.id);
    expect(entry).toMatchObject({ action: 'document.visibility_changed', actorId: ownerId, shopId: shop.id, changes: { documentId: shared.id, fields: { 'visible to customer': { from: false, to: true } } } });

    const again = await postForm(owner, `/admin/customers/${c.id}/documents/${shared.id}/visibility`, { visible: 'on' }, { htmx: true });
    expect(again.status).toBe(200);
    expect(again.headers['hx-retarget']).toBe('#w-documents');
    expect(textOf(again.text)).toContain('Nothing changed: “Rechnung März "2026".pdf” was already visible to the customer.');
    expect(again.text).toContain('Hide from customer');
    expect((await auditOf(knex, c.id)).filter((a) => a.action === 'document.visibility_changed')).toHaveLength(1);

    const list = await customer.get('/account/documents');
    expect(list.status).toBe(200);
    const text = textOf(list.text);
    expect(text).toContain('Rechnung März "2026".pdf');
    expect(text).not.toContain('internal.pdf');
    expect(text).not.toContain('setup.pdf');
    expect(text).not.toContain('theirs.pdf');

    const file = await download(customer, `/account/documents/${shared.id}/download`);
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('application/pdf');
    expect(file.headers['content-disposition']).toBe(`attachment; filename="Rechnung M_rz _2026_.pdf"; filename*=UTF-8''Rechnung%20M%C3%A4rz%20%222026%22.pdf`);
    expect(file.headers['x-content-type-options']).toBe('nosniff');
    expect(Buffer.compare(file.body as Buffer, pdfFile())).toBe(0);

    // Hidden, rejected, another customer's, unknown and malformed ids: all the same 404.
    for (const id of [hidden.id, rejected.id, theirs.id, 999999999, 'abc', '../1']) {
      expect((await customer.get(`/account/documents/${id}/download`)).status, String(id)).toBe(404);
    }
    // Hidden again: gone for the customer.
    expect((await postForm(owner, `/admin/customers/${c.id}/documents/${shared.id}/visibility`, { visible: 'off' })).status).toBe(303);
    expect((await customer.get(`/account/documents/${shared.id}/download`)).status).toBe(404);
    expect(sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-timeline')).toContain('Document hidden from the customer: Rechnung März "2026".pdf');

    // Logged out: to the login page.
    expect((await agentFor(t.app, 'docs.localhost').get('/account/documents')).status).toBe(303);
  });

  it('keeps a customer of another shop (and a session on another host) away from the documents', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id, other.id]);
    const doc = await readyDocument(c.id, pdfFile(), 'north-only.pdf', true);
    // The same customer on the other shop's host: the document belongs to Docs Shop.
    const elsewhere = await loginCustomer(t.app, 'docs-other.localhost', c.email);
    expect(textOf((await elsewhere.get('/account/documents')).text)).not.toContain('north-only.pdf');
    expect((await elsewhere.get(`/account/documents/${doc.id}/download`)).status).toBe(404);
    // A customer of the other shop only.
    const stranger = await makeCustomer(knex, [other.id]);
    const strangerAgent = await loginCustomer(t.app, 'docs-other.localhost', stranger.email);
    expect((await strangerAgent.get(`/account/documents/${doc.id}/download`)).status).toBe(404);
  });

  it('deletes a document after a confirmation, with its files, and records it', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    const doc = await readyDocument(c.id, await pngFile(64, 64), 'old.png', true);
    const files = [doc.storageKey.split('/')[1], doc.thumbnailKey.split('/')[1]];
    expect(await documentsArea()).toEqual(expect.arrayContaining(files));

    const confirm = await getHtmx(owner, `/admin/customers/${c.id}/documents/${doc.id}/delete`);
    expect(confirm.status).toBe(200);
    expect(textOf(confirm.text)).toContain('Delete “ old.png ”? The customer can no longer download it either. This cannot be undone.');
    const plainConfirm = await owner.get(`/admin/customers/${c.id}/documents/${doc.id}/delete`);
    expect(plainConfirm.text).toContain('<form method="post" action="/admin/customers/' + c.id + '/documents/' + doc.id + '/delete">');

    const response = await postForm(owner, `/admin/customers/${c.id}/documents/${doc.id}/delete`, {}, { htmx: true });
    expect(response.status).toBe(200);
    expect(response.headers['hx-retarget']).toBe('#w-documents');
    expect(textOf(response.text)).toContain('“old.png” was deleted.');
    expect(await knex('customerDocuments').where({ id: doc.id }).first()).toBeUndefined();
    for (const f of files) expect(await documentsArea()).not.toContain(f);
    const [entry] = await auditOf(knex, c.id);
    expect(entry).toMatchObject({ action: 'document.deleted', actorId: ownerId, changes: { documentId: doc.id, name: 'old.png' } });
    expect(sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-timeline')).toContain('Document deleted: old.png');
    expect((await postForm(owner, `/admin/customers/${c.id}/documents/${doc.id}/delete`, {})).status).toBe(404);
  });

  it('answers 404 to staff of another shop and to a sales rep of another team, storing nothing', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id], { salesTeamId: teamA.id });
    const doc = await readyDocument(c.id, pdfFile(), 'private.pdf');
    for (const agent of [foreign, otherTeamRep]) {
      before = { files: await quarantine(), documents: await documentCount() };
      expect((await agent.get(`/admin/customers/${c.id}/documents/${doc.id}/download`)).status).toBe(404);
      expect((await agent.get(`/admin/customers/${c.id}/documents/${doc.id}/thumbnail`)).status).toBe(404);
      expect((await getHtmx(agent, `/admin/customers/${c.id}/documents/list`)).status).toBe(404);
      expect((await upload(agent, c.id, pdfFile(), 'sneaky.pdf')).status).toBe(404);
      expect((await postForm(agent, `/admin/customers/${c.id}/documents/${doc.id}/visibility`, { visible: 'on' })).status).toBe(404);
      expect((await postForm(agent, `/admin/customers/${c.id}/documents/${doc.id}/delete`, {})).status).toBe(404);
      await expectNothingStored();
    }
    expect(await knex('customerDocuments').where({ id: doc.id }).first('visibleToCustomer')).toEqual({ visibleToCustomer: false });
    // A document id of another customer under this customer's URL is a 404 too.
    const mine = await makeCustomer(knex, [shop.id]);
    expect((await owner.get(`/admin/customers/${mine.id}/documents/${doc.id}/download`)).status).toBe(404);
  });

  it('lets support staff download but not upload, change or delete', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    const doc = await readyDocument(c.id, pdfFile(), 'readable.pdf');
    before = { files: await quarantine(), documents: await documentCount() };
    const page = await support.get(`/admin/customers/${c.id}`);
    const widget = sectionText(page.text, 'w-documents');
    expect(widget).toContain('readable.pdf');
    expect(widget).not.toContain('Upload');
    expect(widget).not.toContain('Delete');
    expect((await download(support, `/admin/customers/${c.id}/documents/${doc.id}/download`)).status).toBe(200);
    expect((await upload(support, c.id, pdfFile(), 'support.pdf')).status).toBe(403);
    expect((await postForm(support, `/admin/customers/${c.id}/documents/${doc.id}/visibility`, { visible: 'on' })).status).toBe(403);
    expect((await postForm(support, `/admin/customers/${c.id}/documents/${doc.id}/delete`, {})).status).toBe(403);
    await expectNothingStored();
  });

  it('refuses a file over the size limit with 413 and a clear message, keeping nothing', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    const big = Buffer.concat([pdfFile(), Buffer.alloc(1024 * 1024, 'a')]);
    const plain = await upload(owner, c.id, big, 'big.pdf');
    expect(plain.status).toBe(413);
    expect(fieldError(plain.text, 'file')).toBe('The file is larger than 1 MB, the largest document accepted. Nothing was stored.');
    await expectNothingStored();
    const htmx = await upload(owner, c.id, big, 'big.pdf', { htmx: true });
    expect(htmx.status).toBe(413);
    expect(htmx.headers['hx-retarget']).toBe('#w-documents');
    expect(fieldError(htmx.text, 'file')).toBe('The file is larger than 1 MB, the largest document accepted. Nothing was stored.');
    await expectNothingStored();
  });

  it('never uses the browser’s file name as a path, and renders a name with markup inert', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    expect((await upload(owner, c.id, pdfFile(), '../../etc/passwd.pdf')).status).toBe(303);
    const traversal = await newest(c.id);
    expect(traversal.originalName).toBe('passwd.pdf');
    // Still in quarantine, or already checked and moved by the running worker: a random key either way.
    expect(traversal.storageKey).toMatch(/^(quarantine|documents)\/[a-f0-9]{32}$/);
    expect(existsSync(path.resolve(t.dataDir, 'files', 'quarantine', '../../etc/passwd.pdf'))).toBe(false);
    expect(existsSync(path.resolve(t.dataDir, 'etc'))).toBe(false);
    expect(existsSync(path.resolve(t.dataDir, 'files', 'etc'))).toBe(false);

    expect((await upload(owner, c.id, pdfFile(), '..\\..\\<img src=x onerror=alert(1)> <script>alert(1).pdf')).status).toBe(303);
    const marked = await settled((await newest(c.id)).id);
    expect(marked.originalName).toBe('<img src=x onerror=alert(1)> <script>alert(1).pdf');
    expect((await upload(owner, c.id, pdfFile(), "' OR 1=1 --.pdf")).status).toBe(303);
    expect((await newest(c.id)).originalName).toBe("' OR 1=1 --.pdf");

    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt; &lt;script&gt;alert(1).pdf');
    expect(page.text).not.toContain('<script>alert(1)');
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain('&#39; OR 1=1 --.pdf');
    const file = await download(owner, `/admin/customers/${c.id}/documents/${marked.id}/download`);
    expect(file.headers['content-disposition']).toBe(
      `attachment; filename="<img src=x onerror=alert(1)> <script>alert(1).pdf"; filename*=UTF-8''%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%20%3Cscript%3Ealert%281%29.pdf`,
    );
  });

  it('refuses a missing or empty file, a bad or foreign shop, a missing token and wrong field types', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    const none = await upload(owner, c.id, null, '');
    expect(none.status).toBe(422);
    expect(fieldError(none.text, 'file')).toBe('Choose a file to upload.');
    const empty = await upload(owner, c.id, Buffer.alloc(0), 'empty.pdf', { htmx: true });
    expect(empty.status).toBe(422);
    expect(empty.headers['hx-retarget']).toBe('#w-documents');
    expect(fieldError(empty.text, 'file')).toBe('The file is empty.');
    const badShop = await upload(owner, c.id, pdfFile(), 'a.pdf', { shopId: 'abc' });
    expect(badShop.status).toBe(422);
    expect(textOf(badShop.text)).toContain('Choose the shop.');
    // A shop the customer is not in (though the owner sees it).
    expect((await upload(owner, c.id, pdfFile(), 'a.pdf', { shopId: String(other.id) })).status).toBe(404);
    expect((await upload(owner, c.id, pdfFile(), 'a.pdf', { token: null })).status).toBe(403);
    expect((await upload(owner, c.id, pdfFile(), 'a.pdf', { token: 'not-the-token' })).status).toBe(403);
    // Not a multipart form.
    expect((await postForm(owner, `/admin/customers/${c.id}/documents`, { shopId: String(shop.id) })).status).toBe(400);
    await expectNothingStored();

    const doc = await readyDocument(c.id, pdfFile(), 'typed.pdf');
    expect((await postForm(owner, `/admin/customers/${c.id}/documents/${doc.id}/visibility`, { visible: ['on', 'off'] })).status).toBe(400);
    const unknown = await postForm(owner, `/admin/customers/${c.id}/documents/${doc.id}/visibility`, { visible: 'maybe' });
    expect(unknown.status).toBe(422);
    for (const bad of ['abc', '0', '1e3', '99999999999999999999']) {
      expect((await owner.get(`/admin/customers/${c.id}/documents/${bad}/download`)).status, bad).toBe(404);
    }
    expect(await knex('customerDocuments').where({ id: doc.id }).first('visibleToCustomer')).toEqual({ visibleToCustomer: false });
  });

  it('shows the upload form as a page without JavaScript, with the shop choice for staff who see several', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id, other.id]);
    const page = await owner.get(`/admin/customers/${c.id}/documents/upload`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Upload a document');
    expect(page.text).toContain(`<option value="${shop.id}"`);
    expect(page.text).toContain(`<option value="${other.id}"`);
    const token = csrfFrom(page.text);
    const response = await upload(owner, c.id, pdfFile(), 'second-shop.pdf', { token, shopId: String(other.id) });
    expect(response.status).toBe(303);
    expect(await newest(c.id)).toMatchObject({ shopId: other.id, originalName: 'second-shop.pdf' });
    // The other shop's manager sees it; a manager of Docs Shop alone would not.
    const onlyDocs = await loginStaff(t.app, (await makeStaff(t.ctx.knex, { role: 'manager', shopIds: [shop.id] })).email);
    expect(sectionText((await onlyDocs.get(`/admin/customers/${c.id}`)).text, 'w-documents')).not.toContain('second-shop.pdf');
    expect(sectionText((await foreign.get(`/admin/customers/${c.id}`)).text, 'w-documents')).toContain('second-shop.pdf');
  });
});
