import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMoney } from '../../app/lib/money.js';
import { loginStaff, type Agent } from '../support/agents.js';
import { auditOf, getHtmx, postForm, sectionText, triggers } from '../support/dashboard.js';
import { grantCredit, makeCustomer, makeShop, makeStaff } from '../support/factories.js';
import { fieldError, inputValue, textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** Account credit (F-DASH-5): the append-only ledger, never below zero, idempotent, notify via the outbox. */
describe('customer dashboard: account credit', () => {
  let t: TestApp;
  let shop: { id: number }, other: { id: number };
  let owner: Agent;
  let ownerId: number;
  let keys = 0;
  const key = () => `test-key-${process.pid}-${++keys}-xxxxxxxx`;

  const adjust = (agent: Agent, customerId: number, fields: Record<string, string>, htmx = false) =>
    postForm(agent, `/admin/customers/${customerId}/credit/adjust`, { key: key(), shopId: String(shop.id), reason: 'Goodwill', ...fields }, { htmx });

  async function balance(knex: Knex, customerId: number, shopId = shop.id): Promise<number> {
    const row = await knex('creditEntries').where({ customerId, shopId }).andWhere((q) => q.whereNull('expiresAt').orWhere('expiresAt', '>', knex.fn.now())).sum({ b: 'amount' }).first();
    return Number(row?.b ?? 0);
  }
  const count = async (knex: Knex, table: string, where: object) => Number((await knex(table).where(where).count({ n: '*' }).first())!.n);

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    shop = await makeShop(knex, { code: 'credit', name: 'Credit Shop', hostname: 'credit.localhost' });
    other = await makeShop(knex, { code: 'othercredit', name: 'Other Credit Shop' });
    const staff = await makeStaff(knex, { role: 'owner' });
    ownerId = staff.id;
    owner = await loginStaff(t.app, staff.email);
  });
  afterAll(() => t?.close());

  it('parses amounts typed by people into minor units without floating point', () => {
    expect(['12.50', '12,5', '+7', '-0.05', '0.10', '999999999.99', ' 3 .2 '].map(parseMoney)).toEqual([1250, 1250, 700, -5, 10, 99999999999, 320]);
    for (const bad of ['', 'abc', '1.234', '1,000.00', '1e3', '--1', '12.', '.5', '0x10', '1234567890']) expect(parseMoney(bad), bad).toBeNull();
  });

  it('books a grant, answers htmx with the credit widget, and notifies the customer through the outbox', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id], { email: 'credit@example.test', firstName: 'Cora' });
    const form = await getHtmx(owner, `/admin/customers/${c.id}/credit/adjust?shop=${shop.id}`);
    expect(form.status).toBe(200);
    expect(inputValue(form.text, 'key')!.length).toBeGreaterThanOrEqual(32);

    const response = await adjust(owner, c.id, { amount: '12.50', reference: 'TICKET-9', reason: 'Late delivery', notify: 'on' }, true);
    expect(response.status).toBe(200);
    expect(response.headers['hx-retarget']).toBe('#w-credit');
    expect(triggers(response)).toMatchObject({ closeModal: { target: 'body' }, timelineChanged: { target: 'body' }, dangerChanged: { target: 'body' } });
    expect(textOf(response.text)).toContain('Credit Shop €12.50');
    expect(textOf(response.text)).toContain('Booked. The balance in Credit Shop is now €12.50.');
    expect(await balance(knex, c.id)).toBe(1250);

    const transaction = await knex('creditTransactions').where({ customerId: c.id }).first();
    expect(transaction).toMatchObject({ amount: 1250, currency: 'EUR', reason: 'Late delivery', reference: 'TICKET-9', notifyCustomer: true, staffUserId: ownerId, expiresAt: null });
    const mail = await knex('mailOutbox').where({ customerId: c.id, template: 'credit-adjusted' }).first();
    expect(mail).toMatchObject({ toAddress: 'credit@example.test', shopId: shop.id, status: 'pending', subject: 'Your store credit at Credit Shop has changed' });
    expect(mail.textBody).toContain('we have added €12.50 of store credit');
    expect(mail.textBody).toContain('Reason: Late delivery');
    expect(mail.textBody).toContain('Reference: TICKET-9');
    expect(mail.textBody).toContain('Your store credit balance is now €12.50.');
    expect(mail.textBody).toContain('http://credit.localhost');
    expect(mail.htmlBody).toContain('<strong>€12.50</strong>');

    const [entry] = await auditOf(knex, c.id);
    expect(entry).toMatchObject({ action: 'credit.adjusted', shopId: shop.id, actorId: ownerId, changes: { amount: 1250, reason: 'Late delivery', fields: { 'credit balance': { from: '€0.00', to: '€12.50' } }, mailed: { template: 'credit-adjusted' } } });
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(page.text, 'w-timeline')).toContain('Store credit added: €12.50');
    expect(sectionText(page.text, 'w-credit')).toContain('+€12.50 Late delivery');
  });

  it('deducts within the balance and refuses a deduction below zero with a clear message, booking nothing', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    expect((await adjust(owner, c.id, { amount: '10' })).status).toBe(303);
    expect((await adjust(owner, c.id, { amount: '-4.25' })).status).toBe(303);
    expect(await balance(knex, c.id)).toBe(575);
    const refused = await adjust(owner, c.id, { amount: '-5.76', notify: 'on' }, true);
    expect(refused.status).toBe(422);
    expect(fieldError(refused.text, 'amount')).toBe('The balance is €5.75, so at most €5.75 can be deducted.');
    expect(await balance(knex, c.id)).toBe(575);
    expect(await count(knex, 'creditTransactions', { customerId: c.id })).toBe(2);
    // The refused booking's e-mail was never written (same transaction).
    expect(await count(knex, 'mailOutbox', { customerId: c.id })).toBe(0);
    expect((await adjust(owner, c.id, { amount: '-5.75' })).status).toBe(303);
    expect(await balance(knex, c.id)).toBe(0);
    expect((await adjust(owner, c.id, { amount: '-0.01' })).status).toBe(422);
  });

  it('never goes below zero under concurrent spending', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    expect((await adjust(owner, c.id, { amount: '100' })).status).toBe(303);
    const debits = await Promise.all(Array.from({ length: 12 }, () => adjust(owner, c.id, { amount: '-15' })));
    const statuses = debits.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 303)).toHaveLength(6);
    expect(statuses.filter((s) => s === 422)).toHaveLength(6);
    expect(await balance(knex, c.id)).toBe(1000);
    // Every lot's debits stay within the lot.
    const overdrawn = await knex.raw(
      `SELECT g.id FROM credit_entries g JOIN credit_entries d ON d.lot_entry_id = g.id WHERE g.customer_id = ? GROUP BY g.id, g.amount HAVING g.amount + sum(d.amount) < 0`,
      [c.id],
    );
    expect(overdrawn.rows).toEqual([]);
  });

  it('books a repeated submission (same idempotency key) once, also when both arrive at once', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    const fields = { key: 'same-key-for-both-submissions-1', shopId: String(shop.id), amount: '20', reason: 'Once only', notify: 'on' };
    const first = await postForm(owner, `/admin/customers/${c.id}/credit/adjust`, fields);
    const again = await postForm(owner, `/admin/customers/${c.id}/credit/adjust`, fields, { htmx: true });
    expect(first.status).toBe(303);
    expect(again.status).toBe(200);
    expect(textOf(again.text)).toContain('This adjustment was already booked; nothing was booked twice.');
    const racing = { ...fields, key: 'same-key-for-both-submissions-2', amount: '-5' };
    const results = await Promise.all([1, 2, 3, 4].map(() => postForm(owner, `/admin/customers/${c.id}/credit/adjust`, racing)));
    expect(results.map((r) => r.status)).toEqual([303, 303, 303, 303]);
    expect(await count(knex, 'creditTransactions', { customerId: c.id })).toBe(2);
    expect(await balance(knex, c.id)).toBe(1500);
    expect(await count(knex, 'mailOutbox', { customerId: c.id })).toBe(2);
  });

  it.each([
    ['guest', 'This is a guest account'],
    ['invited', 'has not accepted the invitation'],
    ['disabled', 'This account is disabled'],
  ] as const)('refuses credit for a %s account with a clear message', async (state, message) => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id], { state });
    const widget = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-credit');
    expect(widget).toContain('Store credit needs an Active account.');
    expect(widget).not.toContain('Adjust');
    const response = await adjust(owner, c.id, { amount: '5' }, true);
    expect(response.status).toBe(422);
    expect(textOf(response.text)).toContain(message);
    expect(await count(knex, 'creditTransactions', { customerId: c.id })).toBe(0);
  });

  it('validates the form with field messages (422)', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ amount: '0' }, 'amount', 'Enter an amount like 25 or -12.50 (negative to deduct).'],
      [{ amount: '12.345' }, 'amount', 'Enter an amount like 25 or -12.50 (negative to deduct).'],
      [{ amount: '5', reason: ' ' }, 'reason', 'Reason is required.'],
      [{ amount: '5', expiresOn: '2001-01-01' }, 'expiresOn', 'The expiry date must be today or later.'],
      [{ amount: '5', expiresOn: 'next week' }, 'expiresOn', 'Enter the expiry date as YYYY-MM-DD.'],
      // No such day (JavaScript's Date.parse takes it as 2 March), and year 0, which PostgreSQL has not.
      [{ amount: '5', expiresOn: '2099-02-30' }, 'expiresOn', 'Enter the expiry date as YYYY-MM-DD.'],
      [{ amount: '5', expiresOn: '0000-01-01' }, 'expiresOn', 'Enter the expiry date as YYYY-MM-DD.'],
      [{ amount: '-5', expiresOn: '2099-01-01' }, 'expiresOn', 'Only credit that is added (a positive amount) can expire. Leave the date empty for a deduction.'],
    ];
    for (const [fields, field, message] of cases) {
      const response = await adjust(owner, c.id, fields, true);
      expect(response.status, JSON.stringify(fields)).toBe(422);
      expect(fieldError(response.text, field)).toBe(message);
      // The re-rendered form keeps the submission's key: fixing it and sending again books once.
      expect(inputValue(response.text, 'key')).toMatch(/^test-key-/);
    }
    expect(await count(t.ctx.knex, 'creditTransactions', { customerId: c.id })).toBe(0);
  });

  it('answers 404 for a shop the customer is not in', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    const response = await postForm(owner, `/admin/customers/${c.id}/credit/adjust`, { key: key(), shopId: String(other.id), amount: '5', reason: 'x' });
    expect(response.status).toBe(404);
  });

  it('keeps credit per shop: each shop has its own balance', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id, other.id]);
    await adjust(owner, c.id, { amount: '3' });
    await postForm(owner, `/admin/customers/${c.id}/credit/adjust`, { key: key(), shopId: String(other.id), amount: '4', reason: 'x' });
    expect((await adjust(owner, c.id, { amount: '-3.01' })).status).toBe(422);
    const widget = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-credit');
    expect(widget).toContain('Credit Shop €3.00');
    expect(widget).toContain('Other Credit Shop €4.00');
  });

  it('lets granted credit expire: deductions draw from the soonest-expiring grant and expire with it', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    expect((await adjust(owner, c.id, { amount: '10' })).status).toBe(303);
    // A grant that ends in two seconds (the form only takes whole days, so it is written directly:
    // inserting is what the ledger allows).
    await grantCredit(knex, { customerId: c.id, shopId: shop.id, amount: 500, reason: 'Short promo', expiresAt: "now() + interval '2 seconds'", staffUserId: ownerId });
    expect(await balance(knex, c.id)).toBe(1500);
    expect((await adjust(owner, c.id, { amount: '-3' })).status).toBe(303);
    expect(await balance(knex, c.id)).toBe(1200);
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    // The promo's unspent 2.00 is gone; the 3.00 spent came out of the promo, so the 10.00 is whole.
    expect(await balance(knex, c.id)).toBe(1000);
    expect(sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-credit')).toContain('Credit Shop €10.00');
    expect((await adjust(owner, c.id, { amount: '-10.01' })).status).toBe(422);
    expect((await adjust(owner, c.id, { amount: '-10' })).status).toBe(303);
    expect(await balance(knex, c.id)).toBe(0);
  });

  it('stores a grant’s expiry as the end of the chosen day in the shop’s time zone', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    expect((await adjust(owner, c.id, { amount: '8', expiresOn: '2099-06-30' })).status).toBe(303);
    const row = await knex('creditTransactions').where({ customerId: c.id }).first('expiresAt');
    // Shops default to Europe/Berlin (UTC+2 in summer): the day ends at 22:00 UTC.
    expect(new Date(row.expiresAt).toISOString()).toBe('2099-06-30T22:00:00.000Z');
    const history = textOf((await owner.get(`/admin/customers/${c.id}/credit`)).text);
    expect(history).toContain('30 Jun 2099');
  });

  it('keeps the ledger append-only: the database refuses UPDATE and DELETE', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    await adjust(owner, c.id, { amount: '1' });
    await expect(knex('creditEntries').where({ customerId: c.id }).update({ amount: 100_000 })).rejects.toThrow(/append-only/);
    await expect(knex('creditEntries').where({ customerId: c.id }).delete()).rejects.toThrow(/append-only/);
    await expect(knex('creditTransactions').where({ customerId: c.id }).update({ reason: 'rewritten' })).rejects.toThrow(/append-only/);
    await expect(knex('creditTransactions').where({ customerId: c.id }).delete()).rejects.toThrow(/append-only/);
    await expect(knex('creditAccounts').where({ customerId: c.id }).delete()).rejects.toThrow(/append-only/);
    expect(await balance(knex, c.id)).toBe(100);
  });

  it('shows the history with reason, reference, expiry and who booked it', async () => {
    const knex = t.ctx.knex;
    await knex('staffUsers').where({ id: ownerId }).update({ name: 'Hanna History' });
    const c = await makeCustomer(knex, [shop.id]);
    await adjust(owner, c.id, { amount: '30', reference: 'REF-1', reason: 'Welcome bonus' });
    await adjust(owner, c.id, { amount: '-5', reason: 'Spent at the counter' });
    const page = await owner.get(`/admin/customers/${c.id}/credit`);
    expect(page.status).toBe(200);
    const text = textOf(page.text);
    expect(text).toContain('Credit Shop: €25.00');
    expect(text.indexOf('Spent at the counter')).toBeLessThan(text.indexOf('Welcome bonus'));
    expect(text).toContain('+€30.00 Welcome bonus REF-1');
    expect(text).toContain('Hanna History');
  });
});
