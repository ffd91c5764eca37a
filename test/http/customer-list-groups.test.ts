import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { createBulkOperation, runBulkOperation } from '../../app/services/bulk-action.service.js';
import { newToken } from '../../app/lib/tokens.js';
import { loginStaff, type Agent } from '../support/agents.js';
import { parseCsv } from '../support/csv.js';
import { getList } from '../support/customer-list.js';
import { makeCustomer, makeShop, makeStaff } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** F-LIST-2: the group, segment and business account filters of the customer list. */
describe('customer list: group, segment and business account filters', () => {
  let t: TestApp;
  let shopA: { id: number }, shopB: { id: number };
  let owner: Agent, manager: Agent;
  let groupId: number, otherGroupId: number, segmentId: number, businessId: number;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    shopA = await makeShop(knex, { code: 'lg-a' });
    shopB = await makeShop(knex, { code: 'lg-b' });
    owner = await loginStaff(t.app, (await makeStaff(knex, { role: 'owner' })).email);
    manager = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [shopA.id] })).email);
    for (const name of ['inGroup', 'inBoth', 'direct', 'viaOther', 'business', 'nobody']) ids[name] = (await makeCustomer(knex, [shopA.id], { lastName: name })).id;
    ids.otherShop = (await makeCustomer(knex, [shopB.id], { lastName: 'otherShop' })).id;
    [{ id: groupId }, { id: otherGroupId }] = await knex('customerGroups').insert([{ name: "VIP ' OR 1=1 --", kind: 'static' }, { name: 'Other', kind: 'static' }]).returning('id');
    await knex('customerGroupMembers').insert([ids.inGroup, ids.inBoth, ids.otherShop].map((customerId) => ({ groupId, customerId, source: 'manual' })));
    await knex('customerGroupMembers').insert({ groupId: otherGroupId, customerId: ids.viaOther, source: 'manual' });
    [{ id: segmentId }] = await knex('segments').insert({ name: '<script>seg</script>' }).returning('id');
    await knex('segmentCustomers').insert([{ segmentId, customerId: ids.direct }, { segmentId, customerId: ids.inBoth }]);
    await knex('segmentGroups').insert({ segmentId, groupId: otherGroupId });
    [{ id: businessId }] = await knex('businessAccounts').insert({ name: 'Acme' }).returning('id');
    await knex('customers').where({ id: ids.business }).update({ businessAccountId: businessId });
    await knex('customerTags').insert({ customerId: ids.inBoth, tag: 'gold' });
  });
  afterAll(() => t?.close());

  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

  it('filters by group with a removable chip, and keeps to the staff member’s shops', async () => {
    const page = await getList(owner, `/admin/customers?shop=all&group=${groupId}`);
    expect(sorted(page.ids)).toEqual(sorted([ids.inGroup!, ids.inBoth!, ids.otherShop!]));
    const chip = page.chips.find((c) => c.label.startsWith('Group:'))!;
    expect(chip.label).toBe("Group: VIP ' OR 1=1 --");
    expect(chip.removeUrl).toBe('/admin/customers?shop=all');
    const scoped = await getList(manager, `/admin/customers?group=${groupId}`);
    expect(sorted(scoped.ids)).toEqual(sorted([ids.inGroup!, ids.inBoth!]));
    // The filter form offers the group.
    expect(page.html).toContain(`<option value="${groupId}" selected>VIP &#39; OR 1=1 --</option>`);
  });

  it('filters by segment: its own customers and the members of its groups', async () => {
    const page = await getList(owner, `/admin/customers?shop=all&segment=${segmentId}`);
    expect(sorted(page.ids)).toEqual(sorted([ids.direct!, ids.inBoth!, ids.viaOther!]));
    expect(page.chips.map((c) => c.label)).toContain('Segment: <script>seg</script>');
    expect(page.html).not.toContain('<script>seg</script>');
  });

  it('exports and bulk-tags exactly a segment’s customers (read from its members)', async () => {
    const csv = await owner.get(`/admin/customers/export.csv?shop=all&segment=${segmentId}`).buffer(true);
    expect(csv.status).toBe(200);
    const [header, ...rows] = parseCsv(csv.text).filter((row) => row.length > 1);
    const idColumn = header!.indexOf('id');
    expect(sorted(rows.map((row) => Number(row[idColumn])))).toEqual(sorted([ids.direct!, ids.inBoth!, ids.viaOther!]));

    const knex = t.ctx.knex;
    const staffId = (await knex('staffUsers').where({ role: 'owner' }).first('id')).id as number;
    const selection = { source: { kind: 'all' as const }, q: '', filters: parseCustomerListQuery({ segment: String(segmentId) }).filters, scope: 'all' as const, salesTeamId: null };
    const { id } = await createBulkOperation(knex, staffId, { key: newToken(), action: 'add_tag', tag: 'in-segment', selection });
    await runBulkOperation(knex, id);
    const tagged = (await knex('customerTags').where({ tag: 'in-segment' }).select('customerId')).map((row) => Number(row.customerId));
    expect(sorted(tagged)).toEqual(sorted([ids.direct!, ids.inBoth!, ids.viaOther!]));
  });

  it('filters by business account and combines with the other filters', async () => {
    expect((await getList(owner, `/admin/customers?shop=all&business=${businessId}`)).ids).toEqual([ids.business]);
    expect((await getList(owner, `/admin/customers?shop=all&group=${groupId}&tag=gold`)).ids).toEqual([ids.inBoth]);
    expect((await getList(owner, `/admin/customers?shop=all&group=${groupId}&segment=${segmentId}`)).ids).toEqual([ids.inBoth]);
    const count = await owner.get(`/admin/customers/count?shop=all&group=${groupId}`).set('HX-Request', 'true');
    expect(count.text).toContain('3');
  });

  it('ignores ids that name nothing or are not ids, and says so', async () => {
    const page = await getList(owner, `/admin/customers?shop=all&group=999999&segment=abc&business=${encodeURIComponent("1' OR 1=1 --")}`);
    expect(page.status).toBe(200);
    expect(page.ignored).toContain('group “999999” (there is no such group)');
    expect(page.ignored).toContain('segment “abc”');
    expect(page.ignored).toContain('business account “1&#39; OR 1=1 --”'.replace('&#39;', "'"));
    expect(page.ids.length).toBe(7);
  });
});
