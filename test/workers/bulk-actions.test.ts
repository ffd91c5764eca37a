import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { createBulkOperation, runBulkOperation } from '../../app/services/bulk-action.service.js';
import { enqueueBulkOperation } from '../../app/queues/bulk.queue.js';
import { startBulkWorker } from '../../workers/bulk.worker.js';
import { startMailWorker, type RunningWorker } from '../../workers/mail.worker.js';
import type { Agent } from '../support/agents.js';
import { csrfFrom, loginStaff } from '../support/agents.js';
import { eventually, insertManyCustomers } from '../support/customer-list.js';
import { decodeEntities, textOf } from '../support/html.js';
import { makeCustomer, makeOrder, makeSalesTeam, makeShop, makeStaff } from '../support/factories.js';
import { messagesTo } from '../support/outbox.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Bulk actions of the customer list (F-LIST-5): recorded once per idempotency key, run by the
 * bulk worker in chunks, limited to the staff member's shops and role, with a progress page.
 */

const newKey = () => randomBytes(16).toString('hex');

interface BulkForm {
  action: string;
  tag?: string;
  target: 'selected' | 'all';
  ids?: number[];
  query?: string;
  key?: string;
}

describe.each(['redis', 'postgres'] as const)('bulk actions (%s backend)', (backend) => {
  let t: TestApp;
  let worker: ReturnType<typeof startBulkWorker>;
  let sink: SmtpSink;
  let mail: RunningWorker;
  let shopA: { id: number }, shopB: { id: number };
  let owner: Agent, manager: Agent, rep: Agent;
  let ownerId: number;

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await createTestApp({ backend, env: { SMTP_URL: sink.url } });
    worker = startBulkWorker(t.ctx);
    mail = await startMailWorker(t.ctx);
    const knex = t.ctx.knex;
    shopA = await makeShop(knex, { code: `bulk-a-${backend}` });
    shopB = await makeShop(knex, { code: `bulk-b-${backend}` });
    const o = await makeStaff(knex, { role: 'owner' });
    ownerId = o.id;
    owner = await loginStaff(t.app, o.email);
    manager = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [shopA.id] })).email);
    rep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shopA.id] })).email);
  });
  afterAll(async () => {
    await worker?.close();
    await mail?.close();
    await t?.close();
    await sink?.close();
  });

  /** Submits the list's bulk form as the page renders it (CSRF token and idempotency key from the page). */
  async function submitBulk(agent: Agent, form: BulkForm) {
    const page = await agent.get(`/admin/customers${form.query ? `?${form.query}` : ''}`);
    const renderedKey = /<form id="bulk-form"[\s\S]*?name="key" value="([^"]+)"/.exec(page.text)?.[1];
    const renderedQuery = /<form id="bulk-form"[\s\S]*?name="query" value="([^"]*)"/.exec(page.text)?.[1];
    expect(renderedKey).toBeDefined();
    expect(decodeEntities(renderedQuery ?? '')).toBe(form.query ?? '');
    const body = new URLSearchParams({ _csrf: csrfFrom(page.text), key: form.key ?? renderedKey!, action: form.action, target: form.target, query: form.query ?? '' });
    if (form.tag !== undefined) body.set('tag', form.tag);
    for (const id of form.ids ?? []) body.append('ids', String(id));
    return agent.post('/admin/customers/bulk').type('form').send(body.toString());
  }

  /** Polls the progress page until the operation is done; returns that page's text. */
  async function untilDone(agent: Agent, location: string, timeoutMs = 30_000): Promise<string> {
    return eventually(
      async () => {
        const page = await agent.get(location);
        expect(page.status).toBe(200);
        if (page.text.includes('The action stopped after')) throw new Error(`bulk operation failed: ${page.text}`);
        return page.text.includes('Done:') ? page.text : undefined;
      },
      timeoutMs,
      `bulk operation at ${location}`,
    );
  }

  /** Sends the confirmation page's form, as the staff member does with its button. */
  async function confirmBulk(agent: Agent, page: string) {
    const form = /<form method="post" action="\/admin\/customers\/bulk"[\s\S]*?<\/form>/.exec(page)![0];
    const fields = [...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m): [string, string] => [m[1]!, decodeEntities(m[2]!)]);
    return agent.post('/admin/customers/bulk').type('form').send(new URLSearchParams(fields).toString());
  }

  async function run(agent: Agent, form: BulkForm): Promise<{ location: string; text: string }> {
    let response = await submitBulk(agent, form);
    if (response.status === 200 && response.text.includes('name="confirmed"')) response = await confirmBulk(agent, response.text);
    expect(response.status, response.text).toBe(303);
    const location = response.headers.location!;
    expect(location).toMatch(/^\/admin\/customers\/bulk\/\d+$/);
    return { location, text: await untilDone(agent, location) };
  }

  const tagsOf = async (customerId: number) => (await t.ctx.knex('customerTags').where({ customerId }).orderBy('tag').pluck('tag')) as string[];
  const withTag = async (tag: string) => (await t.ctx.knex('customerTags').where({ tag }).orderBy('customerId').select('customerId')).map((r: { customerId: number }) => r.customerId);
  const tagged = async (ids: number[], tag: string) => t.ctx.knex('customerTags').insert(ids.map((customerId) => ({ customerId, tag })));
  const customers = async (n: number, shops: number[], lastName: string) => Promise.all(Array.from({ length: n }, (_, i) => makeCustomer(t.ctx.knex, shops, { firstName: 'Bulk', lastName: `${lastName}${i}` })));
  const sortIds = (ids: number[]) => [...ids].sort((a, b) => a - b);

  it('adds a tag to all customers matching the filter, and to no one else', async () => {
    const matching = await customers(3, [shopA.id], 'Segment');
    const others = await customers(2, [shopA.id], 'Outside');
    await tagged(matching.map((c) => c.id), 'seg-add');
    const { text } = await run(owner, { action: 'add_tag', tag: 'Promo', target: 'all', query: `shop=${shopA.id}&tag=seg-add` });
    expect(text).toContain('Done: 3 tagged of 3 customers');
    expect(textOf(text)).toContain('Add tag “promo”');
    expect(await withTag('promo')).toEqual(sortIds(matching.map((c) => c.id)));
    for (const c of others) expect(await tagsOf(c.id)).toEqual([]);
    // Each tag keeps its customer's creation time (the list walks a tag's customers by it).
    const copies = await t.ctx.knex('customerTags as t').join('customers as c', 'c.id', 't.customerId').where('t.tag', 'promo').select(t.ctx.knex.raw('bool_and(t.customer_created_at = c.created_at) AS same, count(*)::int AS n'));
    expect(copies).toEqual([{ same: true, n: 3 }]);
  });

  it('removes a tag from the customers matching the filter only', async () => {
    const matching = await customers(3, [shopA.id], 'Remove');
    const outsider = (await customers(1, [shopA.id], 'Keeper'))[0]!;
    await tagged(matching.map((c) => c.id), 'seg-remove');
    await tagged([...matching.map((c) => c.id), outsider.id], 'sale');
    await tagged([matching[0]!.id], 'keep-me');
    const { text } = await run(owner, { action: 'remove_tag', tag: 'sale', target: 'all', query: `tag=seg-remove` });
    expect(text).toContain('Done: 3 untagged of 3 customers');
    expect(await withTag('sale')).toEqual([outsider.id]);
    expect(await tagsOf(matching[0]!.id)).toEqual(['keep-me', 'seg-remove']);
  });

  it('acts on the ticked rows only when target is selected', async () => {
    const five = await customers(5, [shopA.id], 'Ticked');
    const picked = [five[1]!.id, five[3]!.id];
    const { text } = await run(owner, { action: 'add_tag', tag: 'picked', target: 'selected', ids: picked, query: `shop=${shopA.id}` });
    expect(text).toContain('2 selected');
    expect(await withTag('picked')).toEqual(sortIds(picked));

    // Ticking nothing is refused with a message, and no operation is recorded.
    const before = await t.ctx.knex('bulkOperations').count<Array<{ count: string }>>('* as count');
    const empty = await submitBulk(owner, { action: 'add_tag', tag: 'none', target: 'selected', ids: [], query: `shop=${shopA.id}` });
    expect(empty.status).toBe(303);
    expect(empty.headers.location).toBe(`/admin/customers?shop=${shopA.id}`);
    expect((await owner.get(empty.headers.location!)).text).toContain('Tick between 1 and 1000 customers');
    expect(await t.ctx.knex('bulkOperations').count<Array<{ count: string }>>('* as count')).toEqual(before);
  });

  it('disables customers on the listed shop only', async () => {
    const both = await customers(2, [shopA.id, shopB.id], 'Disable');
    const bystander = (await customers(1, [shopA.id], 'Bystander'))[0]!;
    const { text, location } = await run(owner, { action: 'disable_on_shop', target: 'selected', ids: both.map((c) => c.id), query: `shop=${shopA.id}` });
    expect(text).toContain('Done: 2 disabled of 2 customers');
    const statuses = await t.ctx.knex('customerShops').whereIn('customerId', [...both.map((c) => c.id), bystander.id]).select('customerId', 'shopId', 'status');
    for (const c of both) {
      expect(statuses.find((s) => s.customerId === c.id && s.shopId === shopA.id)?.status).toBe('disabled');
      expect(statuses.find((s) => s.customerId === c.id && s.shopId === shopB.id)?.status).toBe('active');
    }
    expect(statuses.find((s) => s.customerId === bystander.id)?.status).toBe('active');

    // F-CUST-2: each is told by e-mail, handed to the mail queue when the operation ends (the outbox
    // sweep would wait a minute), and the change is on their timeline as on the dashboard.
    const shopName = (await t.ctx.knex('shops').where({ id: shopA.id }).first('name')).name as string;
    const emails = await t.ctx.knex('customers').whereIn('id', both.map((c) => c.id)).pluck('email');
    await eventually(async () => (emails.every((email) => messagesTo(sink.messages, email).length === 1) ? true : undefined), 15_000, 'the notices');
    for (const email of emails) expect(messagesTo(sink.messages, email)[0]!.subject).toBe(`Your account at ${shopName} has been disabled`);
    expect(messagesTo(sink.messages, (await t.ctx.knex('customers').where({ id: bystander.id }).first('email')).email)).toEqual([]);
    const operationId = Number(/\/bulk\/(\d+)$/.exec(location)![1]);
    const outbox = await t.ctx.knex('mailOutbox').whereIn('customerId', both.map((c) => c.id)).select('template', 'bulkOperationId', 'shopId');
    expect(outbox).toEqual(both.map(() => ({ template: 'assignment-disabled', bulkOperationId: operationId, shopId: shopA.id })));
    for (const c of both) {
      const timeline = textOf(await owner.get(`/admin/customers/${c.id}`).then((page) => page.text));
      expect(timeline).toContain(`Disabled in ${shopName}`);
      expect(timeline).toContain(`Bulk action: #${operationId}`);
      const audit = await t.ctx.knex('auditLog').where({ customerId: c.id, action: 'assignment.status_changed' }).first('changes', 'actorId', 'shopId');
      expect(audit).toMatchObject({ actorId: ownerId, shopId: shopA.id, changes: { fields: { [`status in ${shopName}`]: { from: 'active', to: 'disabled' } }, mailed: { template: 'assignment-disabled' } } });
    }

    // Disabled already: again, nothing changes and nobody is mailed twice.
    const again = await run(owner, { action: 'disable_on_shop', target: 'selected', ids: both.map((c) => c.id), query: `shop=${shopA.id}` });
    expect(again.text).toContain('Done: 0 disabled of 2 customers');
    expect(await t.ctx.knex('mailOutbox').whereIn('customerId', both.map((c) => c.id)).count('* as n').first()).toEqual({ n: 2 });

    // Over all shops there is no shop to disable on.
    const refused = await submitBulk(owner, { action: 'disable_on_shop', target: 'selected', ids: [bystander.id], query: 'shop=all' });
    expect(refused.status).toBe(303);
    expect((await owner.get(refused.headers.location!)).text).toContain('Choose a shop first');
  });

  it('deletes customers without orders and reports those with orders as skipped', async () => {
    const [buyer, idle1, idle2] = await customers(3, [shopA.id], 'Delete');
    await tagged([buyer!.id, idle1!.id, idle2!.id], 'cleanup');
    await makeOrder(t.ctx.knex, buyer!.id, shopA.id, 1234);
    const noted = [buyer!.id, idle1!.id, idle2!.id].map((customerId) => ({ actorType: 'system', customerId, shopId: shopA.id, action: 'customer.noted' }));
    await t.ctx.knex('auditLog').insert(noted);

    // For all matching, it asks first, saying how many match; nothing is recorded until then.
    const before = await t.ctx.knex('bulkOperations').count('* as n').first();
    const asked = await submitBulk(owner, { action: 'delete', target: 'all', query: `shop=${shopA.id}&tag=cleanup` });
    expect(asked.status).toBe(200);
    const question = textOf(asked.text);
    expect(question).toContain('Delete all matching customers?');
    expect(question).toContain('This is for the customers matching the list as filtered');
    expect(asked.text).toContain('<strong>3 customers</strong>');
    expect(question).toContain('This cannot be undone.');
    expect(asked.text).toContain(`href="/admin/customers?shop=${shopA.id}&amp;tag=cleanup">Cancel</a>`);
    expect(await t.ctx.knex('bulkOperations').count('* as n').first()).toEqual(before);
    expect(await t.ctx.knex('customers').whereIn('id', [buyer!.id, idle1!.id, idle2!.id]).count('* as n').first()).toEqual({ n: 3 });

    const { text } = await run(owner, { action: 'delete', target: 'all', query: `shop=${shopA.id}&tag=cleanup` });
    expect(text).toContain('Done: 2 deleted of 3 customers');
    expect(text).toContain('1 skipped');
    expect(text).toMatch(new RegExp(`Customer #${buyer!.id}</a>: has orders`));
    const left = await t.ctx.knex('customers').whereIn('id', [buyer!.id, idle1!.id, idle2!.id]).pluck('id');
    expect(left).toEqual([buyer!.id]);
    // Their timelines go with them; the skipped customer keeps theirs.
    expect(await t.ctx.knex('auditLog').where({ action: 'customer.noted' }).select('customerId')).toEqual([{ customerId: buyer!.id }]);
  });

  it('never touches customers of a shop outside the staff member’s scope', async () => {
    const ours = await customers(2, [shopA.id], 'Ours');
    const theirs = await customers(2, [shopB.id], 'Theirs');
    await tagged([...ours, ...theirs].map((c) => c.id), 'scoped');

    // Ticking another shop's customers (ids posted by hand) changes nothing.
    const byIds = await run(manager, { action: 'add_tag', tag: 'hijack', target: 'selected', ids: theirs.map((c) => c.id), query: `shop=${shopB.id}` });
    expect(byIds.text).toContain('Done: 0 tagged of 0 customers');
    expect(await withTag('hijack')).toEqual([]);

    // "All matching" with the other shop in the query acts on the staff member's own shop.
    await run(manager, { action: 'add_tag', tag: 'mine', target: 'all', query: `shop=${shopB.id}&tag=scoped` });
    expect(await withTag('mine')).toEqual(sortIds(ours.map((c) => c.id)));

    // Nor can they be deleted or disabled.
    await run(manager, { action: 'delete', target: 'selected', ids: theirs.map((c) => c.id), query: `shop=${shopB.id}` });
    await run(manager, { action: 'disable_on_shop', target: 'all', query: `shop=${shopB.id}&tag=scoped` });
    expect(await t.ctx.knex('customerShops').whereIn('customerId', theirs.map((c) => c.id)).pluck('status')).toEqual(['active', 'active']);
    expect(await t.ctx.knex('customerShops').whereIn('customerId', ours.map((c) => c.id)).pluck('status')).toEqual(['disabled', 'disabled']);
  });

  it('skips deleting a customer who is also in a shop the staff member does not manage', async () => {
    const shared = (await customers(1, [shopA.id, shopB.id], 'Shared'))[0]!;
    const own = (await customers(1, [shopA.id], 'OwnOnly'))[0]!;
    const { text } = await run(manager, { action: 'delete', target: 'selected', ids: [shared.id, own.id], query: `shop=${shopA.id}` });
    expect(text).toContain('Done: 1 deleted of 2 customers');
    expect(text).toMatch(new RegExp(`Customer #${shared.id}</a>: also in a shop you do not manage`));
    expect(await t.ctx.knex('customers').where({ id: shared.id }).first()).toBeDefined();
    expect(await t.ctx.knex('customers').where({ id: own.id }).first()).toBeUndefined();
  });

  it('creates one operation for a form submitted twice', async () => {
    const group = await customers(3, [shopA.id], 'Twice');
    await tagged(group.map((c) => c.id), 'twice');
    const key = newKey();
    const form: BulkForm = { action: 'add_tag', tag: 'once', target: 'all', query: 'tag=twice', key };
    const first = await submitBulk(owner, form);
    const second = await submitBulk(owner, form);
    expect(first.status).toBe(303);
    expect(second.status).toBe(303);
    expect(second.headers.location).toBe(first.headers.location);
    const text = await untilDone(owner, first.headers.location!);
    expect(text).toContain('Done: 3 tagged of 3 customers');
    expect(await t.ctx.knex('bulkOperations').where({ idempotencyKey: key })).toHaveLength(1);
    expect(await withTag('once')).toEqual(sortIds(group.map((c) => c.id)));
    // Sending it again after it finished still answers the same operation and runs nothing new.
    const third = await submitBulk(owner, form);
    expect(third.headers.location).toBe(first.headers.location);
    const operation = await t.ctx.knex('bulkOperations').where({ idempotencyKey: key }).first();
    expect([operation.status, operation.processed, operation.changed]).toEqual(['done', 3, 3]);
  });

  it('refuses deleting and disabling to a sales rep (403), but lets them tag', async () => {
    const target = (await customers(1, [shopA.id], 'Protected'))[0]!;
    const before = await t.ctx.knex('bulkOperations').count<Array<{ count: string }>>('* as count');
    for (const action of ['delete', 'disable_on_shop']) {
      const refused = await submitBulk(rep, { action, target: 'selected', ids: [target.id], query: `shop=${shopA.id}` });
      expect(refused.status).toBe(403);
    }
    expect(await t.ctx.knex('bulkOperations').count<Array<{ count: string }>>('* as count')).toEqual(before);
    expect(await t.ctx.knex('customers').where({ id: target.id }).first()).toBeDefined();
    // The page offers them only what they may do.
    const page = await rep.get('/admin/customers');
    expect(page.text).not.toContain('value="delete"');
    expect(page.text).toContain('value="add_tag"');
    await run(rep, { action: 'add_tag', tag: 'rep-tag', target: 'selected', ids: [target.id] });
    expect(await tagsOf(target.id)).toEqual(['rep-tag']);
  });

  it('limits a sales rep in a team to that team’s customers', async () => {
    const team = await makeSalesTeam(t.ctx.knex, `Bulk team ${backend}`);
    const teamRep = await loginStaff(t.app, (await makeStaff(t.ctx.knex, { role: 'sales_rep', shopIds: [shopA.id], salesTeamId: team.id })).email);
    const ours = await makeCustomer(t.ctx.knex, [shopA.id], { firstName: 'Team', lastName: 'Member', salesTeamId: team.id });
    const notOurs = (await customers(1, [shopA.id], 'NoTeam'))[0]!;
    await tagged([ours.id, notOurs.id], 'teamseg');
    await run(teamRep, { action: 'add_tag', tag: 'team-all', target: 'all', query: 'tag=teamseg' });
    expect(await withTag('team-all')).toEqual([ours.id]);
    await run(teamRep, { action: 'add_tag', tag: 'team-ids', target: 'selected', ids: [ours.id, notOurs.id] });
    expect(await withTag('team-ids')).toEqual([ours.id]);
  });

  it('polls the progress fragment while queued or running, and stops when done', async () => {
    const subject = (await customers(1, [shopA.id], 'Progress'))[0]!;
    const selection = { source: { kind: 'shop' as const, shopId: shopA.id }, q: '', filters: parseCustomerListQuery({}).filters, ids: [subject.id], scope: 'all' as const, salesTeamId: null };
    const { id } = await createBulkOperation(t.ctx.knex, ownerId, { key: newKey(), action: 'add_tag', tag: 'progress', selection });
    const fragment = () => owner.get(`/admin/customers/bulk/${id}`).set('HX-Request', 'true');

    const queued = await fragment();
    expect(queued.status).toBe(200);
    expect(queued.text).not.toContain('<html');
    expect(queued.text).toContain('hx-trigger="every 1s"');
    expect(textOf(queued.text)).toContain('Waiting for a worker…');

    await t.ctx.knex('bulkOperations').where({ id }).update({ status: 'running' });
    const running = await fragment();
    expect(running.text).toContain('hx-trigger="every 1s"');
    expect(textOf(running.text)).toContain('Working…');

    await enqueueBulkOperation(t.ctx.queues.bulk, id);
    await untilDone(owner, `/admin/customers/bulk/${id}`);
    const done = await fragment();
    expect(done.text).not.toContain('hx-trigger');
    expect(done.text).toContain('Done: 1 tagged of 1 customers');
    expect(await tagsOf(subject.id)).toEqual(['progress']);
  });

  it('answers 404 for another staff member’s operation', async () => {
    const subject = (await customers(1, [shopA.id], 'Private'))[0]!;
    const { location } = await run(owner, { action: 'add_tag', tag: 'private', target: 'selected', ids: [subject.id] });
    expect((await manager.get(location)).status).toBe(404);
    expect((await manager.get(location).set('HX-Request', 'true')).status).toBe(404);
    expect((await owner.get('/admin/customers/bulk/999999')).status).toBe(404);
    expect((await owner.get('/admin/customers/bulk/abc')).status).toBe(404);
  });

  it('covers every customer across chunks of 10,000', { timeout: 180_000 }, async () => {
    const ids = await insertManyCustomers(t.ctx.knex, 25_000, { emailPrefix: `chunk-${backend}-`, billingCountry: 'NZ', shopIds: [shopA.id] });
    const response = await submitBulk(owner, { action: 'add_tag', tag: 'chunked', target: 'all', query: 'country=NZ' });
    expect(response.status).toBe(303);
    const text = await untilDone(owner, response.headers.location!, 150_000);
    expect(text).toContain('Done: 25,000 tagged of 25,000 customers');
    expect(await withTag('chunked')).toEqual(ids);
    const operation = await t.ctx.knex('bulkOperations').where({ id: Number(response.headers.location!.split('/').pop()) }).first();
    expect([operation.processed, operation.changed]).toEqual([25_000, 25_000]);
    // Three chunks, each with the first and last id it covered (in the order they finished).
    expect([...operation.doneRanges].sort((a: number[], b: number[]) => a[0]! - b[0]!)).toEqual([
      [ids[0], ids[9_999]],
      [ids[10_000], ids[19_999]],
      [ids[20_000], ids.at(-1)],
    ]);

    // Run directly, the same selection is read in three chunks.
    const selection = { source: { kind: 'all' as const }, q: '', filters: parseCustomerListQuery({ country: 'NZ' }).filters, scope: 'all' as const, salesTeamId: null };
    const { id } = await createBulkOperation(t.ctx.knex, ownerId, { key: newKey(), action: 'remove_tag', tag: 'chunked', selection });
    const chunks: number[] = [];
    await runBulkOperation(t.ctx.knex, id, async (seen) => {
      chunks.push(seen);
    });
    expect(chunks.sort((a, b) => a - b)).toEqual([5_000, 10_000, 10_000]);
    expect(await withTag('chunked')).toEqual([]);

    // The matching ids are read once, but each chunk applies the filter again: a customer who no
    // longer matches when their chunk comes is left alone.
    const movedAway = ids.at(-1)!;
    const again = await createBulkOperation(t.ctx.knex, ownerId, { key: newKey(), action: 'add_tag', tag: 'rechecked', selection });
    const seen: number[] = [];
    // One chunk at a time here, so the change lands before the last chunk starts.
    await runBulkOperation(
      t.ctx.knex,
      again.id,
      async (n) => {
        seen.push(n);
        if (seen.length === 1) await t.ctx.knex('customers').where({ id: movedAway }).update({ billingCountry: 'DE' });
      },
      { lanes: 1 },
    );
    expect(seen).toEqual([10_000, 10_000, 4_999]);
    expect(await withTag('rechecked')).toEqual(ids.slice(0, -1));

    // A run that stopped after its second chunk had committed, but not its first, does the first and the last.
    await t.ctx.knex('customers').where({ id: movedAway }).update({ billingCountry: 'NZ' });
    await t.ctx.knex('customerTags').where({ tag: 'rechecked' }).delete();
    const resumed = await createBulkOperation(t.ctx.knex, ownerId, { key: newKey(), action: 'add_tag', tag: 'rechecked', selection });
    await t.ctx.knex('bulkOperations')
      .where({ id: resumed.id })
      .update({ status: 'running', processed: 10_000, changed: 10_000, doneRanges: JSON.stringify([[ids[10_000], ids[19_999]]]) });
    const rest: number[] = [];
    await runBulkOperation(t.ctx.knex, resumed.id, async (n) => {
      rest.push(n);
    });
    expect(rest.sort((a, b) => a - b)).toEqual([5_000, 10_000]);
    expect(await withTag('rechecked')).toEqual([...ids.slice(0, 10_000), ...ids.slice(20_000)]);
    const finished = await t.ctx.knex('bulkOperations').where({ id: resumed.id }).first();
    expect([finished.status, finished.processed, finished.changed]).toEqual(['done', 25_000, 25_000]);
  });
});
