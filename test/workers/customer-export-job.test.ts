import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { createCustomerExport, EXPORT_COLUMNS, INLINE_EXPORT_LIMIT, runCustomerExport } from '../../app/services/customer-export.service.js';
import { startExportWorker } from '../../workers/export.worker.js';
import type { Agent } from '../support/agents.js';
import { csrfFrom, loginStaff } from '../support/agents.js';
import { csvRecords } from '../support/csv.js';
import { eventually, insertManyCustomers } from '../support/customer-list.js';
import { makeCustomer, makeShop, makeStaff } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Large exports of the customer list (F-LIST-6) run as a job: the Export button creates it once per
 * form, a progress page polls until the file is written, and only the staff member who asked may
 * download it, until it expires.
 */

const newKey = () => randomBytes(16).toString('hex');

describe.each(['redis', 'postgres'] as const)('customer export job (%s backend)', (backend) => {
  let t: TestApp;
  let worker: ReturnType<typeof startExportWorker>;
  let shopA: { id: number; code: string }, shopB: { id: number; code: string };
  let owner: Agent, manager: Agent;
  let idsA: number[];
  let idsB: number[];
  let formula: { id: number };

  beforeAll(async () => {
    t = await createTestApp({ backend });
    worker = startExportWorker(t.ctx, { sweepEveryMs: 60_000 });
    const knex = t.ctx.knex;
    shopA = await makeShop(knex, { code: `exp-a-${backend}` });
    shopB = await makeShop(knex, { code: `exp-b-${backend}` });
    idsA = await insertManyCustomers(knex, INLINE_EXPORT_LIMIT + 40, { emailPrefix: `many-${backend}-`, shopIds: [shopA.id] });
    formula = await makeCustomer(knex, [shopA.id], { firstName: '=cmd|"/c calc"!A1', email: `formula-${backend}@example.test` });
    idsA.push(formula.id);
    idsB = await insertManyCustomers(knex, 3, { emailPrefix: `other-${backend}-`, shopIds: [shopB.id] });
    owner = await loginStaff(t.app, (await makeStaff(knex, { role: 'owner' })).email);
    manager = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [shopA.id] })).email);
  }, 60_000);
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  async function postExport(agent: Agent, query: string, key = newKey()) {
    const page = await agent.get(`/admin/customers?${query}`);
    expect(page.text).toContain('action="/admin/customers/exports"');
    return agent.post('/admin/customers/exports').type('form').send({ _csrf: csrfFrom(page.text), key, query });
  }

  it('sends a small result straight to the streamed download', async () => {
    const response = await postExport(owner, `shop=${shopB.id}`);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/admin/customers/export.csv?shop=${shopB.id}`);
    const csv = await owner.get(response.headers.location!).buffer(true);
    expect(csvRecords(csv.text).records.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(idsB);
  });

  it('runs a large export as one job, shows its progress and offers the file when it is written', async () => {
    const key = newKey();
    const first = await postExport(owner, `shop=${shopA.id}`, key);
    expect(first.status).toBe(303);
    const location = first.headers.location!;
    expect(location).toMatch(/^\/admin\/customers\/exports\/\d+$/);
    // The same form sent twice: one export.
    expect((await postExport(owner, `shop=${shopA.id}`, key)).headers.location).toBe(location);
    expect(Number((await t.ctx.knex('customerExports').where({ idempotencyKey: key }).count({ n: '*' }).first())!.n)).toBe(1);

    const ready = await eventually(async () => {
      const progress = await owner.get(location).set('HX-Request', 'true');
      expect(progress.status).toBe(200);
      return progress.text.includes('Download CSV') ? progress.text : undefined;
    }, 60_000, 'the export to finish');
    expect(ready).toContain(`Ready: ${(idsA.length).toLocaleString('en-GB')} customers`);
    expect(ready).not.toContain('hx-trigger="every 1s"');

    const download = await owner.get(`${location}/download`).buffer(true);
    expect(download.status).toBe(200);
    expect(download.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(download.headers['content-disposition']).toMatch(new RegExp(`^attachment; filename="customers-${shopA.code}-\\d{4}-\\d{2}-\\d{2}\\.csv"$`));
    expect(download.headers['x-content-type-options']).toBe('nosniff');
    const { header, records } = csvRecords(download.text);
    expect(header).toEqual([...EXPORT_COLUMNS]);
    expect(records.map((r) => Number(r.id))).toEqual([...idsA].sort((a, b) => a - b));
    expect(records.find((r) => Number(r.id) === formula.id)!.first_name).toBe(`'=cmd|"/c calc"!A1`);
    expect(await t.ctx.knex('auditLog').where({ action: 'customers.exported' }).whereRaw("changes->>'rows' = ?", [String(idsA.length)]).first()).toBeTruthy();
  }, 90_000);

  it('shows an export and its file only to the staff member who asked for it', async () => {
    const response = await postExport(owner, `shop=${shopA.id}`);
    const location = response.headers.location!;
    await eventually(async () => ((await owner.get(location)).text.includes('Download CSV') ? true : undefined), 60_000, 'the export');
    expect((await manager.get(location)).status).toBe(404);
    expect((await manager.get(`${location}/download`)).status).toBe(404);
    expect((await owner.get('/admin/customers/exports/abc')).status).toBe(404);
    expect((await owner.get('/admin/customers/exports/999999999/download')).status).toBe(404);
  }, 90_000);

  it('exports nothing a staff member no longer may see when the job runs', async () => {
    const knex = t.ctx.knex;
    const staff = await makeStaff(knex, { role: 'manager', shopIds: [shopA.id] });
    const job = await createCustomerExport(knex, staff.id, { key: newKey(), selection: { source: { kind: 'shop', shopId: shopA.id }, q: '', filters: parseCustomerListQuery({}).filters, salesTeamId: null }, fileName: 'x.csv' });
    await knex('staffShopScopes').where({ staffUserId: staff.id }).delete();
    await runCustomerExport(knex, t.ctx.files, job.id);
    expect(await knex('customerExports').where({ id: job.id }).first('status', 'error', 'storageKey')).toEqual({ status: 'failed', error: 'You no longer have access to these customers', storageKey: null });
  });

  it('deletes the file when the export expires and says so', async () => {
    const response = await postExport(owner, `shop=${shopA.id}`);
    const location = response.headers.location!;
    await eventually(async () => ((await owner.get(location)).text.includes('Download CSV') ? true : undefined), 60_000, 'the export');
    const id = Number(location.split('/').pop());
    const { storageKey } = await t.ctx.knex('customerExports').where({ id }).first('storageKey');
    expect(await t.ctx.files.exists(storageKey)).toBe(true);
    await t.ctx.knex('customerExports').where({ id }).update({ expiresAt: new Date(Date.now() - 1000) });
    // Expired is expired, also before the sweep has removed the file.
    expect((await owner.get(`${location}/download`)).status).toBe(404);
    await worker.sweep();
    expect(await t.ctx.files.exists(storageKey)).toBe(false);
    expect((await owner.get(location)).text).toContain('This export has expired');
    expect((await owner.get(`${location}/download`)).status).toBe(404);
  }, 90_000);

  it('refuses a form without its key and never exports another shop for a scoped manager', async () => {
    const page = await owner.get('/admin/customers');
    const bad = await owner.post('/admin/customers/exports').type('form').send({ _csrf: csrfFrom(page.text), query: `shop=${shopA.id}` });
    expect(bad.status).toBe(303);
    expect(bad.headers.location).toBe('/admin/customers');
    // A manager of shop A asking for shop B gets their own shop (the list's rule), never shop B.
    const scoped = await postExport(manager, `shop=${shopB.id}`);
    expect(scoped.headers.location).toMatch(/^\/admin\/customers\/exports\/\d+$/);
    const text = await eventually(async () => {
      const progress = await manager.get(scoped.headers.location!);
      return progress.text.includes('Download CSV') ? progress.text : undefined;
    }, 60_000, 'the export');
    expect(text).toContain(shopA.code);
    const csv = await manager.get(`${scoped.headers.location}/download`).buffer(true);
    const ids = new Set(csvRecords(csv.text).records.map((r) => Number(r.id)));
    expect(idsB.some((id) => ids.has(id))).toBe(false);
  }, 90_000);
});
