import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseImport } from '../../app/services/imports/import-analysis.service.js';
import { runImport } from '../../app/services/imports/import-run.service.js';
import { createImport, startImportRun, type CustomerImport } from '../../app/services/imports/import.service.js';
import { loadStaffPrincipal } from '../../app/services/staff.service.js';
import { makeShop, makeStaff } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * The staged rows of an import (F-LIST-6) have no foreign key to their import, so staging a file
 * does not look the import up once per line: they go when their import goes, and a run whose
 * import was deleted while it staged merges nothing. The file is staged and checked in parts. The
 * merge inserts a new customer's tags without a conflict check, so it must not add a tag twice.
 */

const emailOf = (n: number, prefix = 'staged') => `${prefix}-${n}@example.test`;

describe('staged import rows', () => {
  let t: TestApp;
  let shopId: number;

  beforeAll(async () => {
    t = await createTestApp();
    shopId = (await makeShop(t.ctx.knex, { code: 'staging' })).id;
  });
  afterAll(async () => {
    await t?.ctx.knex.raw('DROP FUNCTION IF EXISTS delete_import_while_staging() CASCADE');
    await t?.ctx.knex.raw('DROP FUNCTION IF EXISTS fail_staged_check() CASCADE');
    await t?.close();
  });

  /** An analysed import of `rows` customers (`prefix`-n@example.test) by a new owner, its run started. */
  async function startedImport(rows: number, prefix?: string, options: { mode?: 'import' | 'dry_run'; emailOf?: (n: number) => string; tags?: string; tag?: string } = {}) {
    const knex = t.ctx.knex;
    const staff = (await loadStaffPrincipal(knex, (await makeStaff(knex, { role: 'owner' })).id))!;
    const email = options.emailOf ?? ((n: number) => emailOf(n, prefix));
    const lines = ['Email,First Name,Tags', ...Array.from({ length: rows }, (_, i) => `${email(i + 1)},Staged${i + 1},"${options.tags ?? ''}"`)];
    const stored = await t.ctx.files.receive(Readable.from([Buffer.from(`${lines.join('\n')}\n`)]));
    const tag = options.tag ?? null;
    const importId = await createImport(knex, { staffId: staff.id, shopId, originalName: 'staged.csv', storageKey: stored.key, byteSize: stored.bytes, format: 'csv', tag });
    await analyseImport(t.ctx, importId);
    const analysed = (await knex('customerImports').where({ id: importId }).first()) as CustomerImport;
    expect(analysed.status).toBe('ready');
    await startImportRun(knex, staff, importId, { mapping: analysed.mapping, tag, mode: options.mode ?? 'import' });
    return { importId, staffId: staff.id };
  }

  const stagedRows = async (importId: number) => Number((await t.ctx.knex('customer_import_rows').where({ importId }).count('* as n').first())?.n);

  it('deleting an import (here with its staff member) deletes its staged rows, and only its own', async () => {
    const knex = t.ctx.knex;
    const gone = await startedImport(3);
    const kept = await startedImport(2);
    for (const { importId } of [gone, kept]) {
      await knex('customer_import_rows').insert([1, 2].map((n) => ({ importId, line: n + 1, email: emailOf(n) })));
    }

    await knex('staffUsers').where({ id: gone.staffId }).delete();

    expect(await knex('customerImports').where({ id: gone.importId }).first()).toBeUndefined();
    expect(await stagedRows(gone.importId)).toBe(0);
    expect(await stagedRows(kept.importId)).toBe(2);
  });

  it('a run whose import is deleted while the file is staged merges nothing and leaves no rows behind', async () => {
    const knex = t.ctx.knex;
    const { importId } = await startedImport(5);
    // Deleted by the COPY itself, half way through the file: the rows after it are staged all the same.
    await knex.raw(`
      CREATE FUNCTION delete_import_while_staging() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.line = 3 THEN DELETE FROM customer_imports WHERE id = NEW.import_id; END IF; RETURN NEW; END $$;
      CREATE TRIGGER delete_import_while_staging BEFORE INSERT ON customer_import_rows FOR EACH ROW EXECUTE FUNCTION delete_import_while_staging();
    `);
    try {
      await runImport(t.ctx, importId, 'import');
    } finally {
      await knex.raw('DROP TRIGGER delete_import_while_staging ON customer_import_rows');
    }

    expect(await knex('customerImports').where({ id: importId }).first()).toBeUndefined();
    expect(await knex('customers').where('email', 'like', 'staged-%').count('* as n').first()).toEqual({ n: 0 });
    expect(await stagedRows(importId)).toBe(0);
  });

  it('stages, merges and clears the rows of a file as before', async () => {
    const knex = t.ctx.knex;
    const { importId } = await startedImport(4, 'merged');
    await runImport(t.ctx, importId, 'import');

    const record = (await knex('customerImports').where({ id: importId }).first()) as CustomerImport;
    expect({ status: record.status, created: record.createdCount, rejected: record.rejectedCount }).toEqual({ status: 'done', created: 4, rejected: 0 });
    const names = (await knex('customers').where('email', 'like', 'merged-%').orderBy('email').select('firstName')) as Array<{ firstName: string }>;
    expect(names.map((row) => row.firstName)).toEqual(['Staged1', 'Staged2', 'Staged3', 'Staged4']);
    expect(await stagedRows(importId)).toBe(0);
  });

  // Staged in parts of 25,000 lines, each checked while the next is staged.
  it('checks every part of a long file, at the parts’ edges too, and finds duplicates across parts', async () => {
    const knex = t.ctx.knex;
    const ROWS = 30_000;
    // Data row n is on line n + 1; rows 24,999–25,001 are lines 25,000–25,002, either side of the first part's end.
    const bad = new Set([24_999, 25_000, 25_001, ROWS]);
    const email = (n: number) => (bad.has(n) ? `bad ${n}` : n === 99 ? emailOf(26_999, 'parts') : emailOf(n, 'parts'));
    const { importId } = await startedImport(ROWS, 'parts', { mode: 'dry_run', emailOf: email });
    await runImport(t.ctx, importId, 'dry_run');

    const record = (await knex('customerImports').where({ id: importId }).first()) as CustomerImport;
    expect({ status: record.status, created: record.createdCount, rejected: record.rejectedCount }).toEqual({ status: 'ready', created: ROWS - 5, rejected: 5 });
    const rejections = await knex('customerImportRejections').where({ importId }).orderBy('line').select('line', 'reason');
    expect(rejections).toEqual([
      { line: 100, reason: 'Duplicate e-mail: line 27000 has the same address and is used instead' },
      ...[25_000, 25_001, 25_002, ROWS + 1].map((line) => ({ line, reason: `E-mail “bad ${line - 1}” is not a valid address` })),
    ]);
    expect(await stagedRows(importId)).toBe(0);
  });

  it('a check of a staged part that fails stops the run with that error, merging nothing', async () => {
    const knex = t.ctx.knex;
    const { importId } = await startedImport(30_000, 'unchecked', { emailOf: (n) => (n === 10 ? 'bad 10' : emailOf(n, 'unchecked')) });
    // The checks write the reasons of bad rows: that write fails for the first part.
    await knex.raw(`
      CREATE FUNCTION fail_staged_check() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.reason IS NOT NULL THEN RAISE EXCEPTION 'simulated check failure'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER fail_staged_check BEFORE UPDATE ON customer_import_rows FOR EACH ROW EXECUTE FUNCTION fail_staged_check();
    `);
    try {
      await expect(runImport(t.ctx, importId, 'import')).rejects.toThrow(/simulated check failure/);
    } finally {
      await knex.raw('DROP TRIGGER fail_staged_check ON customer_import_rows');
    }
    expect(await knex('customers').where('email', 'like', 'unchecked-%').count('* as n').first()).toEqual({ n: 0 });
    expect(((await knex('customerImports').where({ id: importId }).first()) as CustomerImport).status).toBe('importing');
  });

  it('a file that cannot be read half way fails with the reason and leaves none of its staged parts', async () => {
    const knex = t.ctx.knex;
    const ROWS = 30_000;
    const { importId } = await startedImport(ROWS, 'broken', { mode: 'dry_run' });
    // The file read by the run is not the one analysed: after 28,000 good rows comes a byte that is not UTF-8.
    const lines = ['Email,First Name', ...Array.from({ length: 28_000 }, (_, i) => `${emailOf(i + 1, 'broken')},Staged${i + 1}`)];
    const broken = await t.ctx.files.receive(Readable.from([Buffer.concat([Buffer.from(`${lines.join('\n')}\n`), Buffer.from([0xff, 0x0a])])]));
    await knex('customerImports').where({ id: importId }).update({ storageKey: broken.key });

    await runImport(t.ctx, importId, 'dry_run');

    const record = (await knex('customerImports').where({ id: importId }).first()) as CustomerImport;
    expect({ status: record.status, error: record.error }).toEqual({ status: 'failed', error: expect.stringContaining('not UTF-8') });
    expect(await stagedRows(importId)).toBe(0);
  });

  it('gives new and existing customers the file’s tags and the tag for all once each, whatever their case', async () => {
    const knex = t.ctx.knex;
    const tagsOf = async (prefix: string) => {
      const rows = (await knex('customerTags as ct').join('customers as c', 'c.id', 'ct.customerId').where('c.email', 'like', `${prefix}-%`).orderBy(['c.email', 'ct.tag']).select('c.email', 'ct.tag')) as Array<{ email: string; tag: string }>;
      return rows.map((row) => `${row.email} ${row.tag}`);
    };
    // The tag for all arrives as it was typed here (the upload form lowercases it; the import must not rely on that).
    const first = await startedImport(2, 'tagged', { tags: 'VIP, Friends', tag: 'Vip' });
    await runImport(t.ctx, first.importId, 'import');
    const once = ['tagged-1@example.test friends', 'tagged-1@example.test vip', 'tagged-2@example.test friends', 'tagged-2@example.test vip'];
    expect(await tagsOf('tagged')).toEqual(once);

    // Again, now as existing customers, with one tag more.
    const again = await startedImport(2, 'tagged', { tags: 'friends, Newsletter', tag: 'VIP' });
    await runImport(t.ctx, again.importId, 'import');
    expect(await tagsOf('tagged')).toEqual([
      'tagged-1@example.test friends', 'tagged-1@example.test newsletter', 'tagged-1@example.test vip',
      'tagged-2@example.test friends', 'tagged-2@example.test newsletter', 'tagged-2@example.test vip',
    ]);
    const record = (await knex('customerImports').where({ id: again.importId }).first()) as CustomerImport;
    expect({ created: record.createdCount, updated: record.updatedCount, rejected: record.rejectedCount }).toEqual({ created: 0, updated: 2, rejected: 0 });
  });
});
