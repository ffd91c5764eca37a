import { Readable } from 'node:stream';
import { inflateRawSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { createBulkOperation, runBulkOperation } from '../../app/services/bulk-action.service.js';
import { customerRows, GDPR_SECTIONS, scrubChanges, type GdprSection } from '../../app/services/gdpr/gdpr-sections.js';
import { recomputeDynamicGroup } from '../../app/services/group-rule.service.js';
import { agentFor, csrfToken, loginCustomer, loginStaff, postLogin, type Agent } from '../support/agents.js';
import { auditOf, getHtmx, postForm, sectionText, triggers } from '../support/dashboard.js';
import { makeAddress, makeCustomer, makeOrder, makeSalesTeam, makeShop, makeStaff } from '../support/factories.js';
import { fieldError, textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** The files of a zip, read from its central directory (stored or deflated entries). */
function unzip(zip: Buffer): Map<string, Buffer> {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('not a zip: no end of central directory');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('bad central directory entry');
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error('bad local header');
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + compressedSize);
    files.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

/** supertest's parser for a binary body: the raw bytes. */
const binary = (response: unknown, callback: (err: Error | null, body: Buffer) => void) => {
  const res = response as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => callback(null, Buffer.concat(chunks)));
};

/** customer.json and the CSVs (parsed; the BOM dropped) of an export. */
function readExport(body: Buffer) {
  const files = unzip(body);
  const json = JSON.parse(files.get('customer.json')!.toString('utf8')) as { customerId: number; exportedAt: string; sections: Record<string, Array<Record<string, unknown>>> };
  const csv = (name: string) => parse(files.get(`${name}.csv`)!.toString('utf8').replace(/^\ufeff/, ''), { relax_column_count: false }) as string[][];
  return { files, json, csv };
}

const SCRIPT = '<script>alert(1)</script>';

describe('customer dashboard: GDPR export and erasure (F-CUST-9)', () => {
  let t: TestApp;
  let knex: Knex;
  let shop: { id: number; code: string }, other: { id: number };
  let owner: Agent, manager: Agent, rep: Agent, support: Agent, foreign: Agent, otherTeamRep: Agent, scopedManager: Agent;
  let ownerId: number;
  let team: { id: number };

  const exportOf = (agent: Agent, customerId: number) => agent.get(`/admin/customers/${customerId}/gdpr/export`).buffer(true).parse(binary);
  const erase = (agent: Agent, customerId: number, email: string, htmx = false) => postForm(agent, `/admin/customers/${customerId}/gdpr/erase`, { email }, { htmx });
  const count = async (table: string, where: object) => Number((await knex(table).where(where).count({ n: '*' }).first())!.n);

  /** A customer with something in every section. */
  async function richCustomer(overrides: { email?: string } = {}) {
    const c = await makeCustomer(knex, [shop.id], { email: overrides.email, firstName: SCRIPT, lastName: 'Quinlan', phone: '+49 30 123456', companyName1: '=HYPERLINK("http://evil.test")', salesTeamId: team.id });
    await knex('customers').where({ id: c.id }).update({ department: 'Purchasing', b2bReference: 'REF-77', attributes: JSON.stringify({ shoeSize: '44' }), marketingOptIn: true });
    await makeAddress(knex, c.id, { line1: '7 Quinlan Lane', city: 'Hamburg', isDefaultBilling: true, isDefaultShipping: true });
    const order = await makeOrder(knex, c.id, shop.id, 4_250);
    await knex('orderLines').insert({ orderId: order.id, sku: 'SKU-1', name: 'Blue mug', quantity: 2, unitPrice: 2_125 });
    expect((await postForm(owner, `/admin/customers/${c.id}/notes/new`, { body: 'Called about Quinlan Lane delivery' })).status).toBe(303);
    expect((await postForm(owner, `/admin/customers/${c.id}/tags`, { tags: 'vip, quinlan-family' })).status).toBe(303);
    const credit = await postForm(owner, `/admin/customers/${c.id}/credit/adjust`, {
      key: `gdpr-credit-key-${c.id}-xxxxxxxxxxxx`, shopId: String(shop.id), amount: '12.50', reason: '@SUM(1) sorry Mr Quinlan', reference: 'TICKET-Q', notify: 'on',
    });
    expect(credit.status).toBe(303);
    // A change with a personal before/after value and a setting.
    await knex('auditLog').insert({ actorType: 'staff', actorId: ownerId, customerId: c.id, action: 'customer.updated', changes: JSON.stringify({ fields: { lastName: { from: 'Quin', to: 'Quinlan' }, taxExempt: { from: false, to: true } } }) });
    return { ...c, orderId: order.id };
  }

  beforeAll(async () => {
    t = await createTestApp();
    knex = t.ctx.knex;
    shop = await makeShop(knex, { code: 'gdpr', name: 'GDPR Shop', hostname: 'gdpr.localhost' });
    other = await makeShop(knex, { code: 'gdprother', name: 'Other GDPR Shop', hostname: 'gdprother.localhost' });
    team = await makeSalesTeam(knex);
    const otherTeam = await makeSalesTeam(knex);
    const staff = await makeStaff(knex, { role: 'owner' });
    ownerId = staff.id;
    owner = await loginStaff(t.app, staff.email);
    manager = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [shop.id, other.id] })).email);
    scopedManager = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [shop.id] })).email);
    rep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shop.id], salesTeamId: team.id })).email);
    support = await loginStaff(t.app, (await makeStaff(knex, { role: 'support', shopIds: [shop.id] })).email);
    foreign = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [other.id] })).email);
    otherTeamRep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shop.id], salesTeamId: otherTeam.id })).email);
  });
  afterAll(() => t?.close());

  it('exports everything about a customer with orders as a zip of customer.json and one CSV per section', async () => {
    const c = await richCustomer();
    const response = await exportOf(owner, c.id);
    expect(response.status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    expect(response.headers['content-type']).toBe('application/zip');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="customer-${c.id}-export-${today}.zip"`);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['cache-control']).toBe('no-store');

    const { files, json, csv } = readExport(response.body as Buffer);
    expect([...files.keys()].sort()).toEqual(
      ['customer.json', 'addresses.csv', 'credit_accounts.csv', 'credit_entries.csv', 'credit_transactions.csv', 'customer.csv', 'documents.csv', 'groups.csv', 'invitations.csv', 'mail.csv', 'notes.csv', 'order_lines.csv', 'orders.csv', 'payment_cards.csv', 'price_groups.csv', 'product_subscriptions.csv', 'purchase_limits.csv', 'quote_lines.csv', 'quotes.csv', 'segments.csv', 'shop_assignments.csv', 'tags.csv', 'timeline.csv'].sort(),
    );
    expect(json.customerId).toBe(c.id);
    const customer = json.sections.customer![0]!;
    expect(customer).toMatchObject({ id: c.id, email: c.email, firstName: SCRIPT, lastName: 'Quinlan', phone: '+49 30 123456', department: 'Purchasing', b2bReference: 'REF-77', attributes: { shoeSize: '44' }, marketingOptIn: true, salesTeam: expect.any(String), erasedAt: null });
    expect(customer.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Object.keys(customer)).not.toContain('passwordHash');
    expect(JSON.stringify(json)).not.toMatch(/argon2|sessionVersion/);
    expect(json.sections.orders).toEqual([expect.objectContaining({ id: c.orderId, shopCode: 'gdpr', currency: 'EUR', subtotal: 4250, total: 4250 })]);
    expect(json.sections.order_lines).toEqual([expect.objectContaining({ sku: 'SKU-1', name: 'Blue mug', quantity: 2, unitPrice: 2125, currency: 'EUR' })]);
    expect(json.sections.addresses).toEqual([expect.objectContaining({ line1: '7 Quinlan Lane', city: 'Hamburg', isDefaultBilling: true })]);
    expect(json.sections.notes).toEqual([expect.objectContaining({ body: 'Called about Quinlan Lane delivery' })]);
    expect(json.sections.tags).toEqual([{ tag: 'quinlan-family' }, { tag: 'vip' }]);
    expect(json.sections.credit_accounts).toEqual([expect.objectContaining({ shopCode: 'gdpr', currency: 'EUR', balance: 1250 })]);
    expect(json.sections.credit_transactions).toEqual([expect.objectContaining({ amount: 1250, currency: 'EUR', reason: '@SUM(1) sorry Mr Quinlan', reference: 'TICKET-Q' })]);
    expect(json.sections.shop_assignments).toEqual([expect.objectContaining({ shopCode: 'gdpr', status: 'active', ordersCount: 1, totalSpent: 4250, currency: 'EUR' })]);
    expect(json.sections.mail).toEqual([expect.objectContaining({ template: 'credit-adjusted', toAddress: c.email })]);
    expect(Object.keys(json.sections.mail![0]!)).not.toContain('textBody');
    expect(json.sections.timeline!.map((e) => e.action)).toEqual(expect.arrayContaining(['note.added', 'credit.adjusted', 'customer.updated']));

    // CSV: the header is the section's columns; text that a spreadsheet would run is neutralised.
    const customerCsv = csv('customer');
    expect(customerCsv[0]!.slice(0, 4)).toEqual(['id', 'email', 'state', 'salutation']);
    expect(customerCsv[0]).not.toContain('passwordHash');
    const row = Object.fromEntries(customerCsv[0]!.map((h, i) => [h, customerCsv[1]![i]]));
    expect(row).toMatchObject({ id: String(c.id), email: c.email, firstName: SCRIPT, phone: "'+49 30 123456", companyName1: `'=HYPERLINK("http://evil.test")`, marketingOptIn: 'true', attributes: '{"shoeSize":"44"}' });
    expect(csv('orders')).toEqual([
      ['id', 'shopCode', 'number', 'status', 'currency', 'subtotal', 'tax', 'creditApplied', 'total', 'placedAt'],
      [String(c.orderId), 'gdpr', expect.any(String), 'placed', 'EUR', '4250', '0', '0', '4250', expect.stringMatching(/Z$/)],
    ]);
    const credit = csv('credit_transactions');
    expect(credit[1]![credit[0]!.indexOf('reason')]).toBe("'@SUM(1) sorry Mr Quinlan");
    expect(credit[1]![credit[0]!.indexOf('amount')]).toBe('1250');

    // Audited, and shown on the timeline.
    const [entry] = await auditOf(knex, c.id);
    expect(entry).toMatchObject({ action: 'customer.data_exported', actorId: ownerId, changes: { sections: { orders: 1, addresses: 1 } } });
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(page.text, 'w-timeline')).toContain('Personal data exported (GDPR)');
    // The dashboard's privacy widget links to it; the script-like name is printed inert.
    expect(sectionText(page.text, 'w-privacy')).toContain('Export data (.zip)');
    expect(page.text).not.toContain(SCRIPT);
  });

  it('exports a customer without orders with empty sections that still carry their CSV header', async () => {
    const c = await makeCustomer(knex, [shop.id], { firstName: 'Nora', lastName: 'Noorders' });
    const response = await exportOf(manager, c.id);
    expect(response.status).toBe(200);
    const { json, csv } = readExport(response.body as Buffer);
    expect(json.sections.customer![0]).toMatchObject({ firstName: 'Nora', lastName: 'Noorders' });
    expect(json.sections.orders).toEqual([]);
    expect(json.sections.addresses).toEqual([]);
    expect(csv('orders')).toEqual([['id', 'shopCode', 'number', 'status', 'currency', 'subtotal', 'tax', 'creditApplied', 'total', 'placedAt']]);
    expect(csv('tags')).toEqual([['tag']]);
  });

  it('shows the confirm modal with the e-mail to type and the credit that stays, inert for script-like names', async () => {
    const c = await richCustomer({ email: 'quinlan+modal@example.test' });
    const modal = await getHtmx(owner, `/admin/customers/${c.id}/gdpr/erase`);
    expect(modal.status).toBe(200);
    const text = textOf(modal.text);
    expect(text).toContain('Type the customer’s e-mail address (quinlan+modal@example.test) to confirm');
    expect(text).toContain('The customer still has store credit: €12.50 in GDPR Shop. The account is erased anyway and the credit ledger is kept');
    expect(text).toContain('Kept for accounting: 1 order with its total, and the store-credit ledger amounts');
    expect(modal.text).toContain('hx-post="/admin/customers/' + c.id + '/gdpr/erase"');
    expect(modal.text).not.toContain(SCRIPT);
    // Without JavaScript: the same form on a full page, with the erased-to-be name escaped.
    const page = await owner.get(`/admin/customers/${c.id}/gdpr/erase`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<meta name="csrf-token"');
    expect(page.text).toContain('action="/admin/customers/' + c.id + '/gdpr/erase"');
    expect(page.text).not.toContain(SCRIPT);
    expect(page.text).toContain('&lt;script&gt;');
  });

  it('refuses a confirmation that is not the customer’s e-mail with 422, changing nothing', async () => {
    const c = await richCustomer();
    for (const typed of ['', 'someone@example.test', `${c.email}x`, "' OR 1=1 --"]) {
      const response = await erase(owner, c.id, typed, true);
      expect(response.status, typed).toBe(422);
      expect(fieldError(response.text, 'email'), typed).toMatch(/e-mail address/);
    }
    const array = await postForm(owner, `/admin/customers/${c.id}/gdpr/erase`, { email: [c.email, c.email] });
    expect(array.status).toBe(400);
    expect(await knex('customers').where({ id: c.id }).first('email', 'erasedAt', 'firstName')).toEqual({ email: c.email, erasedAt: null, firstName: SCRIPT });
    expect(await count('addresses', { customerId: c.id })).toBe(1);
  });

  it('erases the customer: personal data gone, orders and credit amounts kept, sessions ended, login refused', async () => {
    const c = await richCustomer({ email: 'quinlan.erase@example.test' });
    const session = await loginCustomer(t.app, 'gdpr.localhost', c.email);
    expect((await session.get('/account')).status).toBe(200);
    const before = await knex('customerShops').where({ customerId: c.id }).first('ordersCount', 'totalSpent');
    // Data of the later features: a stored card and a group membership go with the account.
    await knex('paymentCards').insert({ customerId: c.id, token: 'card_erasetest0000000000000000', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2040, holderName: 'Quinlan Card' });
    const [group] = await knex('customerGroups').insert({ name: 'GDPR erase group', kind: 'static' }).returning('id');
    await knex('customerGroupMembers').insert({ groupId: group.id, customerId: c.id, source: 'manual' });

    // Typed in another case and with spaces: still the customer's address.
    const response = await erase(owner, c.id, '  Quinlan.Erase@Example.test ', true);
    expect(response.status).toBe(200);
    expect(response.headers['hx-retarget']).toBe('#w-privacy');
    expect(triggers(response)).toMatchObject({ closeModal: { target: 'body' }, infoChanged: { target: 'body' }, notesChanged: { target: 'body' }, timelineChanged: { target: 'body' } });
    expect(textOf(response.text)).toContain('The customer’s personal data was erased.');

    const row = await knex('customers').where({ id: c.id }).first();
    expect(row).toMatchObject({
      email: `erased-${c.id}@erased.invalid`, passwordHash: null, state: 'disabled', salutation: '', firstName: '', middleName: '', lastName: '', phone: '',
      companyName1: '', companyName2: '', department: '', b2bReference: '', b2bEmployeeId: '', b2bChargeId: '', attributes: {}, marketingOptIn: false, billingCity: null,
    });
    expect(row.erasedAt).toBeInstanceOf(Date);
    expect(await count('addresses', { customerId: c.id })).toBe(0);
    expect(await count('customerNotes', { customerId: c.id })).toBe(0);
    expect(await count('customerTags', { customerId: c.id })).toBe(0);
    expect(await count('paymentCards', { customerId: c.id })).toBe(0);
    expect(await count('customerGroupMembers', { customerId: c.id })).toBe(0);
    expect((await knex('customerShops').where({ customerId: c.id }).pluck('status'))).toEqual(['disabled']);
    // Orders, their lines and the figures stay for accounting.
    expect(await knex('orders').where({ customerId: c.id }).first('id', 'total', 'currency')).toEqual({ id: c.orderId, total: 4250, currency: 'EUR' });
    expect(await knex('orderLines').where({ orderId: c.orderId }).first('sku', 'name', 'unitPrice')).toEqual({ sku: 'SKU-1', name: 'Blue mug', unitPrice: 2125 });
    expect(await knex('customerShops').where({ customerId: c.id }).first('ordersCount', 'totalSpent')).toEqual(before);
    // The ledger keeps its money, not its text.
    expect(await knex('creditTransactions').where({ customerId: c.id }).select('amount', 'reason', 'reference')).toEqual([{ amount: 1250, reason: '[erased]', reference: '' }]);
    expect(Number((await knex('creditEntries').where({ customerId: c.id }).sum({ b: 'amount' }).first())!.b)).toBe(1250);
    // Mail: no address, subject or text left, and nothing unsent goes out.
    const mail = await knex('mailOutbox').where({ customerId: c.id });
    expect(mail.length).toBeGreaterThan(0);
    for (const m of mail) expect(m).toMatchObject({ toAddress: `erased-${c.id}@erased.invalid`, subject: '[erased]', textBody: '', htmlBody: '', status: 'failed' });
    // The timeline keeps its entries without personal values; settings stay readable.
    const audit = await auditOf(knex, c.id);
    const everything = JSON.stringify(audit);
    for (const personal of ['Quinlan', 'Quin', 'quinlan', 'TICKET-Q', 'Lane', 'vip', 'quinlan.erase']) expect(everything).not.toContain(personal);
    expect(audit[0]).toMatchObject({ action: 'customer.erased', actorId: ownerId, changes: { creditKept: [{ shop: 'gdpr', currency: 'EUR', balance: 1250 }], sections: { addresses: 1, notes: 1, tags: 2 } } });
    expect(audit.find((a) => a.action === 'customer.updated')!.changes.fields).toEqual({ lastName: { from: '[erased]', to: '[erased]' }, taxExempt: { from: false, to: true } });
    expect(audit.find((a) => a.action === 'credit.adjusted')!.changes).toMatchObject({ amount: 1250, currency: 'EUR', reason: '[erased]', reference: '[erased]' });

    // The open session ends on its next request; the old password no longer works.
    const ended = await session.get('/account');
    expect(ended.status).toBe(303);
    expect(ended.headers.location).toBe('/account/login');
    expect((await postLogin(agentFor(t.app, 'gdpr.localhost'), '/account/login', c.email)).status).toBe(401);

    // Dashboard and list name it "Erased customer #id".
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(textOf(page.text)).toContain(`Erased customer #${c.id}`);
    expect(sectionText(page.text, 'w-privacy')).toContain('Personal data erased on');
    expect(sectionText(page.text, 'w-privacy')).not.toContain('Erase personal data');
    expect(sectionText(page.text, 'w-timeline')).toContain('Personal data erased (GDPR)');
    const list = await owner.get(`/admin/customers?shop=${shop.id}&q=erased-${c.id}`);
    expect(list.status).toBe(200);
    expect(textOf(list.text)).toContain(`Erased customer #${c.id}`);

    // Exporting afterwards shows only what is left.
    const { json } = readExport((await exportOf(owner, c.id)).body as Buffer);
    expect(json.sections.customer![0]).toMatchObject({ email: `erased-${c.id}@erased.invalid`, firstName: '', lastName: '', phone: '', erasedAt: expect.stringMatching(/Z$/) });
    expect(json.sections.addresses).toEqual([]);
    expect(json.sections.orders).toHaveLength(1);
    expect(JSON.stringify(json)).not.toMatch(/Quinlan|TICKET-Q|quinlan\.erase/);

    // A second erasure is refused with a clear message.
    const again = await erase(owner, c.id, `erased-${c.id}@erased.invalid`, true);
    expect(again.status).toBe(409);
    expect(textOf(again.text)).toContain('already erased on');
    expect(textOf((await getHtmx(owner, `/admin/customers/${c.id}/gdpr/erase`)).text)).toContain('already erased on');

    // The address is free again: a new registration with it is a new account.
    const agent = agentFor(t.app, 'gdpr.localhost');
    const token = await csrfToken(agent, '/account/register');
    const password = 'A brand new passphrase 2026';
    const registered = await agent.post('/account/register').type('form').send({ _csrf: token, email: 'quinlan.erase@example.test', password, confirmPassword: password, firstname: 'New', lastname: 'Person', customertype: 'B2C' });
    expect(registered.status).toBe(303);
    const fresh = await knex('customers').where('email', 'quinlan.erase@example.test').first('id', 'erasedAt');
    expect(fresh.id).not.toBe(c.id);
    expect(fresh.erasedAt).toBeNull();
  });

  it('keeps an erased customer read-only: changes are refused, bulk actions and group rules pass them by', async () => {
    const c = await makeCustomer(knex, [shop.id], { firstName: 'Ruth', lastName: 'Readonly', customerType: 'B2B' });
    const neighbour = await makeCustomer(knex, [shop.id], { firstName: 'Nina', lastName: 'Neighbour', customerType: 'B2B' });
    expect((await erase(owner, c.id, c.email, true)).status).toBe(200);

    // Every change on the dashboard answers 409 with the reason, htmx or not, and stores nothing.
    const note = await postForm(owner, `/admin/customers/${c.id}/notes/new`, { body: 'Ruth called again' }, { htmx: true });
    expect(note.status).toBe(409);
    expect(textOf(note.text)).toMatch(/This customer’s personal data was erased on \d{1,2} [A-Z][a-z]{2} \d{4}; the record can no longer be changed\./);
    const tags = await postForm(owner, `/admin/customers/${c.id}/tags`, { tags: 'readonly-again' });
    expect(tags.status).toBe(409);
    expect(textOf(tags.text)).toContain('the record can no longer be changed');
    expect(await count('customerNotes', { customerId: c.id })).toBe(0);
    expect(await count('customerTags', { customerId: c.id })).toBe(0);
    // Reading still works, and the page says the record is read-only (without the edit buttons);
    // staff of another shop still get 404, not a hint that the customer exists.
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(page.status).toBe(200);
    expect(sectionText(page.text, 'w-info')).toContain('The record is kept for its orders and store credit and can no longer be changed');
    expect(page.text).not.toContain(`href="/admin/customers/${c.id}/edit"`);
    expect((await postForm(foreign, `/admin/customers/${c.id}/notes/new`, { body: 'x' }, { htmx: true })).status).toBe(404);

    // A bulk tag over every B2B customer of the shop tags the neighbour, not the erased customer.
    const selection = { source: { kind: 'shop' as const, shopId: shop.id }, q: '', filters: parseCustomerListQuery({ type: 'B2B' }).filters, scope: 'all' as const, salesTeamId: null };
    const { id } = await createBulkOperation(knex, ownerId, { key: `erased-bulk-${c.id}-xxxxxxxxxxxxxxxx`, action: 'add_tag', tag: 'b2b-wave', selection });
    await runBulkOperation(knex, id);
    expect(await count('customerTags', { customerId: neighbour.id, tag: 'b2b-wave' })).toBe(1);
    expect(await count('customerTags', { customerId: c.id })).toBe(0);

    // A dynamic group whose rule the erased customer still matches (type B2B) does not take them in.
    const [group] = await knex('customerGroups').insert({ name: 'GDPR rule group', kind: 'dynamic', rule: JSON.stringify({ tags: [], tagMode: 'any', country: [], type: ['B2B'] }) }).returning('id');
    await recomputeDynamicGroup(knex, group.id);
    expect(await count('customerGroupMembers', { groupId: group.id, customerId: neighbour.id })).toBe(1);
    expect(await count('customerGroupMembers', { groupId: group.id, customerId: c.id })).toBe(0);

    // Deleting the record adds nothing, so it stays possible (the customer has no orders).
    const deleted = await postForm(owner, `/admin/customers/${c.id}/delete`, {});
    expect(deleted.status).toBe(303);
    expect(await count('customers', { id: c.id })).toBe(0);
  });

  it('erases a customer without orders through the plain form (redirect with a flash)', async () => {
    const c = await makeCustomer(knex, [shop.id, other.id], { firstName: 'Plain', lastName: 'Former' });
    const response = await erase(manager, c.id, c.email);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/admin/customers/${c.id}`);
    const page = await manager.get(`/admin/customers/${c.id}`);
    expect(textOf(page.text)).toContain('The customer’s personal data was erased.');
    expect(textOf(page.text)).toContain(`Erased customer #${c.id}`);
    expect(await knex('customerShops').where({ customerId: c.id }).orderBy('shopId').pluck('status')).toEqual(['disabled', 'disabled']);
    expect(await knex('customers').where({ id: c.id }).first('firstName')).toEqual({ firstName: '' });
  });

  it('lets only owners and managers export or erase (403 with the reason), and only with every shop of the customer in scope', async () => {
    const c = await makeCustomer(knex, [shop.id], { salesTeamId: team.id });
    for (const agent of [rep, support]) {
      const exported = await exportOf(agent, c.id);
      expect(exported.status).toBe(403);
      expect(textOf((exported.body as Buffer).toString('utf8'))).toContain('Only owners and managers may export or erase a customer’s personal data.');
      expect((await getHtmx(agent, `/admin/customers/${c.id}/gdpr/erase`)).status).toBe(403);
      expect((await erase(agent, c.id, c.email, true)).status).toBe(403);
      const widget = sectionText((await agent.get(`/admin/customers/${c.id}`)).text, 'w-privacy');
      expect(widget).toContain('Only owners and managers');
      expect(widget).not.toContain('Export data');
    }
    // A manager who sees only one of the customer's two shops.
    const both = await makeCustomer(knex, [shop.id, other.id]);
    const refused = await erase(scopedManager, both.id, both.email, true);
    expect(refused.status).toBe(403);
    expect(textOf(refused.text)).toContain('also belongs to shops outside your scope');
    expect((await exportOf(scopedManager, both.id)).status).toBe(403);
    expect(await knex('customers').where({ id: c.id }).first('erasedAt')).toEqual({ erasedAt: null });
    expect(await knex('customers').where({ id: both.id }).first('erasedAt')).toEqual({ erasedAt: null });
    expect(await count('auditLog', { customerId: c.id, action: 'customer.data_exported' })).toBe(0);
  });

  it('answers 404 for another shop’s or another sales team’s customer', async () => {
    const c = await makeCustomer(knex, [shop.id], { salesTeamId: team.id });
    for (const agent of [foreign, otherTeamRep]) {
      expect((await exportOf(agent, c.id)).status).toBe(404);
      expect((await getHtmx(agent, `/admin/customers/${c.id}/gdpr/erase`)).status).toBe(404);
      expect((await erase(agent, c.id, c.email, true)).status).toBe(404);
    }
    expect((await exportOf(owner, 999_999_999)).status).toBe(404);
    expect(await knex('customers').where({ id: c.id }).first('erasedAt')).toEqual({ erasedAt: null });
  });

  it('puts the files a section points at into the export, under safe names, and removes them on erasure', async () => {
    // A table of stored files like customer_documents, in this test's own database.
    await knex.raw('CREATE TABLE gdpr_test_files (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id), file_name text NOT NULL, storage_key text)');
    const sections = GDPR_SECTIONS as GdprSection[];
    sections.push(customerRows('test_files', 'gdprTestFiles', ['id', 'fileName'], 'delete', { keys: ['storageKey'], name: 'fileName' }));
    try {
      const c = await makeCustomer(knex, [shop.id]);
      const stored = await t.ctx.files.receive(Readable.from([Buffer.from('%PDF- passport scan')]), 'documents');
      const [file] = await knex('gdprTestFiles').insert({ customerId: c.id, fileName: '../../passport.pdf', storageKey: stored.key }).returning('id');
      await knex('gdprTestFiles').insert({ customerId: c.id, fileName: 'rejected.exe', storageKey: null });

      const { files, json, csv } = readExport((await exportOf(owner, c.id)).body as Buffer);
      const entry = `test_files/${file.id}-_.._passport.pdf`;
      expect([...files.keys()].filter((name) => name.startsWith('test_files/'))).toEqual([entry]);
      expect(files.get(entry)!.toString()).toBe('%PDF- passport scan');
      expect([...files.keys()].some((name) => name.includes('../') || name.startsWith('/'))).toBe(false);
      // The storage key is how the file was found, never exported data.
      expect(json.sections.test_files).toEqual([{ id: file.id, fileName: '../../passport.pdf' }, expect.objectContaining({ fileName: 'rejected.exe' })]);
      expect(csv('test_files')[0]).toEqual(['id', 'fileName']);

      expect((await erase(owner, c.id, c.email)).status).toBe(303);
      expect(await count('gdprTestFiles', { customerId: c.id })).toBe(0);
      expect(await t.ctx.files.exists(stored.key)).toBe(false);
    } finally {
      sections.pop();
    }
  });

  it('scrubs audit changes by default and keeps settings, amounts and shop names', () => {
    expect(scrubChanges({ fields: { email: { from: 'a@b.test', to: 'c@d.test' }, wholesale: { from: false, to: true }, 'status in North': { from: 'active', to: 'disabled' } }, shop: 'North', amount: -500, currency: 'EUR', somethingNew: { nested: ['Ann', 3] } })).toEqual({
      fields: { email: { from: '[erased]', to: '[erased]' }, wholesale: { from: false, to: true }, 'status in North': { from: 'active', to: 'disabled' } },
      shop: 'North',
      amount: -500,
      currency: 'EUR',
      somethingNew: { nested: ['[erased]', 3] },
    });
  });
});
