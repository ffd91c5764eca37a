import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImportWorker } from '../../workers/import.worker.js';
import type { Agent } from '../support/agents.js';
import { csrfFrom, loginStaff } from '../support/agents.js';
import { csvRecords } from '../support/csv.js';
import { eventually } from '../support/customer-list.js';
import { makeCustomer, makeSalesTeam, makeShop, makeStaff } from '../support/factories.js';
import { decodeEntities, textOf } from '../support/html.js';
import { sectionText } from '../support/dashboard.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Customer import from CSV and Excel (F-LIST-6), through the pages and the imports worker: the
 * proposed mapping, the dry run that changes nothing, the import with its exact per-row report,
 * idempotent re-imports, tags, addresses, and the staff member's shop scope.
 */

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/imports');
const fixture = (name: string) => readFile(path.join(FIXTURES, name));

interface Report {
  text: string;
  counts: { created: number; updated: number; rejected: number };
  rejected: Array<[number, string, string]>;
}

/** The rejected rows of the Shopify fixture as the manager of shop A gets them (header = line 1). */
const SHOPIFY_REJECTED: Array<[number, string, string]> = [
  [2, 'ada@example.com', 'Duplicate e-mail: line 9 has the same address and is used instead'],
  [4, '', 'E-mail is missing'],
  [5, 'alan@example.com', 'Country “Germany” is not a two-letter ISO country code such as DE'],
  [6, 'linus@example.com', 'Last name is longer than 100 characters'],
  [8, 'margaret@example.com', 'Duplicate e-mail: line 10 has the same address and is used instead'],
  [11, 'not-an-email', 'E-mail “not-an-email” is not a valid address'],
  [12, 'othershop@example.com', 'Belongs to another shop'],
  [14, 'flag@example.com', 'Accepts e-mail marketing must be yes or no, not “maybe”'],
];

describe.each(['redis', 'postgres'] as const)('customer import (%s backend)', (backend) => {
  let t: TestApp;
  let worker: ReturnType<typeof startImportWorker>;
  let shopA: { id: number }, shopB: { id: number };
  let owner: Agent, manager: Agent;
  let managerId: number, managerName: string;
  let grace: { id: number }, other: { id: number };

  beforeAll(async () => {
    t = await createTestApp({ backend });
    worker = startImportWorker(t.ctx);
    const knex = t.ctx.knex;
    shopA = await makeShop(knex, { code: `imp-a-${backend}` });
    shopB = await makeShop(knex, { code: `imp-b-${backend}` });
    owner = await loginStaff(t.app, (await makeStaff(knex, { role: 'owner' })).email);
    const managerUser = await makeStaff(knex, { role: 'manager', shopIds: [shopA.id] });
    manager = await loginStaff(t.app, managerUser.email);
    managerId = managerUser.id;
    managerName = (await knex('staffUsers').where({ id: managerId }).first('name')).name || managerUser.email;
    // Existing customers: one in the manager's shop (updated by the import), one only in another shop (left alone).
    grace = await makeCustomer(knex, [shopA.id], { email: 'grace@example.com', firstName: 'Grace', lastName: 'Old-Name', phone: '', companyName1: 'Keep Me Inc' });
    await knex('customerTags').insert({ customerId: grace.id, tag: 'existing' });
    // In a sales team: an import that adds her to another shop gives that assignment her team too.
    other = await makeCustomer(knex, [shopB.id], { email: 'othershop@example.com', firstName: 'Other', lastName: 'Untouched', salesTeamId: (await makeSalesTeam(knex, 'Import team')).id });
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  async function upload(agent: Agent, file: Buffer, name: string, options: { shop?: number; tag?: string } = {}) {
    const page = await agent.get('/admin/customers/import');
    const response = await agent
      .post('/admin/customers/import')
      .field('_csrf', csrfFrom(page.text))
      .field('shop', String(options.shop ?? shopA.id))
      .field('tag', options.tag ?? '')
      .attach('file', file, name);
    expect(response.status, response.text).toBe(303);
    expect(response.headers.location).toMatch(/^\/admin\/customers\/import\/\d+$/);
    return response.headers.location!;
  }

  /** Polls the import page until no worker is busy with it; answers the page. */
  async function settled(agent: Agent, location: string): Promise<string> {
    return eventually(
      async () => {
        const page = await agent.get(location);
        expect(page.status).toBe(200);
        return page.text.includes('hx-trigger="every 1s"') ? undefined : page.text;
      },
      60_000,
      `import at ${location}`,
    );
  }

  /** The mapping as the page's selects show it, column by column ('' = not imported). */
  function mappingOf(html: string): string[] {
    return [...html.matchAll(/<select name="col_(\d+)"[^>]*>([\s\S]*?)<\/select>/g)].map((m) => /<option value="([^"]*)" selected>/.exec(m[2]!)?.[1] ?? '');
  }

  /** Presses "Dry run" or "Import" with the mapping on the page (optionally changed), and waits for the report. */
  async function run(agent: Agent, location: string, mode: 'dry_run' | 'import', options: { tag?: string; mapping?: Record<number, string> } = {}): Promise<Report> {
    const page = await settled(agent, location);
    const body = new URLSearchParams({ _csrf: csrfFrom(page), mode, tag: options.tag ?? decodeEntities(/name="tag" type="text" maxlength="64" value="([^"]*)"/.exec(page)?.[1] ?? '') });
    mappingOf(page).forEach((field, i) => body.set(`col_${i}`, options.mapping?.[i] ?? field));
    const response = await agent.post(`${location}/run`).type('form').send(body.toString());
    expect(response.status, response.text).toBe(303);
    const text = await settled(agent, location);
    if (text.includes('alert-error')) throw new Error(`import failed: ${textOf(/<div class="alert alert-error"[^>]*>([\s\S]*?)<\/div>/.exec(text)?.[1] ?? '')}`);
    return reportOf(text);
  }

  function reportOf(html: string): Report {
    const count = (name: string) => Number(textOf(new RegExp(`<div class="count-${name}"><dt>[^<]*</dt><dd>([^<]*)</dd>`).exec(html)?.[1] ?? 'NaN').replace(/,/g, ''));
    const table = /<table class="data compact rejected-rows[^"]*">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
    const rejected = [...table.matchAll(/<tr><td class="num">(\d+)<\/td><td class="email">([\s\S]*?)<\/td><td class="wrap">([\s\S]*?)<\/td><\/tr>/g)].map(
      (m) => [Number(m[1]), textOf(m[2]!), textOf(m[3]!)] as [number, string, string],
    );
    return { text: html, counts: { created: count('created'), updated: count('updated'), rejected: count('rejected') }, rejected };
  }

  /** Everything an import could change, to prove a dry run changed none of it. */
  async function snapshot() {
    const knex = t.ctx.knex;
    return {
      customers: await knex('customers').orderBy('id').select('id', 'email', 'firstName', 'lastName', 'phone', 'companyName1', 'marketingOptIn', 'taxExempt', 'updatedAt'),
      tags: await knex('customerTags').orderBy(['customerId', 'tag']).select(),
      shops: await knex('customerShops').orderBy(['customerId', 'shopId']).select('customerId', 'shopId', 'status'),
      addresses: await knex('addresses').orderBy('id').select('id', 'customerId', 'line1', 'city', 'countryCode'),
      notes: await knex('customerNotes').orderBy('id').select('id', 'customerId', 'body'),
    };
  }

  const customerByEmail = (email: string) => t.ctx.knex('customers').whereRaw('email = ?::citext', [email]).first();
  /**
   * Assignments whose copies of their customer's creation time, type, billing country and sales team
   * (the shop's list reads them there, migrations 41, 44 and 45) differ from the customer's.
   */
  const assignmentsOutOfCustomerOrder = () =>
    t.ctx
      .knex('customerShops as cs')
      .join('customers as c', 'c.id', 'cs.customerId')
      .whereRaw('(cs.customer_created_at, cs.customer_type, cs.billing_country, cs.sales_team_id) IS DISTINCT FROM (c.created_at, c.customer_type, c.billing_country, c.sales_team_id)')
      .count({ n: '*' })
      .first();
  /** Tags whose copy of their customer's creation time (the list walks them by it, migration 46) differs from the customer's. */
  const tagsOutOfCustomerOrder = () =>
    t.ctx.knex('customerTags as t').join('customers as c', 'c.id', 't.customerId').whereRaw('t.customer_created_at <> c.created_at').count({ n: '*' }).first();
  const shopsOf = async (customerId: number) => (await t.ctx.knex('customerShops').where({ customerId }).orderBy('shopId').select('shopId')).map((r: { shopId: number }) => r.shopId);
  const tagsOf = async (customerId: number) => (await t.ctx.knex('customerTags').where({ customerId }).orderBy('tag').pluck('tag')) as string[];

  it('recognises a Shopify export and proposes the mapping, showing the first rows', async () => {
    const location = await upload(manager, await fixture('shopify-customers.csv'), 'customers_export.csv');
    const page = await settled(manager, location);
    expect(page).toContain('customers_export.csv');
    expect(textOf(page)).toContain('13 rows'); // the row of empty cells is not one
    expect(mappingOf(page)).toEqual([
      '', 'first_name', 'last_name', 'email', 'marketing_opt_in', 'company', 'address_line1', 'address_line2', 'address_city', 'address_region',
      'address_country', 'address_postcode', 'address_phone', 'phone', '', '', '', 'note', 'tax_exempt', 'tags',
    ]);
    expect(textOf(page)).toContain('Not imported: computed from orders.');
    // The first rows are shown as they are in the file: the BOM is gone, quoted commas are one cell.
    expect(page).toContain('>Customer ID</th>');
    expect(page).toContain('title="Navy, Research Lab"');
    expect(page).toContain('Dry run</button>');
  });

  it('dry run reports every row that would be rejected, with its line, and changes nothing', async () => {
    const before = await snapshot();
    const location = await upload(manager, await fixture('shopify-customers.csv'), 'customers_export.csv');
    const report = await run(manager, location, 'dry_run');
    expect(report.text).toContain('Dry run: what the import would do');
    expect(report.counts).toEqual({ created: 4, updated: 1, rejected: 8 });
    expect(report.rejected).toEqual(SHOPIFY_REJECTED);
    expect(await snapshot()).toEqual(before);
    // The report can be downloaded, and the dry run can be followed by the import.
    const csv = await manager.get(`${location}/rejected.csv`).buffer(true);
    expect(csvRecords(csv.text).records.map((r) => [Number(r.line), r.email, r.reason])).toEqual(SHOPIFY_REJECTED);
    expect(report.text).toContain('Import 13 rows</button>');
  });

  it('imports: creates and updates exactly, with tags, address and the shop, and reports the rest', async () => {
    const location = await upload(manager, await fixture('shopify-customers.csv'), 'customers_export.csv', { tag: 'Spring-Import' });
    const report = await run(manager, location, 'import');
    expect(report.text).toContain('Import finished');
    expect(report.counts).toEqual({ created: 4, updated: 1, rejected: 8 });
    expect(report.rejected).toEqual(SHOPIFY_REJECTED);

    // The later of Ada's two rows won; quoted commas, yes/no and the leading apostrophes were read right.
    const ada = await customerByEmail('ada@example.com');
    expect(ada).toMatchObject({ email: 'Ada@Example.com', firstName: 'Ada', lastName: 'Lovelace', phone: '+44 7700 900123', companyName1: 'Analytical Engines, Ltd.', marketingOptIn: true, taxExempt: false, state: 'guest', passwordHash: null });
    expect(await tagsOf(ada.id)).toEqual(['mathematics', 'spring-import', 'vip']);
    expect(await t.ctx.knex('addresses').where({ customerId: ada.id }).select('line1', 'line2', 'city', 'postcode', 'countryCode', 'phone', 'company', 'firstName', 'lastName', 'isDefaultBilling', 'isDefaultShipping')).toEqual([
      { line1: "12 St James's Square", line2: '', city: 'London', postcode: 'SW1Y 4JH', countryCode: 'GB', phone: '+44 20 7946 0000', company: 'Analytical Engines, Ltd.', firstName: 'Ada', lastName: 'Lovelace', isDefaultBilling: true, isDefaultShipping: true },
    ]);
    expect(await t.ctx.knex('customerShops').where({ customerId: ada.id }).select('shopId', 'status', 'customerType', 'billingCountry')).toEqual([
      { shopId: shopA.id, status: 'active', customerType: 'B2C', billingCountry: 'GB' },
    ]);
    expect(await t.ctx.knex('customers').where({ id: ada.id }).first('billingCity', 'billingCountry')).toEqual({ billingCity: 'London', billingCountry: 'GB' });
    expect(await assignmentsOutOfCustomerOrder()).toEqual({ n: 0 });
    expect(await tagsOutOfCustomerOrder()).toEqual({ n: 0 });

    // Grace existed: mapped, non-empty fields changed; the rest (state, password) kept; tags added to hers.
    const g = await customerByEmail('grace@example.com');
    expect(g).toMatchObject({ id: grace.id, email: 'grace@example.com', lastName: 'Hopper', phone: '+1 703 555 0199', companyName1: 'Navy, Research Lab', marketingOptIn: true, taxExempt: true, state: 'active' });
    expect(g.passwordHash).not.toBeNull();
    expect(await tagsOf(grace.id)).toEqual(['existing', 'newsletter', 'spring-import', 'vip']);
    expect(await t.ctx.knex('addresses').where({ customerId: grace.id }).first('line1', 'line2', 'region', 'postcode', 'countryCode')).toEqual({ line1: '1 Navy Way', line2: 'Suite 5', region: 'VA', postcode: '22202', countryCode: 'US' });
    // Her new billing country reached each of her shops' copies of it (the shop's list filters by them).
    const graceCopies = (await t.ctx.knex('customerShops').where({ customerId: grace.id }).select('billingCountry')) as Array<{ billingCountry: string | null }>;
    expect(new Set(graceCopies.map((copy) => copy.billingCountry))).toEqual(new Set(['US']));
    // Her note from the file is one of her notes, by the staff member who imported it; empty notes add none.
    expect(await t.ctx.knex('customerNotes').where({ customerId: grace.id }).select('body', 'authorName', 'authorStaffId')).toEqual([{ body: 'Likes COBOL, dislikes bugs', authorName: managerName, authorStaffId: managerId }]);
    expect(await t.ctx.knex('customerNotes').where({ customerId: ada.id }).count({ n: '*' }).first()).toEqual({ n: 0 });

    // A formula-looking cell is stored as the text it is, and the list's export neutralises it.
    const formula = await customerByEmail('formula@example.com');
    expect(formula.firstName).toBe("=cmd|' /C calc'!A0");
    const exported = csvRecords((await manager.get(`/admin/customers/export.csv?shop=${shopA.id}`).buffer(true)).text).records;
    expect(exported.find((r) => r.email === 'formula@example.com')?.first_name).toBe("'=cmd|' /C calc'!A0");

    expect(await customerByEmail('margaret@example.com')).toMatchObject({ companyName1: 'Apollo "Guidance" Team', phone: '+1 617 555 0142' });
    expect(await t.ctx.knex('addresses').where({ customerId: (await customerByEmail('edsger@example.com')).id }).first('countryCode', 'region')).toEqual({ countryCode: 'NL', region: 'NH' });

    // Rejected rows changed nothing: no customer for them, and the other shop's customer is as it was.
    for (const email of ['alan@example.com', 'linus@example.com', 'flag@example.com', 'not-an-email']) expect(await customerByEmail(email)).toBeUndefined();
    expect(await t.ctx.knex('customers').where({ id: other.id }).first('firstName', 'lastName', 'marketingOptIn')).toEqual({ firstName: 'Other', lastName: 'Untouched', marketingOptIn: false });
    expect(await shopsOf(other.id)).toEqual([shopB.id]);

    // Audited, per customer and as a whole; the uploaded file is gone, the report stays.
    expect(await t.ctx.knex('auditLog').where({ customerId: ada.id, action: 'customer.imported' }).first()).toBeDefined();
    expect(await t.ctx.knex('auditLog').where({ customerId: grace.id, action: 'customer.import_updated' }).first()).toBeDefined();
    const record = await t.ctx.knex('customerImports').where({ id: Number(location.split('/').pop()) }).first();
    expect(record.status).toBe('done');
    // Removed right after the report is saved.
    await eventually(async () => ((await t.ctx.files.exists(record.storageKey)) ? undefined : true), 5_000, 'the uploaded file to be removed');
    expect(report.text).toContain(`/admin/customers?shop=${shopA.id}&amp;tag=spring-import`);
  });

  it('re-importing the same file updates rather than duplicates', async () => {
    const before = await snapshot();
    const location = await upload(manager, await fixture('shopify-customers.csv'), 'customers_export.csv', { tag: 'Spring-Import' });
    const report = await run(manager, location, 'import');
    expect(report.counts).toEqual({ created: 0, updated: 5, rejected: 8 });
    const after = await snapshot();
    expect(after.customers.map((c) => c.id)).toEqual(before.customers.map((c) => c.id));
    // Nothing to change: not even updated_at moved, and no address, tag or note was added.
    expect(after).toEqual(before);
  });

  it('rejects a row that matches an erased customer (F-CUST-9), changing nothing of them', async () => {
    const erased = await makeCustomer(t.ctx.knex, [shopA.id], { firstName: '', lastName: '' });
    const placeholder = `erased-${erased.id}@erased.invalid`;
    await t.ctx.knex('customers').where({ id: erased.id }).update({ email: placeholder, erasedAt: new Date() });
    const file = Buffer.from(`Email,First Name,Tags\n${placeholder},Back Again,returned\n`);
    const report = await run(owner, await upload(owner, file, 'erased.csv'), 'import');
    expect(report.counts).toEqual({ created: 0, updated: 0, rejected: 1 });
    expect(report.rejected).toEqual([[2, placeholder, 'This customer’s personal data was erased; the record can no longer be changed']]);
    expect(await t.ctx.knex('customers').where({ id: erased.id }).first('firstName')).toEqual({ firstName: '' });
    expect(await tagsOf(erased.id)).toEqual([]);
  });

  it('adds a note with its line breaks, stores markup as text, and rejects control characters and over-long notes', async () => {
    const file = Buffer.from(
      `Email,First Name,Note\nnote-multi@example.com,Multi,"First line\nsecond line"\nnote-bell@example.com,Bell,"ring\u0007"\nnote-long@example.com,Long,${'x'.repeat(5001)}\nnote-script@example.com,Script,<script>alert(1)</script>\n`,
    );
    const report = await run(owner, await upload(owner, file, 'notes.csv'), 'import');
    expect(report.counts).toEqual({ created: 2, updated: 0, rejected: 2 });
    expect(report.rejected).toEqual([
      [3, 'note-bell@example.com', 'Note contains a control character'],
      [4, 'note-long@example.com', 'Note is longer than 5000 characters'],
    ]);
    const noteOf = async (email: string) => (await t.ctx.knex('customerNotes').where({ customerId: (await customerByEmail(email)).id }).pluck('body')) as string[];
    expect(await noteOf('note-multi@example.com')).toEqual(['First line\nsecond line']);
    expect(await noteOf('note-script@example.com')).toEqual(['<script>alert(1)</script>']);
    expect(await customerByEmail('note-bell@example.com')).toBeUndefined();
  });

  it('sets purchase limits in the import’s shop, once, and reports each bad limit with its reason', async () => {
    const file = Buffer.from(
      [
        'Email,First Name,Purchase limit,Purchase limit period,Purchase limit start,Purchase limit end',
        'limit-month@example.com,Monthly,1250.50,Monthly,2026-01-01,',
        'limit-fixed@example.com,Fixed,500,,2026-03-01,2026-05-31',
        'limit-both@example.com,Both,500,monthly,2026-03-01,2026-05-31',
        'limit-noamount@example.com,NoAmount,,monthly,2026-03-01,',
        'limit-baddate@example.com,BadDate,500,,2026-02-30,2026-03-31',
        'limit-backwards@example.com,Backwards,500,,2026-05-01,2026-03-31',
        'limit-zero@example.com,Zero,0,yearly,2026-01-01,',
        "limit-word@example.com,Word,lots,weekly,2026-01-01,",
        'limit-slashes@example.com,Slashes,500,,2026-01-01,1/5/2026',
      ].join('\n') + '\n',
    );
    const location = await upload(owner, file, 'limits.csv', { shop: shopB.id });
    expect(mappingOf(await settled(owner, location))).toEqual(['email', 'first_name', 'purchase_limit', 'purchase_limit_period', 'purchase_limit_start', 'purchase_limit_end']);
    const report = await run(owner, location, 'import');
    expect(report.counts).toEqual({ created: 2, updated: 0, rejected: 7 });
    expect(report.rejected).toEqual([
      [4, 'limit-both@example.com', 'A purchase limit needs either an end date or a period (monthly, quarterly, yearly), not both'],
      [5, 'limit-noamount@example.com', 'A purchase limit needs an amount and a start date'],
      [6, 'limit-baddate@example.com', 'Purchase limit: start date must be a date as YYYY-MM-DD, not “2026-02-30”'],
      [7, 'limit-backwards@example.com', 'The purchase limit ends before it starts'],
      [8, 'limit-zero@example.com', 'Purchase limit: amount must be above zero'],
      [9, 'limit-word@example.com', 'Purchase limit: amount must be a number like 500 or 1250.50, not “lots”; Purchase limit: period must be monthly, quarterly or yearly, not “weekly”'],
      [10, 'limit-slashes@example.com', 'Purchase limit: end date must be a date as YYYY-MM-DD, not “1/5/2026”'],
    ]);
    const limitOf = async (email: string) =>
      t.ctx.knex('purchaseLimits').where({ customerId: (await customerByEmail(email)).id }).select('shopId', 'amount', t.ctx.knex.raw("to_char(start_date, 'YYYY-MM-DD') AS start"), t.ctx.knex.raw("to_char(end_date, 'YYYY-MM-DD') AS end"), 'period');
    expect(await limitOf('limit-month@example.com')).toEqual([{ shopId: shopB.id, amount: 125050, start: '2026-01-01', end: null, period: 'monthly' }]);
    expect(await limitOf('limit-fixed@example.com')).toEqual([{ shopId: shopB.id, amount: 50000, start: '2026-03-01', end: '2026-05-31', period: null }]);
    const monthly = (await customerByEmail('limit-month@example.com')).id;
    const timeline = sectionText((await owner.get(`/admin/customers/${monthly}`)).text, 'w-timeline');
    expect(timeline).toContain('Purchase limit set by an import');
    expect(timeline).toContain('Created by a customer import');
    expect(timeline).toContain('File line: 2');

    // The same file again sets nothing new: no second timeline entry, the limit untouched.
    const audits = () => t.ctx.knex('auditLog').where({ action: 'purchase_limit.imported' }).count({ n: '*' }).first();
    expect(await audits()).toEqual({ n: 2 });
    const before = await t.ctx.knex('purchaseLimits').where({ customerId: monthly }).first('updatedAt');
    expect((await run(owner, await upload(owner, file, 'limits.csv', { shop: shopB.id }), 'import')).counts).toEqual({ created: 0, updated: 2, rejected: 7 });
    expect(await audits()).toEqual({ n: 2 });
    expect(await t.ctx.knex('purchaseLimits').where({ customerId: monthly }).first('updatedAt')).toEqual(before);
  });

  it('sets order rules (the credit limit among them): an empty cell keeps the customer’s rule, a bad one rejects the row', async () => {
    const knex = t.ctx.knex;
    const ruled = await makeCustomer(knex, [shopA.id], { email: 'rules-existing@example.com' });
    await knex('customers').where({ id: ruled.id }).update({ requireApproval: true, requireApprovalOver: 10_000, blockCheckout: false, blockCheckoutOver: 90_000 });
    const file = Buffer.from(
      [
        'Email,Require approval,Approval limit,Block checkout,Credit limit',
        'rules-new@example.com,no,250.50,yes,1000',
        'rules-zero@example.com,,0,,0',
        'rules-existing@example.com,,,yes,',
        'rules-negative@example.com,,-5,,',
        "rules-word@example.com,maybe,,,lots",
        "rules-inject@example.com,,,,' OR 1=1 --",
      ].join('\n') + '\n',
    );
    const location = await upload(owner, file, 'rules.csv');
    expect(mappingOf(await settled(owner, location))).toEqual(['email', 'require_approval', 'approval_limit', 'block_checkout', 'checkout_limit']);
    const report = await run(owner, location, 'import');
    expect(report.counts).toEqual({ created: 2, updated: 1, rejected: 3 });
    expect(report.rejected).toEqual([
      [5, 'rules-negative@example.com', 'Order rules: approval limit must not be negative'],
      [6, 'rules-word@example.com', 'Order rules: every order needs approval must be yes or no, not “maybe”; Order rules: checkout limit must be a number like 500 or 1250.50, not “lots”'],
      [7, 'rules-inject@example.com', 'Order rules: checkout limit must be a number like 500 or 1250.50, not “\' OR 1=1 --”'],
    ]);
    const rulesOf = async (email: string) =>
      knex('customers').where({ email }).first('requireApproval', 'requireApprovalOver', 'blockCheckout', 'blockCheckoutOver');
    expect(await rulesOf('rules-new@example.com')).toEqual({ requireApproval: false, requireApprovalOver: 25_050, blockCheckout: true, blockCheckoutOver: 100_000 });
    expect(await rulesOf('rules-zero@example.com')).toEqual({ requireApproval: false, requireApprovalOver: 0, blockCheckout: false, blockCheckoutOver: 0 });
    // Only the cell given changed; the rules the file leaves empty are kept.
    expect(await rulesOf('rules-existing@example.com')).toEqual({ requireApproval: true, requireApprovalOver: 10_000, blockCheckout: true, blockCheckoutOver: 90_000 });
    // The dashboard's edit form shows what the import set.
    const form = (await owner.get(`/admin/customers/${(await customerByEmail('rules-new@example.com')).id}/edit`)).text;
    expect(form).toMatch(/name="requireApprovalOver"[^>]*value="250.50"/);
    expect(form).toMatch(/name="blockCheckoutOver"[^>]*value="1000.00"/);

    // The same file again changes nothing, so it writes no timeline entry.
    const updates = () => knex('auditLog').where({ action: 'customer.import_updated' }).count({ n: '*' }).first();
    const before = await updates();
    expect((await run(owner, await upload(owner, file, 'rules.csv'), 'import')).counts).toEqual({ created: 0, updated: 3, rejected: 3 });
    expect(await updates()).toEqual(before);
    expect(await rulesOf('rules-existing@example.com')).toEqual({ requireApproval: true, requireApprovalOver: 10_000, blockCheckout: true, blockCheckoutOver: 90_000 });
  });

  it('an owner may update a customer of any shop; the customer gains the chosen shop', async () => {
    const file = Buffer.from('Email,First Name,Tags\nothershop@example.com,Otto,owner-fixed\n');
    const report = await run(owner, await upload(owner, file, 'one.csv'), 'import');
    expect(report.counts).toEqual({ created: 0, updated: 1, rejected: 0 });
    expect(await t.ctx.knex('customers').where({ id: other.id }).first('firstName', 'lastName')).toEqual({ firstName: 'Otto', lastName: 'Untouched' });
    expect(await shopsOf(other.id)).toEqual([shopA.id, shopB.id].sort((a, b) => a - b));
    expect(await tagsOf(other.id)).toEqual(['owner-fixed']);
    expect(await assignmentsOutOfCustomerOrder()).toEqual({ n: 0 });
    expect(await tagsOutOfCustomerOrder()).toEqual({ n: 0 });
  });

  it('reads Magento’s customer main file as it is, and never shows its password hashes', async () => {
    const location = await upload(owner, await fixture('magento-customer-main.csv'), 'customer_main.csv', { shop: shopB.id });
    const page = await settled(owner, location);
    const mapping = mappingOf(page);
    const header = 'email,_website,_store,confirmation,created_at,created_in,disable_auto_group_change,dob,firstname,gender,group_id,lastname,middlename,password_hash,prefix,rp_token,rp_token_created_at,store_id,suffix,taxvat,website_id,password'.split(',');
    expect(Object.fromEntries(header.map((name, i) => [name, mapping[i]]).filter(([, field]) => field))).toEqual({ email: 'email', firstname: 'first_name', lastname: 'last_name', middlename: 'middle_name', prefix: 'salutation' });
    expect(page).not.toContain('9f2c5e3a1b7d');
    expect(page).not.toContain('0:3:abcdef');
    expect(textOf(page)).toContain('Not imported: passwords are never imported.');

    const report = await run(owner, location, 'import');
    expect(report.counts).toEqual({ created: 2, updated: 1, rejected: 1 });
    expect(report.rejected).toEqual([[5, 'broken@', 'E-mail “broken@” is not a valid address']]);
    expect(await customerByEmail('roni_cost@example.com')).toMatchObject({ firstName: 'Veronica', middleName: 'Rose', lastName: 'Costello', salutation: 'Ms.', state: 'guest', passwordHash: null });
    expect(await customerByEmail('grace@example.com')).toMatchObject({ id: grace.id, firstName: 'Grace Brewster', middleName: 'Murray', salutation: 'Dr.' });
    expect(await shopsOf(grace.id)).toEqual([shopA.id, shopB.id].sort((a, b) => a - b));
  });

  it('imports the first sheet of an Excel workbook, with a column mapped by hand', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Kunden');
    sheet.addRow(['E-Mail', 'Vorname', 'Nachname', 'Telefon', 'Newsletter', 'Land', 'Stadt', 'Straße', 'Kundengruppe']);
    sheet.addRow(['xl-one@example.com', 'Xenia', { richText: [{ text: 'Lu' }, { text: 'ke' }] }, 4930123456, true, 'DE', 'Berlin', 'Unter den Linden 1', 'B2B']);
    sheet.addRow([]);
    sheet.addRow(['xl-two@example.com', 'Yann', { formula: 'B2&"!"', result: 'Xenia!' }, "'+49 30 999", 'no', 'AT', 'Wien', 'Ring 2', 'B2C']);
    sheet.addRow(['no email here', 'Zed', 'Zero', '', '', '', '', '', '']);
    await workbook.xlsx.writeBuffer();
    const file = Buffer.from(await workbook.xlsx.writeBuffer());
    const location = await upload(owner, file, 'kunden.xlsx');
    const page = await settled(owner, location);
    expect(textOf(page)).toContain('Excel workbook · 3 rows');
    // E-mail is recognised in any spelling; the German headers are mapped by hand.
    expect(mappingOf(page)[0]).toBe('email');
    const report = await run(owner, location, 'import', {
      mapping: { 1: 'first_name', 2: 'last_name', 3: 'phone', 4: 'marketing_opt_in', 5: 'address_country', 6: 'address_city', 7: 'address_line1', 8: 'customer_type' },
    });
    expect(report.counts).toEqual({ created: 2, updated: 0, rejected: 1 });
    expect(report.rejected).toEqual([[5, 'no email here', 'E-mail “no email here” is not a valid address']]);
    expect(await customerByEmail('xl-one@example.com')).toMatchObject({ firstName: 'Xenia', lastName: 'Luke', phone: '4930123456', marketingOptIn: true, customerType: 'B2B' });
    expect(await customerByEmail('xl-two@example.com')).toMatchObject({ lastName: 'Xenia!', phone: '+49 30 999', marketingOptIn: false, customerType: 'B2C' });
    expect(await t.ctx.knex('addresses').where({ customerId: (await customerByEmail('xl-two@example.com')).id }).first('line1', 'city', 'countryCode')).toEqual({ line1: 'Ring 2', city: 'Wien', countryCode: 'AT' });
  });

  it('refuses a mapping without the e-mail column, or with a field twice, and keeps the choice on the page', async () => {
    const location = await upload(owner, Buffer.from('Mail,Name\nm@example.com,M\n'), 'm.csv');
    const page = await settled(owner, location);
    expect(mappingOf(page)).toEqual(['', '']);
    const token = csrfFrom(page);
    const noEmail = await owner.post(`${location}/run`).type('form').send({ _csrf: token, mode: 'dry_run', col_0: '', col_1: 'first_name' });
    expect(noEmail.status).toBe(422);
    expect(textOf(noEmail.text)).toContain('Choose the column that holds the e-mail address');
    expect(mappingOf(noEmail.text)).toEqual(['', 'first_name']);
    const twice = await owner.post(`${location}/run`).type('form').send({ _csrf: token, mode: 'dry_run', col_0: 'email', col_1: 'email' });
    expect(twice.status).toBe(422);
    expect(textOf(twice.text)).toContain('“E-mail” is chosen for more than one column');
    const report = await run(owner, location, 'import', { mapping: { 0: 'email', 1: 'first_name' } });
    expect(report.counts).toEqual({ created: 1, updated: 0, rejected: 0 });
    // Done is done: the same import cannot run again (upload the file again instead).
    const again = await owner.post(`${location}/run`).type('form').send({ _csrf: token, mode: 'import', col_0: 'email', col_1: 'first_name' });
    expect(again.status).toBe(409);
  });

  it('marks a CSV whose quoted value is never closed as failed, saying near which line', async () => {
    const file = 'Email,First Name\nok@example.com,Okay\nopen@example.com,"Never closed\nnext@example.com,Next\n';
    const text = textOf(await settled(owner, await upload(owner, Buffer.from(file), 'quotes.csv')));
    // The line the quote opens on.
    expect(text).toContain('The CSV file could not be read near line 3: a quoted value is never closed. Check the file in a spreadsheet program and save it again as CSV UTF-8.');
  });

  it('reads a quote after a quoted value, as a hand-edited file has it, as part of the value', async () => {
    const file = 'Email,First Name\nok@example.com,Okay\nada@example.com,"Ada" Lovelace\nnext@example.com,Next\n';
    const location = await upload(owner, Buffer.from(file), 'quotes.csv');
    await settled(owner, location);
    const record = await t.ctx.knex('customerImports').where({ id: Number(location.split('/').pop()) }).first();
    expect({ status: record.status, rows: record.rowCount, second: record.sampleRows[1] }).toEqual({ status: 'ready', rows: 3, second: ['ada@example.com', '"Ada" Lovelace'] });
  });

  it('marks a file that is not valid UTF-8 throughout as failed, with the reason', async () => {
    // Valid for the first 64 KiB the upload checks, broken further on: the worker reads it all.
    const head = `Email,First Name\n${'ok@example.com,Okay\n'.repeat(4_000)}`;
    const file = Buffer.concat([Buffer.from(head), Buffer.from('bad@example.com,M\xfcller\n', 'latin1')]);
    const location = await upload(owner, file, 'latin1.csv');
    const page = await settled(owner, location);
    expect(textOf(page)).toContain('This file is not UTF-8 text');
    expect(page).toContain('Upload another file');
    const record = await t.ctx.knex('customerImports').where({ id: Number(location.split('/').pop()) }).first();
    expect(record.status).toBe('failed');
    expect(await t.ctx.files.exists(record.storageKey)).toBe(false);
  });
});
