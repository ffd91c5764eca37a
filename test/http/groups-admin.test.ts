import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentFor, loginStaff, type Agent } from '../support/agents.js';
import { loginNewStaff } from '../support/dashboard-scene.js';
import { auditOf, postForm } from '../support/dashboard.js';
import { makeCustomer, makeSalesTeam, makeShop, makeStaff } from '../support/factories.js';
import { fieldError, textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** /admin/groups (F-GRP-2, F-GRP-3, F-GRP-6): groups, batch connect, segments; roles and scope. */
describe('admin groups and segments', () => {
  let t: TestApp;
  let shopA: { id: number }, shopB: { id: number };
  let owner: Agent, manager: Agent, rep: Agent, support: Agent;

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    shopA = await makeShop(knex, { code: 'grp-a' });
    shopB = await makeShop(knex, { code: 'grp-b' });
    owner = await loginNewStaff(t, { role: 'owner' });
    manager = await loginNewStaff(t, { role: 'manager', shopIds: [shopA.id] });
    rep = await loginNewStaff(t, { role: 'sales_rep', shopIds: [shopA.id] });
    support = await loginNewStaff(t, { role: 'support', shopIds: [shopA.id] });
  });
  afterAll(() => t?.close());

  const createGroup = (agent: Agent, fields: Record<string, string>) => postForm(agent, '/admin/groups/new', { kind: 'static', ...fields });
  const groupId = (location: string) => Number(location.split('/').pop());

  it('lists groups and segments, and creates a static group shown on its page', async () => {
    const created = await createGroup(owner, { name: 'Wholesale friends', description: 'Hand-picked', discountPercent: '7.5', taxExempt: 'on' });
    expect(created.status).toBe(303);
    const id = groupId(created.headers.location!);
    const stored = await t.ctx.knex('customerGroups').where({ id }).first();
    expect(stored).toMatchObject({ name: 'Wholesale friends', kind: 'static', taxExempt: true, rule: null });
    expect(Number(stored.discountPercent)).toBe(7.5);
    const page = await owner.get(`/admin/groups/${id}`);
    expect(page.status).toBe(200);
    expect(textOf(page.text)).toContain('Wholesale friends Static Tax exempt');
    const list = await owner.get('/admin/groups');
    expect(list.text).toContain('<a href="/admin/groups/new">New group</a>'.replace('<a href', '<a class="button button-primary" href'));
    expect(textOf(list.text)).toContain('Wholesale friends Hand-picked Static 0 Yes (availability group) 7.5 %');
    // The nav links to the contract page.
    expect(list.text).toContain('href="/admin/groups" aria-current=page');
  });

  it('refuses bad input with field messages: empty, too long, duplicate, bad rule values', async () => {
    const empty = await createGroup(owner, { name: '   ' });
    expect(empty.status).toBe(422);
    expect(fieldError(empty.text, 'name')).toBe('Name is required.');
    const long = await createGroup(owner, { name: 'x'.repeat(500) });
    expect(long.status).toBe(422);
    expect(fieldError(long.text, 'name')).toBe('Name must be at most 120 characters.');
    expect((await createGroup(owner, { name: 'Twice' })).status).toBe(303);
    const duplicate = await createGroup(owner, { name: 'twice' });
    expect(duplicate.status).toBe(422);
    expect(fieldError(duplicate.text, 'name')).toBe('Another group already has this name.');

    const badRule = await createGroup(owner, { name: 'Bad rule', kind: 'dynamic', rule_orders_min: 'five', rule_spent_max: '-3', rule_country: 'Germany', rule_created_from: '2026-02-31x' });
    expect(badRule.status).toBe(422);
    expect(fieldError(badRule.text, 'rule_orders_min')).toBe('Minimum orders must be a whole number like 5.');
    expect(fieldError(badRule.text, 'rule_spent_max')).toBe('Maximum spent must be an amount like 250 or 99.50.');
    expect(fieldError(badRule.text, 'rule_country')).toContain('is not a two-letter country code');
    expect(fieldError(badRule.text, 'rule_created_from')).toBe('Created from must be a date like 2026-01-31.');
    // Year 0 is a date in ISO 8601 but not in PostgreSQL's calendar.
    const yearZero = await createGroup(owner, { name: 'Year zero', kind: 'dynamic', rule_created_to: '0000-01-01' });
    expect(yearZero.status).toBe(422);
    expect(fieldError(yearZero.text, 'rule_created_to')).toBe('Created until must be a date like 2026-01-31.');
    const noCondition = await createGroup(owner, { name: 'Everyone', kind: 'dynamic' });
    expect(noCondition.status).toBe(422);
    expect(fieldError(noCondition.text, 'rule_tags')).toContain('at least one condition');
    const wrongKind = await createGroup(owner, { name: 'Odd', kind: 'sometimes' });
    expect(wrongKind.status).toBe(422);
    // An array where a string is expected is a malformed request.
    const array = await postForm(owner, '/admin/groups/new', { name: ['a', 'b'], kind: 'static' });
    expect(array.status).toBe(400);
    expect(await t.ctx.knex('customerGroups').whereIn('name', ['Bad rule', 'Everyone', 'Odd']).first()).toBeUndefined();
  });

  it('renders <script> inert and stores SQL-looking text literally', async () => {
    const script = await createGroup(owner, { name: '<script>alert(1)</script>', description: '<img src=x onerror=alert(1)>' });
    expect(script.status).toBe(303);
    const page = await owner.get(script.headers.location!);
    expect(page.text).not.toContain('<script>alert(1)</script>');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.text).not.toContain('<img src=x');
    const sql = await createGroup(owner, { name: "' OR 1=1 --" });
    expect(sql.status).toBe(303);
    expect(await t.ctx.knex('customerGroups').where({ id: groupId(sql.headers.location!) }).first('name')).toEqual({ name: "' OR 1=1 --" });
  });

  it('batch connects pasted e-mails, reports the ones not found and the garbage lines, and never adds another shop’s customers', async () => {
    const knex = t.ctx.knex;
    const a1 = await makeCustomer(knex, [shopA.id], { email: 'batch-a1@example.test' });
    const a2 = await makeCustomer(knex, [shopA.id], { email: 'batch-a2@example.test' });
    const b1 = await makeCustomer(knex, [shopB.id], { email: 'batch-b1@example.test' });
    const id = groupId((await createGroup(owner, { name: 'Batch target' })).headers.location!);
    const text = `Batch-A1@example.test\nbatch-a2@example.test, batch-b1@example.test;nobody@example.test\n<script>x</script>\n' OR 1=1 --\n\nbatch-a1@example.test`;
    const response = await postForm(manager, `/admin/groups/${id}/batch`, { emails: text });
    expect(response.status).toBe(200);
    const report = textOf(/<div class="flash flash-success" role="status" id="batch-report">[\s\S]*?<\/div>/.exec(response.text)![0]);
    expect(report).toBe('Added 2 of 4 addresses; 2 not found; 2 not e-mail addresses.');
    const notFound = textOf(/<ul class="small report-list" id="not-found">[\s\S]*?<\/ul>/.exec(response.text)![0]);
    expect(notFound).toBe('batch-b1@example.test nobody@example.test');
    expect(response.text).not.toContain('<script>x</script>');
    const members = await knex('customerGroupMembers').where({ groupId: id }).orderBy('customerId').select('customerId', 'source');
    expect(members).toEqual([
      { customerId: a1.id, source: 'manual' },
      { customerId: a2.id, source: 'manual' },
    ]);
    expect((await auditOf(knex, a1.id))[0]).toMatchObject({ action: 'group.member_added', changes: { group: 'Batch target', via: 'batch connect' } });
    expect(await auditOf(knex, b1.id)).toEqual([]);

    // Again: nothing new, both already members.
    const again = await postForm(manager, `/admin/groups/${id}/batch`, { emails: 'batch-a1@example.test, batch-a2@example.test' });
    expect(textOf(again.text)).toContain('Added 0 of 2 addresses; 2 already members.');

    // The owner adds the other shop's customer; the manager sees the count but not the member.
    await postForm(owner, `/admin/groups/${id}/batch`, { emails: 'batch-b1@example.test' });
    const managerView = await manager.get(`/admin/groups/${id}`);
    expect(textOf(managerView.text)).toContain('3 members · 2 in your shops (1 outside your shops are not listed)');
    expect(managerView.text).not.toContain('batch-b1@example.test');
    const ownerView = await owner.get(`/admin/groups/${id}`);
    expect(ownerView.text).toContain('batch-b1@example.test');
    // Nor can the manager remove them.
    expect((await postForm(manager, `/admin/groups/${id}/members/${b1.id}/remove`, {})).status).toBe(404);
    const removed = await postForm(manager, `/admin/groups/${id}/members/${a2.id}/remove`, {});
    expect(removed.status).toBe(303);
    expect(await knex('customerGroupMembers').where({ groupId: id }).pluck('customer_id')).not.toContain(a2.id);

    const empty = await postForm(manager, `/admin/groups/${id}/batch`, { emails: ' \n ' });
    expect(empty.status).toBe(422);
    expect(fieldError(empty.text, 'emails')).toBe('Paste at least one e-mail address.');
    const tooMany = await postForm(owner, `/admin/groups/${id}/batch`, { emails: Array.from({ length: 10_001 }, (_, i) => `many${i}@example.test`).join('\n') });
    expect(tooMany.status).toBe(422);
    expect(fieldError(tooMany.text, 'emails')).toContain('Paste at most 10,000 addresses');

    // An erased customer's placeholder address finds no one (F-CUST-9: the record takes no changes).
    const erased = await makeCustomer(knex, [shopA.id], { email: 'batch-erased@example.test' });
    await knex('customers').where({ id: erased.id }).update({ email: `erased-${erased.id}@erased.invalid`, erasedAt: new Date() });
    const erasedReport = await postForm(owner, `/admin/groups/${id}/batch`, { emails: `erased-${erased.id}@erased.invalid` });
    expect(textOf(erasedReport.text)).toContain('Added 0 of 1 address; 1 not found.');
    expect(await knex('customerGroupMembers').where({ groupId: id, customerId: erased.id }).first()).toBeUndefined();

    // Without a signed-in session the large body is refused by its size, unread (413), as on every other form.
    const memberCount = () => knex('customerGroupMembers').where({ groupId: id }).count({ n: '*' }).first();
    const before = await memberCount();
    const pasted = Array.from({ length: 10_000 }, (_, i) => `anon${i}@example.test`).join('\n');
    for (const path of [`/admin/groups/${id}/batch`, '/admin/groups/segments/1/customers']) {
      const anonymous = await agentFor(t.app, 'admin.localhost').post(path).type('form').send(new URLSearchParams({ emails: pasted }).toString());
      expect(anonymous.status, path).toBe(413);
    }
    expect(await memberCount()).toEqual(before);
  });

  it('lets sales reps and support look but not change (403)', async () => {
    const id = groupId((await createGroup(owner, { name: 'Read only' })).headers.location!);
    for (const agent of [rep, support]) {
      expect((await agent.get('/admin/groups')).status).toBe(200);
      expect((await agent.get(`/admin/groups/${id}`)).status).toBe(200);
      expect((await agent.get('/admin/groups')).text).not.toContain('New group');
      expect((await agent.get('/admin/groups/new')).status).toBe(403);
      expect((await createGroup(agent, { name: 'Sneaky' })).status).toBe(403);
      expect((await postForm(agent, `/admin/groups/${id}/batch`, { emails: 'x@example.test' })).status).toBe(403);
      expect((await postForm(agent, `/admin/groups/${id}/delete`, {})).status).toBe(403);
      expect((await postForm(agent, '/admin/groups/segments/new', { name: 'Sneaky' })).status).toBe(403);
    }
    expect(await t.ctx.knex('customerGroups').where({ name: 'Sneaky' }).first()).toBeUndefined();
    expect((await owner.get('/admin/groups/999999')).status).toBe(404);
    expect((await owner.get('/admin/groups/..%2F..%2Fetc')).status).toBe(404);
  });

  it('limits a team sales rep’s member list to the team', async () => {
    const knex = t.ctx.knex;
    const team = await makeSalesTeam(knex);
    const teamRep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shopA.id], salesTeamId: team.id })).email);
    const ours = await makeCustomer(knex, [shopA.id], { email: 'team-ours@example.test', salesTeamId: team.id });
    await makeCustomer(knex, [shopA.id], { email: 'team-not@example.test' });
    const id = groupId((await createGroup(owner, { name: 'Team view' })).headers.location!);
    await postForm(owner, `/admin/groups/${id}/batch`, { emails: 'team-ours@example.test, team-not@example.test' });
    const page = await teamRep.get(`/admin/groups/${id}`);
    expect(page.text).toContain(ours.email);
    expect(page.text).not.toContain('team-not@example.test');
  });

  it('edits and deletes a group', async () => {
    const id = groupId((await createGroup(owner, { name: 'Editable' })).headers.location!);
    const edit = await owner.get(`/admin/groups/${id}/edit`);
    expect(edit.status).toBe(200);
    const saved = await postForm(owner, `/admin/groups/${id}/edit`, { name: 'Edited', description: 'now', kind: 'dynamic', rule_tags: 'x' });
    expect(saved.status).toBe(303);
    // The kind stays as created.
    expect(await t.ctx.knex('customerGroups').where({ id }).first('name', 'kind', 'rule')).toEqual({ name: 'Edited', kind: 'static', rule: null });
    expect((await postForm(owner, `/admin/groups/${id}/delete`, {})).status).toBe(303);
    expect(await t.ctx.knex('customerGroups').where({ id }).first()).toBeUndefined();
  });

  it('creates a segment with groups and customers, scoped like groups', async () => {
    const knex = t.ctx.knex;
    const seg = await postForm(owner, '/admin/groups/segments/new', { name: 'North stars' });
    expect(seg.status).toBe(303);
    const segmentId = Number(seg.headers.location!.split('/').pop());
    expect((await postForm(owner, '/admin/groups/segments/new', { name: 'north STARS' })).status).toBe(422);
    const gid = groupId((await createGroup(owner, { name: 'Segment member group' })).headers.location!);
    expect((await postForm(manager, `/admin/groups/segments/${segmentId}/groups`, { groupId: String(gid) })).status).toBe(303);
    expect((await postForm(manager, `/admin/groups/segments/${segmentId}/groups`, { groupId: 'abc' })).status).toBe(422);
    const mine = await makeCustomer(knex, [shopA.id], { email: 'seg-mine@example.test' });
    await makeCustomer(knex, [shopB.id], { email: 'seg-theirs@example.test' });
    const added = await postForm(manager, `/admin/groups/segments/${segmentId}/customers`, { emails: 'seg-mine@example.test\nseg-theirs@example.test\nnot an email' });
    expect(added.status).toBe(200);
    expect(textOf(added.text)).toContain('Added 1 of 2 addresses; 1 not found; 1 not e-mail addresses.');
    expect(await knex('segmentCustomers').where({ segmentId }).pluck('customer_id')).toEqual([mine.id]);
    const page = await manager.get(`/admin/groups/segments/${segmentId}`);
    expect(textOf(page.text)).toContain('Segment member group');
    expect(page.text).toContain('seg-mine@example.test');
    // Its size counts each customer once, whether in it directly, through its group, or both.
    const grouped = await makeCustomer(knex, [shopA.id], { email: 'seg-grouped@example.test' });
    await knex('customerGroupMembers').insert([{ groupId: gid, customerId: grouped.id, source: 'manual' }, { groupId: gid, customerId: mine.id, source: 'manual' }]);
    expect(textOf((await manager.get(`/admin/groups/segments/${segmentId}`)).text)).toContain('2 customers in all, directly or through its groups');
    const row = /<tr>\s*<td><a href="\/admin\/groups\/segments\/\d+">North stars<\/a>[\s\S]*?<\/tr>/.exec((await manager.get('/admin/groups')).text)?.[0] ?? '';
    expect([...row.matchAll(/<td class="num">([^<]*)<\/td>/g)].map((m) => m[1])).toEqual(['2', '1', '1']);
    await knex('customerGroupMembers').where({ groupId: gid }).delete();
    expect((await postForm(manager, `/admin/groups/segments/${segmentId}/customers/${mine.id}/remove`, {})).status).toBe(303);
    expect((await postForm(manager, `/admin/groups/segments/${segmentId}/groups/${gid}/remove`, {})).status).toBe(303);
    expect(await knex('segmentGroups').where({ segmentId })).toEqual([]);
    expect((await postForm(owner, `/admin/groups/segments/${segmentId}/delete`, {})).status).toBe(303);
    expect(await knex('segments').where({ id: segmentId }).first()).toBeUndefined();
  });
});
