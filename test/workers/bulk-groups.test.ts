import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBulkWorker } from '../../workers/bulk.worker.js';
import { csrfFrom, loginStaff, type Agent } from '../support/agents.js';
import { auditOf } from '../support/dashboard.js';
import { eventually } from '../support/customer-list.js';
import { makeCustomer, makeShop, makeStaff } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { textOf } from '../support/html.js';

/** F-LIST-5 / F-GRP-6: "add to group" and "remove from group" bulk actions, run by the bulk worker. */
describe.each(['redis', 'postgres'] as const)('group bulk actions (%s backend)', (backend) => {
  let t: TestApp;
  let worker: ReturnType<typeof startBulkWorker>;
  let shopA: { id: number }, shopB: { id: number };
  let owner: Agent, manager: Agent, rep: Agent;
  let groupId: number, dynamicId: number;

  beforeAll(async () => {
    t = await createTestApp({ backend });
    worker = startBulkWorker(t.ctx);
    const knex = t.ctx.knex;
    shopA = await makeShop(knex, { code: `bg-a-${backend}` });
    shopB = await makeShop(knex, { code: `bg-b-${backend}` });
    owner = await loginStaff(t.app, (await makeStaff(knex, { role: 'owner' })).email);
    manager = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [shopA.id] })).email);
    rep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shopA.id] })).email);
    [{ id: groupId }, { id: dynamicId }] = await knex('customerGroups')
      .insert([{ name: `Bulk VIP ${backend}`, kind: 'static' }, { name: `Bulk dynamic ${backend}`, kind: 'dynamic', rule: JSON.stringify({ tags: ['x'], tagMode: 'all', country: [], type: [] }) }])
      .returning('id');
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  async function submit(agent: Agent, fields: { action: string; groupId?: string; target: 'all' | 'selected'; query: string; ids?: number[] }) {
    const page = await agent.get(`/admin/customers?${fields.query}`);
    const key = /<form id="bulk-form"[\s\S]*?name="key" value="([^"]+)"/.exec(page.text)![1]!;
    const body = new URLSearchParams({ _csrf: csrfFrom(page.text), key, action: fields.action, target: fields.target, query: fields.query });
    if (fields.groupId !== undefined) body.set('groupId', fields.groupId);
    for (const id of fields.ids ?? []) body.append('ids', String(id));
    return agent.post('/admin/customers/bulk').type('form').send(body.toString());
  }
  async function run(agent: Agent, fields: Parameters<typeof submit>[1]) {
    const response = await submit(agent, fields);
    expect(response.status, response.text).toBe(303);
    return eventually(async () => {
      const text = (await agent.get(response.headers.location!)).text;
      return text.includes('Done:') ? text : undefined;
    }, 30_000);
  }
  const members = async () => (await t.ctx.knex('customerGroupMembers').where({ groupId }).orderBy('customerId').pluck('customer_id')) as number[];

  it('adds the customers matching a filter to a static group, idempotently, and removes them again', async () => {
    const knex = t.ctx.knex;
    const picked = await Promise.all([1, 2, 3].map(() => makeCustomer(knex, [shopA.id])));
    await knex('customerTags').insert(picked.map((c) => ({ customerId: c.id, tag: `bg-${backend}` })));
    const text = await run(owner, { action: 'add_to_group', groupId: String(groupId), target: 'all', query: `shop=all&tag=bg-${backend}` });
    expect(textOf(text)).toContain(`Add to group “Bulk VIP ${backend}”`);
    expect(text).toContain('Done: 3 added of 3 customers');
    expect(await members()).toEqual(picked.map((c) => c.id).sort((a, b) => a - b));
    expect((await auditOf(knex, picked[0]!.id))[0]).toMatchObject({ action: 'group.member_added', changes: { via: 'bulk action' } });
    const again = await run(owner, { action: 'add_to_group', groupId: String(groupId), target: 'all', query: `shop=all&tag=bg-${backend}` });
    expect(again).toContain('Done: 0 added of 3 customers');
    // The list filter by group shows them; remove the ticked one.
    const removed = await run(owner, { action: 'remove_from_group', groupId: String(groupId), target: 'selected', ids: [picked[0]!.id], query: `shop=all&group=${groupId}` });
    expect(removed).toContain('Done: 1 removed of 1 customers');
    expect(await members()).toEqual([picked[1]!.id, picked[2]!.id].sort((a, b) => a - b));
  });

  it('never touches another shop’s customers, refuses dynamic or missing groups, and lets a sales rep act like with tags', async () => {
    const knex = t.ctx.knex;
    const theirs = await makeCustomer(knex, [shopB.id]);
    const ours = await makeCustomer(knex, [shopA.id]);
    await run(manager, { action: 'add_to_group', groupId: String(groupId), target: 'selected', ids: [theirs.id], query: `shop=${shopB.id}` });
    expect(await members()).not.toContain(theirs.id);
    await knex('customerGroupMembers').insert({ groupId, customerId: theirs.id, source: 'manual' });
    await run(manager, { action: 'remove_from_group', groupId: String(groupId), target: 'all', query: '' });
    expect(await members()).toEqual([theirs.id]);

    for (const bad of [String(dynamicId), '', '999999', "1' OR 1=1 --"]) {
      const refused = await submit(owner, { action: 'add_to_group', groupId: bad, target: 'selected', ids: [ours.id], query: '' });
      expect(refused.status).toBe(303);
      expect(refused.headers.location).toBe('/admin/customers');
    }
    expect(await knex('bulkOperations').where('action', 'add_to_group').where('params', '@>', JSON.stringify({ groupId: dynamicId }))).toEqual([]);

    const page = await rep.get('/admin/customers');
    expect(page.text).toContain('value="add_to_group"');
    await run(rep, { action: 'add_to_group', groupId: String(groupId), target: 'selected', ids: [ours.id], query: '' });
    expect(await members()).toContain(ours.id);
  });
});
