import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPIRE_SCHEDULER_ID } from '../../app/queues/invitation.queue.js';
import { runBulkOperation } from '../../app/services/bulk-action.service.js';
import { hashInvitationToken } from '../../app/services/invitation.service.js';
import { startBulkWorker } from '../../workers/bulk.worker.js';
import { startInvitationWorker } from '../../workers/invitation.worker.js';
import { startMailWorker, type RunningWorker } from '../../workers/mail.worker.js';
import { agentFor, csrfFrom, loginStaff, type Agent } from '../support/agents.js';
import { eventually } from '../support/customer-list.js';
import { makeCustomer, makeShop, makeStaff } from '../support/factories.js';
import { decodeEntities, textOf } from '../support/html.js';
import { messagesTo, waitUntil } from '../support/outbox.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Queue `invitations` and the bulk action "send invitation" (F-LIFE-2, F-LIST-5), on both queue
 * backends: the repeatable expiry job, and a bulk invitation of mixed states run by the bulk
 * worker — skipped ones reported, one e-mail per customer even when the operation runs twice,
 * never outside the chosen shop — delivered to a real SMTP server.
 */
const LINK = /(https?:\/\/[^\s"<]+)\/account\/invitation\/([A-Za-z0-9_-]{43})/;

describe.each(['redis', 'postgres'] as const)('invitations queue and bulk invite (%s backend)', (backend) => {
  let t: TestApp;
  let sink: SmtpSink;
  let mail: RunningWorker;
  let bulk: ReturnType<typeof startBulkWorker>;
  let invitations: Awaited<ReturnType<typeof startInvitationWorker>>;
  let shopA: { id: number; name: string }, shopB: { id: number; name: string };
  let owner: Agent;
  let ownerId: number;

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await createTestApp({ backend, env: { SMTP_URL: sink.url, PUBLIC_PORT: '' } });
    mail = await startMailWorker(t.ctx, { sweepEveryMs: 200 });
    bulk = startBulkWorker(t.ctx);
    invitations = await startInvitationWorker(t.ctx, { expireEveryMs: 300 });
    const knex = t.ctx.knex;
    shopA = await makeShop(knex, { code: `inva-${backend}`, name: 'Bulk Invite A', hostname: `inva-${backend}.localhost` });
    shopB = await makeShop(knex, { code: `invb-${backend}`, name: 'Bulk Invite B', hostname: `invb-${backend}.localhost` });
    const staff = await makeStaff(knex, { role: 'owner' });
    ownerId = staff.id;
    owner = await loginStaff(t.app, staff.email);
  });
  afterAll(async () => {
    await invitations?.close();
    await bulk?.close();
    await mail?.close();
    await t?.close();
    await sink?.close();
  });

  const guest = (knex: Knex, shops: number[], email: string) => makeCustomer(knex, shops, { state: 'guest', email });

  async function invitationRow(knex: Knex, customerId: number, shopId: number, status = 'open', hours = 24, bulkOperationId: number | null = null) {
    const [row] = await knex('customerInvitations')
      .insert({
        customerId,
        shopId,
        status,
        tokenHash: hashInvitationToken(`${customerId}-${shopId}-${Math.random()}`),
        createdByStaffId: ownerId,
        bulkOperationId,
        createdAt: knex.raw(`now() - make_interval(hours => ?)`, [24 - hours]),
        expiresAt: knex.raw(`now() + make_interval(hours => ?)`, [hours]),
        closedAt: status === 'open' ? null : knex.fn.now(),
      })
      .returning('*');
    return row as { id: number };
  }

  it('the repeatable job (job scheduler) marks expired invitations, with a timeline entry, and leaves valid ones open', async () => {
    const knex = t.ctx.knex;
    const a = await makeCustomer(knex, [shopA.id], { state: 'invited' });
    const b = await makeCustomer(knex, [shopA.id], { state: 'invited' });
    const past = await invitationRow(knex, a.id, shopA.id, 'open', -2);
    const valid = await invitationRow(knex, b.id, shopA.id, 'open', 20);

    const schedulers = await t.ctx.queues.invitations.getJobSchedulers();
    expect(schedulers.map((s) => s.key)).toContain(EXPIRE_SCHEDULER_ID);
    expect(schedulers.find((s) => s.key === EXPIRE_SCHEDULER_ID)?.every).toBe(300);

    await waitUntil(async () => (await knex('customerInvitations').where({ id: past.id }).first('status')).status === 'expired', 'the expiry job', 20_000);
    expect(await knex('customerInvitations').where({ id: past.id }).first()).toMatchObject({ status: 'expired', usedAt: null });
    expect((await knex('customerInvitations').where({ id: valid.id }).first()).status).toBe('open');
    const entry = await knex('auditLog').where({ customerId: a.id, action: 'invitation.expired' }).first();
    expect(entry).toMatchObject({ actorType: 'system', shopId: shopA.id, changes: { shop: 'Bulk Invite A' } });
    // The state stays "invited": the customer can still ask for a new link.
    expect((await knex('customers').where({ id: a.id }).first('state')).state).toBe('invited');
    // Starting another worker upserts the same schedule: still one scheduler.
    const second = await startInvitationWorker(t.ctx, { expireEveryMs: 300 });
    await second.close();
    expect((await t.ctx.queues.invitations.getJobSchedulers()).filter((s) => s.key === EXPIRE_SCHEDULER_ID)).toHaveLength(1);
  });

  /** Submits the customer list's bulk form as rendered for `query`; returns the progress page location. */
  async function submitBulkInvite(query: string, target: 'all' | 'selected', ids: number[] = [], key?: string) {
    const page = await owner.get(`/admin/customers?${query}`);
    expect(page.text).toContain('<option value="invite">Send invitation (this shop)</option>');
    const renderedKey = /<form id="bulk-form"[\s\S]*?name="key" value="([^"]+)"/.exec(page.text)![1]!;
    const renderedQuery = decodeEntities(/<form id="bulk-form"[\s\S]*?name="query" value="([^"]*)"/.exec(page.text)![1]!);
    const body = new URLSearchParams({ _csrf: csrfFrom(page.text), key: key ?? renderedKey, action: 'invite', target, query: renderedQuery });
    for (const id of ids) body.append('ids', String(id));
    let response = await owner.post('/admin/customers/bulk').type('form').send(body.toString());
    if (target === 'all') {
      // Invitations to all matching are sent after a confirmation, which names the shop.
      expect(response.status).toBe(200);
      expect(textOf(response.text)).toContain('Invite all matching customers to');
      body.set('confirmed', 'yes');
      response = await owner.post('/admin/customers/bulk').type('form').send(body.toString());
    }
    expect(response.status).toBe(303);
    return { location: response.headers.location!, key: key ?? renderedKey };
  }

  const untilDone = (location: string) =>
    eventually(
      async () => {
        const page = await owner.get(location);
        return page.text.includes('Done:') ? textOf(page.text) : undefined;
      },
      30_000,
      `bulk operation at ${location}`,
    );

  it('bulk invite: eligible customers get one e-mail each (also when run twice), others are skipped and reported, other shops untouched', async () => {
    const knex = t.ctx.knex;
    const tag = `wave-${backend}`;
    const g1 = await guest(knex, [shopA.id], `g1-${backend}@example.test`);
    const g2 = await guest(knex, [shopA.id, shopB.id], `g2-${backend}@example.test`);
    const inv = await makeCustomer(knex, [shopA.id], { state: 'invited', email: `inv-${backend}@example.test` });
    await knex('customers').where({ id: inv.id }).update({ passwordHash: null });
    // An open invitation from before: the bulk one replaces it.
    const earlier = await invitationRow(knex, inv.id, shopA.id, 'open', 20);
    const active = await makeCustomer(knex, [shopA.id], { email: `act-${backend}@example.test` });
    const disabled = await makeCustomer(knex, [shopA.id], { state: 'disabled', email: `dis-${backend}@example.test` }, 'disabled');
    const disabledHere = await guest(knex, [shopA.id], `dish-${backend}@example.test`);
    await knex('customerShops').where({ customerId: disabledHere.id }).update({ status: 'disabled' });
    // In shop B only: never part of shop A's list.
    const onlyB = await guest(knex, [shopB.id], `onlyb-${backend}@example.test`);
    const everyone = [g1, g2, inv, active, disabled, disabledHere, onlyB];
    await knex('customerTags').insert(everyone.map((c) => ({ customerId: c.id, tag })));

    const query = `shop=${shopA.id}&tag=${tag}`;
    const { location, key } = await submitBulkInvite(query, 'all');
    const text = await untilDone(location);
    expect(text).toContain('Send invitation · all matching the filter');
    expect(text).toContain('Done: 3 invited of 6 customers');
    expect(text).toContain('3 skipped');
    expect(text).toContain(`Customer #${active.id} : already active (has a password)`);
    expect(text).toContain(`Customer #${disabled.id} : account disabled`);
    expect(text).toContain(`Customer #${disabledHere.id} : disabled in this shop`);

    const invited = [g1, g2, inv];
    const rows = await knex('customerInvitations').whereIn('customerId', everyone.map((c) => c.id)).whereNotNull('bulkOperationId').orderBy('customerId');
    expect(rows.map((r: { customerId: number }) => r.customerId)).toEqual(invited.map((c) => c.id));
    for (const row of rows) expect(row).toMatchObject({ shopId: shopA.id, status: 'open', createdByStaffId: ownerId });
    expect((await knex('customerInvitations').where({ id: earlier.id }).first()).status).toBe('superseded');
    expect(await knex('customerInvitations').where({ shopId: shopB.id }).whereIn('customerId', everyone.map((c) => c.id))).toEqual([]);
    const states = await knex('customers').whereIn('id', everyone.map((c) => c.id)).select('id', 'state');
    const stateOf = (id: number) => states.find((s: { id: number }) => s.id === id)!.state;
    expect([g1, g2, inv].map((c) => stateOf(c.id))).toEqual(['invited', 'invited', 'invited']);
    expect(stateOf(active.id)).toBe('active');
    expect(stateOf(onlyB.id)).toBe('guest');
    const audit = await knex('auditLog').where({ customerId: g1.id, action: 'invitation.sent' }).first();
    expect(audit).toMatchObject({ actorType: 'staff', actorId: ownerId, shopId: shopA.id, changes: { fields: { state: { from: 'guest', to: 'invited' } }, mailed: { template: 'invitation' } } });

    // The same form again (same key: the same operation), and the operation run again from the start: nothing more is sent.
    const again = await submitBulkInvite(query, 'all', [], key);
    expect(again.location).toBe(location);
    const operationId = Number(location.split('/').pop());
    await knex('bulkOperations').where({ id: operationId }).update({ status: 'queued', doneRanges: JSON.stringify([]) });
    await runBulkOperation(knex, operationId, undefined, { links: { scheme: 'http', port: '' } });
    expect(await knex('customerInvitations').where({ bulkOperationId: operationId }).count({ n: '*' }).first().then((r) => Number(r!.n))).toBe(3);

    // Delivered through the outbox and the mail worker: one message per invited customer, none to the others.
    await sink.waitFor(3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const c of invited) {
      const messages = messagesTo(sink.messages, c.email);
      expect(messages, c.email).toHaveLength(1);
      expect(messages[0]!.subject).toBe('You are invited to your account at Bulk Invite A');
      expect(messages[0]!.text).toMatch(new RegExp(`http://inva-${backend}\\.localhost/account/invitation/[A-Za-z0-9_-]{43}`));
    }
    for (const c of [active, disabled, disabledHere, onlyB]) expect(messagesTo(sink.messages, c.email)).toHaveLength(0);

    // Each customer got their own token, and the link works: the hash of the mailed token is the stored one.
    const tokens = invited.map((c) => LINK.exec(messagesTo(sink.messages, c.email)[0]!.text!)![2]!);
    expect(new Set(tokens).size).toBe(3);
    const hashes = rows.map((r: { tokenHash: string }) => r.tokenHash).sort();
    expect(tokens.map(hashInvitationToken).sort()).toEqual(hashes);
    const browser = agentFor(t.app, `inva-${backend}.localhost`);
    const path = `/account/invitation/${tokens[0]}`;
    const page = await browser.get(path);
    expect(page.status).toBe(200);
    const accepted = await browser.post(path).type('form').send({ password: 'bulk invited passphrase 1', confirmPassword: 'bulk invited passphrase 1', _csrf: csrfFrom(page.text) });
    expect(accepted.status).toBe(303);

    // No token in any job payload or in the operation's row.
    const bulkRow = await knex('bulkOperations').where({ id: operationId }).first();
    const jobs = [
      ...(await t.ctx.queues.bulk.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])),
      ...(await t.ctx.queues.mail.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])),
      ...(await t.ctx.queues.invitations.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])),
    ];
    expect(jobs.length).toBeGreaterThan(0);
    for (const token of tokens) {
      expect(JSON.stringify(bulkRow)).not.toContain(token);
      for (const job of jobs) expect(JSON.stringify(job.data)).not.toContain(token);
    }
  });

  it('bulk invite needs a shop: across all shops it is refused', async () => {
    const page = await owner.get('/admin/customers');
    expect(page.text).not.toContain('<option value="invite">');
    const key = /<form id="bulk-form"[\s\S]*?name="key" value="([^"]+)"/.exec(page.text)![1]!;
    const response = await owner.post('/admin/customers/bulk').type('form').send({ _csrf: csrfFrom(page.text), key, action: 'invite', target: 'all', query: '' });
    expect(response.status).toBe(303);
    expect(textOf((await owner.get(response.headers.location!)).text)).toContain('Choose a shop first: invitations are sent for one shop at a time.');
  });

  it('a manager of shop B cannot bulk-invite shop A (the list falls back to their own shop) and a sales rep may not bulk-invite', async () => {
    const knex = t.ctx.knex;
    const tag = `scope-${backend}`;
    const inA = await guest(knex, [shopA.id], `scope-a-${backend}@example.test`);
    const inB = await guest(knex, [shopB.id], `scope-b-${backend}@example.test`);
    await knex('customerTags').insert([inA, inB].map((c) => ({ customerId: c.id, tag })));
    const manager = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [shopB.id] })).email);
    const page = await manager.get(`/admin/customers?shop=${shopA.id}&tag=${tag}`);
    const key = /<form id="bulk-form"[\s\S]*?name="key" value="([^"]+)"/.exec(page.text)![1]!;
    const response = await manager.post('/admin/customers/bulk').type('form').send({ _csrf: csrfFrom(page.text), key, action: 'invite', target: 'all', query: `shop=${shopA.id}&tag=${tag}`, confirmed: 'yes' });
    expect(response.headers.location).toMatch(/^\/admin\/customers\/bulk\/\d+$/);
    const done = await eventually(async () => {
      const progress = await manager.get(response.headers.location!);
      return progress.text.includes('Done:') ? textOf(progress.text) : undefined;
    }, 30_000, 'bulk');
    expect(done).toContain('Done: 1 invited of 1 customers');
    expect(await knex('customerInvitations').where({ customerId: inA.id })).toEqual([]);
    expect(await knex('customerInvitations').where({ customerId: inB.id }).select('shopId')).toEqual([{ shopId: shopB.id }]);

    const rep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shopA.id] })).email);
    const repPage = await rep.get(`/admin/customers?shop=${shopA.id}`);
    expect(repPage.text).not.toContain('<option value="invite">');
    const repKey = /<form id="bulk-form"[\s\S]*?name="key" value="([^"]+)"/.exec(repPage.text)![1]!;
    const refused = await rep.post('/admin/customers/bulk').type('form').send({ _csrf: csrfFrom(repPage.text), key: repKey, action: 'invite', target: 'all', query: `shop=${shopA.id}` });
    expect(refused.status).toBe(403);
    expect(await knex('customerInvitations').where({ customerId: inA.id })).toEqual([]);
  });
});
