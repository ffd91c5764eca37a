import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../support/agents.js';
import { csrfFrom, loginStaff } from '../support/agents.js';
import { csvRecords } from '../support/csv.js';
import { makeShop, makeStaff } from '../support/factories.js';
import { textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * The import pages (F-LIST-6) and their upload (F-FILE, F-SEC): who may import into which shop,
 * CSRF on a multipart form, files sniffed by content (not name), size limit, random storage keys,
 * the polling fragment and the formula-safe report download. The worker side is in
 * test/workers/customer-import.test.ts.
 */

const CSV = Buffer.from('\uFEFFEmail,First Name\nada@example.com,Ada\n');

/** A ZIP archive of `entries`, stored (not compressed), with a central directory as real archives have. */
function storedZip(entries: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [fileName, content] of Object.entries(entries)) {
    const name = Buffer.from(fileName);
    const data = Buffer.from(content);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

describe('customer import pages', () => {
  let t: TestApp;
  let shopA: { id: number; name: string }, shopB: { id: number; name: string };
  let owner: Agent, manager: Agent, rep: Agent;
  let managerId: number;

  beforeAll(async () => {
    t = await createTestApp({ env: { IMPORT_MAX_MB: '1' } });
    const knex = t.ctx.knex;
    shopA = await makeShop(knex, { code: 'import-http-a', name: 'Alpha Shop' });
    shopB = await makeShop(knex, { code: 'import-http-b', name: 'Beta Shop' });
    owner = await loginStaff(t.app, (await makeStaff(knex, { role: 'owner' })).email);
    const m = await makeStaff(knex, { role: 'manager', shopIds: [shopA.id] });
    managerId = m.id;
    manager = await loginStaff(t.app, m.email);
    rep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shopA.id] })).email);
  });
  afterAll(() => t?.close());

  const quarantine = () => readdir(path.join(t.dataDir, 'files', 'quarantine')).catch(() => [] as string[]);
  const importCount = async () => Number(((await t.ctx.knex('customerImports').count('* as n').first()) as { n: string }).n);
  let before: { files: string[]; imports: number };
  beforeEach(async () => {
    before = { files: await quarantine(), imports: await importCount() };
  });
  /** Nothing was stored and no import was recorded. */
  async function expectNothingKept() {
    expect(await quarantine()).toEqual(before.files);
    expect(await importCount()).toBe(before.imports);
  }

  async function tokenOf(agent: Agent) {
    return csrfFrom((await agent.get('/admin/customers/import')).text);
  }

  function upload(agent: Agent, token: string | null, file: Buffer | null, name: string, shop: number = shopA.id) {
    let request = agent.post('/admin/customers/import');
    if (token !== null) request = request.field('_csrf', token);
    request = request.field('shop', String(shop)).field('tag', '');
    return file ? request.attach('file', file, name) : request;
  }

  it('shows the upload form with only the staff member’s shops, and links it from the list', async () => {
    const page = await manager.get('/admin/customers/import');
    expect(page.status).toBe(200);
    expect(page.text).toContain('enctype="multipart/form-data"');
    // The token is the first field, so the server can check it before storing anything.
    expect(/<form method="post" action="\/admin\/customers\/import" enctype="multipart\/form-data">\s*<input type="hidden" name="_csrf"/.test(page.text)).toBe(true);
    expect(page.text).toContain('Alpha Shop');
    expect(page.text).not.toContain('Beta Shop');
    expect(textOf(page.text)).toContain('up to 1 MB');
    expect((await manager.get('/admin/customers')).text).toContain('href="/admin/customers/import"');
    expect((await rep.get('/admin/customers')).text).not.toContain('href="/admin/customers/import"');
  });

  it('refuses sales reps (403)', async () => {
    expect((await rep.get('/admin/customers/import')).status).toBe(403);
    const refused = await upload(rep, await tokenOf(owner), CSV, 'a.csv');
    expect(refused.status).toBe(403);
    await expectNothingKept();
  });

  it('accepts a CSV, stores it under a random key and shows the import page', async () => {
    const response = await upload(manager, await tokenOf(manager), CSV, 'customers.csv');
    expect(response.status).toBe(303);
    const id = Number(response.headers.location!.split('/').pop());
    const record = await t.ctx.knex('customerImports').where({ id }).first();
    expect(record).toMatchObject({ staffUserId: managerId, shopId: shopA.id, status: 'uploaded', originalName: 'customers.csv', format: 'csv', byteSize: CSV.length });
    expect(record.storageKey).toMatch(/^quarantine\/[a-f0-9]{32}$/);
    expect(await quarantine()).toEqual([...before.files, record.storageKey.split('/')[1]].sort());
    const page = await manager.get(response.headers.location!);
    expect(page.status).toBe(200);
    expect(textOf(page.text)).toContain('Import “customers.csv”');
    expect(textOf(page.text)).toContain('Waiting for a worker…');
  });

  it('refuses a form without a valid CSRF token (403) and stores nothing', async () => {
    expect((await upload(manager, null, CSV, 'a.csv')).status).toBe(403);
    expect((await upload(manager, 'not-the-token', CSV, 'a.csv')).status).toBe(403);
    // Another session's token does not work either.
    expect((await upload(manager, await tokenOf(owner), CSV, 'a.csv')).status).toBe(403);
    await expectNothingKept();
    // htmx sends the token as a header instead: that works.
    const viaHeader = await upload(manager, null, CSV, 'a.csv').set('X-CSRF-Token', await tokenOf(manager));
    expect(viaHeader.status).toBe(303);
  });

  it('answers 404 for a shop outside the staff member’s scope, and stores nothing', async () => {
    const response = await upload(manager, await tokenOf(manager), CSV, 'a.csv', shopB.id);
    expect(response.status).toBe(404);
    expect((await upload(manager, await tokenOf(manager), CSV, 'a.csv', 999_999)).status).toBe(404);
    await expectNothingKept();
  });

  it('rejects what is not CSV or XLSX by its content, whatever its name, with a clear message', async () => {
    const token = await tokenOf(manager);
    const exe = Buffer.alloc(1024);
    exe.write('MZ', 0);
    exe.write('This program cannot be run in DOS mode.', 78);
    const cases: Array<[Buffer, string, string]> = [
      [exe, 'customers.csv', 'it looks like a Windows program'],
      [Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex'), 'customers.csv', 'it looks like a PNG file'],
      [storedZip({ 'a.txt': 'hello' }), 'customers.xlsx', 'it looks like a ZIP archive'],
      [
        storedZip({ 'xl/workbook.xml': '<workbook/>', '[Content_Types].xml': '<Types><Override PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/></Types>' }),
        'customers.xlsx',
        'workbooks with macros (.xlsm) are not accepted',
      ],
      [Buffer.from('Email,Name\nm@example.com,M\xfcller\n', 'latin1'), 'latin1.csv', 'This file is not UTF-8 text'],
      [Buffer.from('<!doctype html><html><script>alert(1)</script></html>'), 'page.csv', 'looks like HTML or XML'],
      [Buffer.from('#!/bin/sh\nrm -rf /\n'), 'run.csv', 'looks like a program or script'],
      [Buffer.from('Email\0Name\n'), 'nul.csv', 'not a text (CSV) file'],
    ];
    for (const [file, name, message] of cases) {
      const response = await upload(manager, token, file, name);
      expect(response.status, name).toBe(422);
      expect(textOf(response.text)).toContain(message);
      expect(response.text).toContain('<form method="post" action="/admin/customers/import" enctype="multipart/form-data">');
    }
    await expectNothingKept();
  });

  it('recognises a workbook whose content types come after its sheets (streaming writers)', async () => {
    const file = path.join(t.dataDir, 'streamed.xlsx');
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: true });
    const sheet = workbook.addWorksheet('Customers');
    sheet.addRow(['Email', 'First Name']).commit();
    for (let i = 0; i < 2_000; i++) sheet.addRow([`streamed${i}@example.com`, `Name ${i}`]).commit();
    await workbook.commit();
    const response = await upload(manager, await tokenOf(manager), await readFile(file), 'streamed.xlsx');
    expect(response.status, response.text).toBe(303);
    expect((await t.ctx.knex('customerImports').where({ id: Number(response.headers.location!.split('/').pop()) }).first()).format).toBe('xlsx');
  });

  it('asks for a file when none (or an empty one) is sent', async () => {
    const token = await tokenOf(manager);
    const none = await upload(manager, token, null, '');
    expect(none.status).toBe(422);
    expect(textOf(none.text)).toContain('Choose a CSV or Excel file to import.');
    const empty = await upload(manager, token, Buffer.alloc(0), 'empty.csv');
    expect(empty.status).toBe(422);
    expect(textOf(empty.text)).toContain('The file is empty.');
    await expectNothingKept();
  });

  it('refuses a file over the size limit (413) and keeps none of it', async () => {
    const big = Buffer.alloc(1024 * 1024 + 10, 'a');
    big.write('Email\n', 0);
    const response = await upload(manager, await tokenOf(manager), big, 'big.csv');
    expect(response.status).toBe(413);
    expect(textOf(response.text)).toContain('The file is larger than 1 MB');
    await expectNothingKept();
  });

  it('never uses the browser’s file name as a path', async () => {
    const response = await upload(manager, await tokenOf(manager), CSV, '../../etc/passwd.csv');
    expect(response.status).toBe(303);
    const record = await t.ctx.knex('customerImports').where({ id: Number(response.headers.location!.split('/').pop()) }).first();
    expect(record.originalName).toBe('passwd.csv');
    expect(record.storageKey).toMatch(/^quarantine\/[a-f0-9]{32}$/);
    expect(existsSync(path.resolve(t.dataDir, 'files', 'quarantine', '../../etc/passwd.csv'))).toBe(false);
    expect(existsSync(path.resolve(t.dataDir, 'etc'))).toBe(false);
    const windows = await upload(manager, await tokenOf(manager), CSV, '..\\..\\<img src=x onerror=alert(1)>.csv');
    const page = await manager.get(windows.headers.location!);
    expect(page.text).toContain('Import &#8220;&lt;img src=x onerror=alert(1)&gt;.csv&#8221;');
  });

  it('answers 404 for another staff member’s import, one in a shop out of scope, and bad ids', async () => {
    const mine = await upload(manager, await tokenOf(manager), CSV, 'mine.csv');
    const location = mine.headers.location!;
    expect((await owner.get(location)).status).toBe(404);
    expect((await owner.get(`${location}/rejected.csv`)).status).toBe(404);
    expect((await manager.get('/admin/customers/import/999999')).status).toBe(404);
    expect((await manager.get('/admin/customers/import/abc')).status).toBe(404);
    // The owner's import into shop B is not reachable by the manager of shop A.
    const theirs = await upload(owner, await tokenOf(owner), CSV, 'b.csv', shopB.id);
    expect((await manager.get(theirs.headers.location!)).status).toBe(404);
    const run = await manager.post(`${theirs.headers.location!}/run`).type('form').send({ _csrf: await tokenOf(manager), mode: 'dry_run', col_0: 'email' });
    expect(run.status).toBe(404);
  });

  it('polls with an htmx fragment while a worker is busy, and stops when it is done', async () => {
    const response = await upload(owner, await tokenOf(owner), CSV, 'poll.csv');
    const location = response.headers.location!;
    const fragment = () => owner.get(location).set('HX-Request', 'true');
    const busy = await fragment();
    expect(busy.status).toBe(200);
    expect(busy.text).not.toContain('<html');
    expect(busy.text).toContain('hx-trigger="every 1s"');
    expect(busy.headers.vary).toContain('HX-Request');

    const id = Number(location.split('/').pop());
    await t.ctx.knex('customerImports').where({ id }).update({ status: 'ready', header: JSON.stringify(['Email', 'First Name']), sampleRows: JSON.stringify([['ada@example.com', 'Ada']]), rowCount: 1, mapping: JSON.stringify(['email', 'first_name']) });
    const ready = await fragment();
    expect(ready.text).not.toContain('hx-trigger');
    expect(ready.text).toContain('name="col_0"');
    expect(ready.text).toContain('value="dry_run"');
  });

  it('refuses to start a run without a CSRF token (403), and a run while one is going on (409)', async () => {
    const response = await upload(owner, await tokenOf(owner), CSV, 'run.csv');
    const location = response.headers.location!;
    const id = Number(location.split('/').pop());
    await t.ctx.knex('customerImports').where({ id }).update({ status: 'ready', header: JSON.stringify(['Email']), rowCount: 1, mapping: JSON.stringify(['email']) });
    expect((await owner.post(`${location}/run`).type('form').send({ mode: 'dry_run', col_0: 'email' })).status).toBe(403);
    expect((await t.ctx.knex('customerImports').where({ id }).first()).status).toBe('ready');
    const token = await tokenOf(owner);
    expect((await owner.post(`${location}/run`).type('form').send({ _csrf: token, mode: 'dry_run', col_0: 'email' })).status).toBe(303);
    expect((await owner.post(`${location}/run`).type('form').send({ _csrf: token, mode: 'import', col_0: 'email' })).status).toBe(409);
    // A field sent twice is a malformed request.
    expect((await owner.post(`${location}/run`).type('form').send(`_csrf=${encodeURIComponent(token)}&mode=import&col_0=email&col_0=tags`)).status).toBe(400);
  });

  it('downloads the rejected rows as a CSV attachment, with formulas neutralised', async () => {
    const response = await upload(owner, await tokenOf(owner), CSV, 'report.csv');
    const location = response.headers.location!;
    const id = Number(location.split('/').pop());
    expect((await owner.get(`${location}/rejected.csv`)).status).toBe(404); // no run yet
    await t.ctx.knex('customerImports').where({ id }).update({ status: 'ready', resultOf: 'dry_run', rejectedCount: 2 });
    await t.ctx.knex('customerImportRejections').insert([
      { importId: id, line: 3, email: '=HYPERLINK("http://evil.test","x")', reason: 'E-mail is not a valid address' },
      { importId: id, line: 7, email: '', reason: 'E-mail is missing' },
    ]);
    const csv = await owner.get(`${location}/rejected.csv`).buffer(true);
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe(`attachment; filename="import-${id}-rejected-rows.csv"`);
    expect(csv.headers['x-content-type-options']).toBe('nosniff');
    expect(csvRecords(csv.text).records).toEqual([
      { line: '3', email: `'=HYPERLINK("http://evil.test","x")`, reason: 'E-mail is not a valid address' },
      { line: '7', email: '', reason: 'E-mail is missing' },
    ]);
  });

  it('answers 400 to a POST that is not a multipart form', async () => {
    const response = await manager.post('/admin/customers/import').type('form').send({ _csrf: await tokenOf(manager), shop: String(shopA.id) });
    expect(response.status).toBe(400);
  });
});
