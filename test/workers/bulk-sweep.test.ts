import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { createBulkOperation } from '../../app/services/bulk-action.service.js';
import { startBulkWorker } from '../../workers/bulk.worker.js';
import { eventually } from '../support/customer-list.js';
import { makeCustomer, makeShop, makeStaff } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** A bulk operation whose job never reached the queue (e.g. Redis was down) is run by the workers' sweep. */
describe.each(['redis', 'postgres'] as const)('bulk operation sweep (%s backend)', (backend) => {
  let t: TestApp;
  let worker: ReturnType<typeof startBulkWorker> | undefined;

  beforeAll(async () => {
    t = await createTestApp({ backend });
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  it('enqueues an operation left queued and runs it to the end', async () => {
    const knex = t.ctx.knex;
    const shop = await makeShop(knex);
    const staff = await makeStaff(knex);
    const customers = [await makeCustomer(knex, [shop.id]), await makeCustomer(knex, [shop.id])];
    const filters = parseCustomerListQuery({}).filters;
    // Recorded as the HTTP handler does, but never handed to the queue.
    const { id } = await createBulkOperation(knex, staff.id, {
      key: randomBytes(16).toString('hex'),
      action: 'add_tag',
      tag: 'swept',
      selection: { source: { kind: 'shop', shopId: shop.id }, q: '', filters, scope: 'all', salesTeamId: null },
    });

    worker = startBulkWorker(t.ctx, { sweepEveryMs: 100, strandedAfterSeconds: 0 });
    await eventually(async () => ((await knex('bulkOperations').where({ id }).first('status')).status === 'done' ? true : undefined), 15_000, 'the swept operation to finish');

    const tagged = await knex('customerTags').where({ tag: 'swept' }).select('customerId');
    expect(tagged.map((row: { customerId: number }) => row.customerId).sort()).toEqual(customers.map((c) => c.id).sort());
    expect(await knex('bulkOperations').where({ id }).first('processed', 'changed')).toEqual({ processed: 2, changed: 2 });
  });
});
