import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../support/agents.js';
import { loginNewStaff } from '../support/dashboard-scene.js';
import { auditOf, getHtmx, postForm, sectionText, triggers } from '../support/dashboard.js';
import { makeCustomer, makeShop } from '../support/factories.js';
import { textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** F-DASH-11 groups and segments on the dashboard; F-CUST-5 tax exempt via an availability group. */
describe('customer dashboard: groups and segments', () => {
  let t: TestApp;
  let shopA: { id: number }, shopB: { id: number };
  let owner: Agent, otherShopStaff: Agent;
  let vip: number, exempt: number, dynamic: number, segment: number;

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    shopA = await makeShop(knex, { code: 'wg-a' });
    shopB = await makeShop(knex, { code: 'wg-b' });
    owner = await loginNewStaff(t, { role: 'owner' });
    otherShopStaff = await loginNewStaff(t, { role: 'manager', shopIds: [shopB.id] });
    [{ id: vip }, { id: exempt }, { id: dynamic }] = await knex('customerGroups')
      .insert([
        { name: 'VIP', kind: 'static' },
        { name: 'Schools', kind: 'static', taxExempt: true },
        { name: 'Friends', kind: 'dynamic', rule: JSON.stringify({ tags: ['friend'], tagMode: 'all', country: [], type: [] }) },
      ])
      .returning('id');
    [{ id: segment }] = await knex('segments').insert({ name: 'Key accounts' }).returning('id');
  });
  afterAll(() => t?.close());

  it('shows the groups (dynamic marked) and edits static groups and segments with htmx', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shopA.id]);
    await knex('customerGroupMembers').insert({ groupId: dynamic, customerId: c.id, source: 'rule' });
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(page.text, 'w-groups')).toContain('Friends dynamic');
    const modal = await getHtmx(owner, `/admin/customers/${c.id}/groups`);
    expect(modal.status).toBe(200);
    expect(textOf(modal.text)).toContain('Dynamic groups follow their rule and cannot be changed here: Friends.');
    expect(modal.text).not.toContain(`name="groups" value="${dynamic}"`);

    const saved = await postForm(owner, `/admin/customers/${c.id}/groups`, { groups: [String(vip), String(exempt)], segments: String(segment) }, { htmx: true });
    expect(saved.status).toBe(200);
    expect(saved.headers['hx-retarget']).toBe('#w-groups');
    expect(triggers(saved)).toMatchObject({ closeModal: { target: 'body' }, infoChanged: { target: 'body' }, timelineChanged: { target: 'body' } });
    expect(textOf(saved.text)).toContain('Schools tax exempt');
    expect(await knex('customerGroupMembers').where({ customerId: c.id }).orderBy('groupId').pluck('group_id')).toEqual([vip, exempt, dynamic].sort((a, b) => a - b));
    expect(await knex('segmentCustomers').where({ customerId: c.id }).pluck('segment_id')).toEqual([segment]);

    // F-CUST-5: tax exempt via the availability group.
    const after = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(after.text, 'w-info')).toContain('tax exempt via group Schools');
    expect(sectionText(after.text, 'w-timeline')).toContain('Added to group VIP');
    expect((await auditOf(knex, c.id)).map((a) => a.action)).toEqual(expect.arrayContaining(['group.member_added', 'segment.member_added']));

    // Plain form: untick everything; the dynamic membership stays.
    const plain = await postForm(owner, `/admin/customers/${c.id}/groups`, {});
    expect(plain.status).toBe(303);
    expect(await knex('customerGroupMembers').where({ customerId: c.id }).pluck('group_id')).toEqual([dynamic]);
    expect(await knex('segmentCustomers').where({ customerId: c.id })).toEqual([]);
    expect(sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-timeline')).toContain('Removed from group Schools');
  });

  it('lets support staff see the groups but not change them (403)', async () => {
    const c = await makeCustomer(t.ctx.knex, [shopA.id], { email: 'support.groups@example.test' });
    const support = await loginNewStaff(t, { role: 'support', shopIds: [shopA.id] });
    const page = await support.get(`/admin/customers/${c.id}`);
    expect(sectionText(page.text, 'w-groups')).not.toContain('Edit groups');
    expect((await getHtmx(support, `/admin/customers/${c.id}/groups`)).status).toBe(403);
    const refused = await postForm(support, `/admin/customers/${c.id}/groups`, { groups: String(vip) });
    expect(refused.status).toBe(403);
    expect(await t.ctx.knex('customerGroupMembers').where({ customerId: c.id }).count({ n: '*' }).first().then((r) => Number(r!.n))).toBe(0);
  });

  it('refuses a dynamic group, unknown ids and arrays of garbage (422), another shop’s customer (404)', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shopA.id]);
    expect((await postForm(owner, `/admin/customers/${c.id}/groups`, { groups: String(dynamic) }, { htmx: true })).status).toBe(422);
    expect((await postForm(owner, `/admin/customers/${c.id}/groups`, { groups: '999999' }, { htmx: true })).status).toBe(422);
    expect((await postForm(owner, `/admin/customers/${c.id}/groups`, { groups: "1' OR 1=1 --" }, { htmx: true })).status).toBe(422);
    expect(await knex('customerGroupMembers').where({ customerId: c.id })).toEqual([]);
    expect((await getHtmx(otherShopStaff, `/admin/customers/${c.id}/groups`)).status).toBe(404);
    expect((await postForm(otherShopStaff, `/admin/customers/${c.id}/groups`, { groups: String(vip) })).status).toBe(404);
    expect(await knex('customerGroupMembers').where({ customerId: c.id })).toEqual([]);
  });
});
