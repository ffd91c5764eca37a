import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_REMOVED } from '../../app/services/imports/import-sweep.service.js';
import { createImport, startImportRun } from '../../app/services/imports/import.service.js';
import { loadStaffPrincipal } from '../../app/services/staff.service.js';
import { startImportWorker } from '../../workers/import.worker.js';
import { eventually } from '../support/customer-list.js';
import { makeShop, makeStaff } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * The imports worker's sweep (F-LIST-6): an import whose job never reached the queue is picked up
 * again, uploaded files are deleted a week after the upload unless their import is running, and
 * the staged lines of a run that gave up are deleted.
 */

const SHOPIFY = path.resolve('test/fixtures/imports/shopify-customers.csv');

describe.each(['redis', 'postgres'] as const)('import sweep (%s backend)', (backend) => {
  let t: TestApp;
  let worker: ReturnType<typeof startImportWorker>;
  let shopId: number;
  let staffId: number;

  beforeAll(async () => {
    t = await createTestApp({ backend });
    // The timer never fires during the test: each test runs the sweep itself.
    worker = startImportWorker(t.ctx, { sweepEveryMs: 3_600_000, strandedAfterSeconds: 60, keepFilesDays: 7 });
    shopId = (await makeShop(t.ctx.knex, { code: `sweep-${backend}` })).id;
    staffId = (await makeStaff(t.ctx.knex, { role: 'owner' })).id;
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  /** An uploaded file whose analysis job was never enqueued (the queue was down), uploaded `agoSeconds` ago. */
  async function strandedUpload(agoSeconds: number, status?: string) {
    const stored = await t.ctx.files.receive(Readable.from(await readFile(SHOPIFY)));
    const id = await createImport(t.ctx.knex, { staffId, shopId, originalName: 'customers.csv', storageKey: stored.key, byteSize: stored.bytes, format: 'csv', tag: null });
    await t.ctx.knex('customerImports').where({ id }).update({ createdAt: new Date(Date.now() - agoSeconds * 1000), ...(status ? { status } : {}) });
    return { id, key: stored.key };
  }
  const statusOf = async (id: number) => t.ctx.knex('customerImports').where({ id }).first('status', 'resultOf', 'error', 'fileRemovedAt', 'rowCount');

  it('enqueues the analysis and a started run again when their job was lost, and only after the grace period', async () => {
    const fresh = await strandedUpload(5);
    const stranded = await strandedUpload(300);
    await worker.sweep();
    const analysed = await eventually(async () => ((await statusOf(stranded.id)).status === 'ready' ? statusOf(stranded.id) : undefined), 20_000, 'the analysis');
    expect(analysed.rowCount).toBeGreaterThan(0);
    expect((await statusOf(fresh.id)).status).toBe('uploaded');

    // A dry run started while the queue was down: the sweep hands it to the worker.
    const staff = (await loadStaffPrincipal(t.ctx.knex, staffId))!;
    const mapping = (await t.ctx.knex('customerImports').where({ id: stranded.id }).first('mapping')).mapping;
    await startImportRun(t.ctx.knex, staff, stranded.id, { mapping, tag: null, mode: 'dry_run' });
    await worker.sweep();
    await worker.sweep(); // a second sweep while the job waits or runs adds nothing (same job id)
    const dryRun = await eventually(async () => {
      const row = await statusOf(stranded.id);
      return row.status === 'ready' && row.resultOf === 'dry_run' ? row : undefined;
    }, 20_000, 'the dry run');
    expect(dryRun.error).toBeNull();
  });

  it('deletes week-old uploads unless their import is running, and says why an unfinished one cannot run', async () => {
    const week = 8 * 86_400;
    const abandoned = await strandedUpload(week, 'ready');
    const finished = await strandedUpload(week, 'done');
    const running = await strandedUpload(week, 'importing');
    const recent = await strandedUpload(3_600, 'ready');
    // The sweep hands the busy import to the worker again; paused, the worker cannot run it to the
    // end (and remove its file, as a finished import does) while this test looks at the files.
    await t.ctx.knex('customerImports').where({ id: running.id }).update({ runCount: 1 });
    await worker.worker.pause();
    await worker.sweep();

    expect(await t.ctx.files.exists(abandoned.key)).toBe(false);
    expect(await statusOf(abandoned.id)).toMatchObject({ status: 'failed', error: FILE_REMOVED(7), fileRemovedAt: expect.any(Date) });
    expect(await t.ctx.files.exists(finished.key)).toBe(false);
    expect(await statusOf(finished.id)).toMatchObject({ status: 'done', fileRemovedAt: expect.any(Date) });
    expect(await t.ctx.files.exists(running.key)).toBe(true);
    expect(await t.ctx.files.exists(recent.key)).toBe(true);
    expect(await statusOf(recent.id)).toMatchObject({ status: 'ready', fileRemovedAt: null });
  });

  it("deletes the staged lines of a run that gave up, and keeps a running one's", async () => {
    await worker.worker.pause();
    const gaveUp = await strandedUpload(5, 'failed');
    const running = await strandedUpload(5, 'importing');
    for (const { id } of [gaveUp, running]) {
      await t.ctx.knex('customerImportRows').insert([2, 3, 4].map((line) => ({ importId: id, line, email: `line${line}@example.test` })));
    }
    await worker.sweep();
    const left = await t.ctx.knex('customerImportRows').whereIn('importId', [gaveUp.id, running.id]).orderBy('line').select('importId', 'line');
    expect(left.map((row) => [Number(row.importId), row.line])).toEqual([2, 3, 4].map((line) => [running.id, line]));
    expect((await statusOf(gaveUp.id)).status).toBe('failed');
  });
});
