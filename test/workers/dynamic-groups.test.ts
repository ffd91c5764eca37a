import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NIGHTLY_SCHEDULER_ID, RECOMPUTE_ALL_GROUPS } from '../../app/queues/group.queue.js';
import { recomputeDynamicGroup } from '../../app/services/group-rule.service.js';
import { startGroupWorker } from '../../workers/group.worker.js';
import { loginStaff, type Agent } from '../support/agents.js';
import { eventually } from '../support/customer-list.js';
import { postForm } from '../support/dashboard.js';
import { makeCustomer, makeOrder, makeShop, makeStaff } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** F-GRP-2: dynamic groups recomputed by the `groups` queue on save and nightly, on both backends. */
describe.each(['redis', 'postgres'] as const)('dynamic groups (%s backend)', (backend) => {
  let t: TestApp;
  let worker: Awaited<ReturnType<typeof startGroupWorker>>;
  let shop: { id: number };
  let owner: Agent;

  beforeAll(async () => {
    t = await createTestApp({ backend });
    worker = await startGroupWorker(t.ctx);
    shop = await makeShop(t.ctx.knex, { code: `dg-${backend}` });
    owner = await loginStaff(t.app, (await makeStaff(t.ctx.knex, { role: 'owner' })).email);
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  const membersOf = async (groupId: number) => (await t.ctx.knex('customerGroupMembers').where({ groupId }).orderBy('customerId').pluck('customer_id')) as number[];

  it('computes "tag friend AND more than 5 orders" after saving, and again when the data changes (nightly job)', async () => {
    const knex = t.ctx.knex;
    const loyal = await makeCustomer(knex, [shop.id]);
    const fewOrders = await makeCustomer(knex, [shop.id]);
    const untagged = await makeCustomer(knex, [shop.id]);
    await knex('customerTags').insert([{ customerId: loyal.id, tag: 'friend' }, { customerId: fewOrders.id, tag: 'friend' }]);
    for (let i = 0; i < 6; i++) {
      await makeOrder(knex, loyal.id, shop.id, 1000);
      await makeOrder(knex, untagged.id, shop.id, 1000);
    }
    for (let i = 0; i < 5; i++) await makeOrder(knex, fewOrders.id, shop.id, 1000);

    const created = await postForm(owner, '/admin/groups/new', { name: `Loyal ${backend}`, kind: 'dynamic', rule_tags: 'friend', rule_tagmode: 'all', rule_orders_min: '6' });
    expect(created.status).toBe(303);
    const groupId = Number(created.headers.location!.split('/').pop());
    await eventually(async () => ((await membersOf(groupId)).length ? true : undefined), 20_000, 'dynamic group computed');
    expect(await membersOf(groupId)).toEqual([loyal.id]);
    expect((await knex('customerGroupMembers').where({ groupId }).first()).source).toBe('rule');
    expect((await owner.get(`/admin/groups/${groupId}`)).text).toContain(loyal.email);

    // The data changes: the nightly job (its scheduler exists) brings the group up to date.
    await makeOrder(knex, fewOrders.id, shop.id, 1000);
    await knex('customerTags').where({ customerId: loyal.id }).delete();
    const scheduler = await t.ctx.queues.groups.getJobScheduler(NIGHTLY_SCHEDULER_ID);
    expect(scheduler?.pattern).toBe('30 2 * * *');
    await t.ctx.queues.groups.add(RECOMPUTE_ALL_GROUPS, {});
    await eventually(async () => ((await membersOf(groupId)).includes(fewOrders.id) ? true : undefined), 20_000, 'nightly recompute');
    expect(await membersOf(groupId)).toEqual([fewOrders.id]);

    // Idempotent: a second run changes nothing.
    expect(await recomputeDynamicGroup(knex, groupId)).toEqual({ added: 0, removed: 0 });
  });

  it('recomputes in chunks of customer ids with the same result, and changes the rule on edit', async () => {
    const knex = t.ctx.knex;
    const customers = await Promise.all(Array.from({ length: 7 }, () => makeCustomer(knex, [shop.id], { customerType: 'B2B' })));
    const [{ id: groupId }] = await knex('customerGroups').insert({ name: `Chunked ${backend}`, kind: 'dynamic', rule: JSON.stringify({ tags: [], tagMode: 'all', country: [], type: ['B2B'] }) }).returning('id');
    const result = await recomputeDynamicGroup(knex, groupId, { chunk: 2 });
    expect(result!.added).toBeGreaterThanOrEqual(7);
    expect(await membersOf(groupId)).toEqual(expect.arrayContaining(customers.map((c) => c.id)));
    const edit = await postForm(owner, `/admin/groups/${groupId}/edit`, { name: `Chunked ${backend}`, rule_tags: 'nobody-has-this', rule_tagmode: 'all' });
    expect(edit.status).toBe(303);
    await eventually(async () => ((await membersOf(groupId)).length === 0 ? true : undefined), 20_000, 'members removed after the rule changed');
  });
});
