import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plannedRows } from '../../app/db/list-statistics.js';
import { BATCH_LINES, runImport } from '../../app/services/imports/import-run.service.js';
import type { CustomerImport } from '../../app/services/imports/import.service.js';
import { startedImport } from '../support/imports.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * An import of several batches (F-LIST-6), run by the service as the imports worker runs it:
 * batches are merged side by side, each in its own transaction, and a run that stopped half way
 * merges exactly the batches that did not commit when it runs again.
 */

const ROWS = BATCH_LINES * 2 + 1_000; // three batches
const emailOf = (i: number) => `batch-${i}@example.test`;
/** Data row i is on line i + 1 (the header is line 1). */
const DUPLICATE_OF_LAST = 2;
const BAD_EMAIL = 7_000;
const CRASHES_ON = 6_000; // in the second batch

function csvFile(): Buffer {
  const lines = ['Email,First Name,Last Name,Tags'];
  for (let i = 1; i <= ROWS; i++) {
    const email = i === DUPLICATE_OF_LAST ? emailOf(ROWS) : i === BAD_EMAIL ? 'not-an-email' : emailOf(i);
    lines.push(`${email},First${i},Last${i},batch`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

describe('an import of several batches', () => {
  let t: TestApp;
  let importId: number;
  let shopId: number;

  beforeAll(async () => {
    t = await createTestApp();
    ({ importId, shopId } = await startedImport(t, csvFile(), 'batches'));
  });
  afterAll(async () => {
    await t?.ctx.knex.raw('DROP FUNCTION IF EXISTS fail_batch_test() CASCADE');
    await t?.close();
  });

  const importedEmails = async () => new Set((await t.ctx.knex('customers').where('email', 'like', 'batch-%').pluck('email')) as string[]);

  it('stops at a failing batch, keeping the batches that committed and nothing of the failed one', async () => {
    const knex = t.ctx.knex;
    await knex.raw(`
      CREATE FUNCTION fail_batch_test() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.email = '${emailOf(CRASHES_ON)}' THEN RAISE EXCEPTION 'simulated crash'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER fail_batch_test BEFORE INSERT ON customers FOR EACH ROW EXECUTE FUNCTION fail_batch_test();
    `);
    await expect(runImport(t.ctx, importId, 'import')).rejects.toThrow(/simulated crash/);

    const emails = await importedEmails();
    expect(emails.has(emailOf(1))).toBe(true);
    expect(emails.has(emailOf(BATCH_LINES - 1))).toBe(true);
    // The second batch (lines 5,001–10,000, rows 5,000–9,999) rolled back whole.
    for (const i of [BATCH_LINES, CRASHES_ON - 1, CRASHES_ON, BATCH_LINES * 2 - 1]) expect(emails.has(emailOf(i)), emailOf(i)).toBe(false);
    expect((await knex('customerImports').where({ id: importId }).first()).status).toBe('importing');
  });

  it('runs again to the end: every row merged once, the report exact', async () => {
    const knex = t.ctx.knex;
    await knex.raw('DROP TRIGGER fail_batch_test ON customers');
    await runImport(t.ctx, importId, 'import');

    const record = (await knex('customerImports').where({ id: importId }).first()) as CustomerImport & { createdCount: number; updatedCount: number; rejectedCount: number };
    expect(record.status).toBe('done');
    expect({ created: record.createdCount, updated: record.updatedCount, rejected: record.rejectedCount, processed: record.processedRows }).toEqual({
      created: ROWS - 2,
      updated: 0,
      rejected: 2,
      processed: ROWS,
    });
    expect(await knex('customerImportRejections').where({ importId }).orderBy('line').select('line', 'email', 'reason')).toEqual([
      { line: DUPLICATE_OF_LAST + 1, email: emailOf(ROWS), reason: `Duplicate e-mail: line ${ROWS + 1} has the same address and is used instead` },
      { line: BAD_EMAIL + 1, email: 'not-an-email', reason: 'E-mail “not-an-email” is not a valid address' },
    ]);

    expect((await importedEmails()).size).toBe(ROWS - 2);
    const count = async (query: string) => Number((await knex.raw(query)).rows[0].n);
    const ours = "SELECT id FROM customers WHERE email LIKE 'batch-%'";
    expect(await count(`SELECT count(*) AS n FROM customer_tags WHERE tag = 'batch' AND customer_id IN (${ours})`)).toBe(ROWS - 2);
    expect(await count(`SELECT count(*) AS n FROM customer_shops WHERE customer_id IN (${ours})`)).toBe(ROWS - 2);
    // One "imported" entry per customer: the batches that committed in the first run were not merged again.
    expect(await count(`SELECT count(*) AS n FROM audit_log WHERE action = 'customer.imported' AND customer_id IN (${ours})`)).toBe(ROWS - 2);
    expect(await count(`SELECT count(DISTINCT customer_id) AS n FROM audit_log WHERE action = 'customer.imported' AND customer_id IN (${ours})`)).toBe(ROWS - 2);

    // The planner knows the new sizes at once (the list plans the file's tag by them), rather than
    // when autovacuum gets round to it.
    expect(await plannedRows(knex, knex.raw("SELECT 1 FROM customer_tags WHERE tag = 'batch'"))).toBeGreaterThan(ROWS / 2);
    expect(await plannedRows(knex, knex.raw('SELECT 1 FROM customer_shops WHERE shop_id = ?', [shopId]))).toBeGreaterThan(ROWS / 2);
  });
});
