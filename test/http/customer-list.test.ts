import { PassThrough } from 'node:stream';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { EXPORT_COLUMNS, writeCustomerCsv } from '../../app/services/customer-export.service.js';
import { csrfFrom, loginStaff, type Agent } from '../support/agents.js';
import { grantCredit, makeAddress, makeCustomer, makeOrder, makeShop, makeStaff, type CustomerOverrides } from '../support/factories.js';
import { csvRecords } from '../support/csv.js';
import { escapeHtml, linkWithRel, tableRows } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

// Column positions in the rendered table (F-LIST-1).
const NAME = 0, EMAIL = 1, CITY = 2, COUNTRY = 3, ORDERS = 4, LAST_ORDER = 5, TOTAL = 6, STATE = 7;

const emailsOf = (html: string) => tableRows(html).map((row) => row[EMAIL]);
const day = (iso: string) => new Date(`${iso}T12:00:00Z`);

async function customerWith(knex: Knex, shopIds: number[], overrides: CustomerOverrides) {
  return makeCustomer(knex, shopIds, overrides);
}

describe('admin customer list: search (F-LIST-3)', () => {
  let t: TestApp;
  let staff: Agent;

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    const shop = await makeShop(knex, { code: 'north', name: 'North', hostname: 'north.localhost' });
    const s = [shop.id];
    await customerWith(knex, s, { email: 'alice@example.test', firstName: 'Alice', lastName: 'Wonder', companyName1: 'Acme GmbH', phone: '+49 30 1234567' });
    await customerWith(knex, s, { email: 'bob@sample.test', firstName: 'Bob', lastName: "O'Brien", companyName1: 'Widgets & Co', phone: '0171 555 0000' });
    await customerWith(knex, s, { email: 'carol@example.test', firstName: 'Carol', lastName: '100% Real' });
    await customerWith(knex, s, { email: 'dave_x@example.test', firstName: 'Dave', lastName: 'Under' });
    await customerWith(knex, s, { email: 'davexx@example.test', firstName: 'Dave', lastName: 'Xx' });
    await customerWith(knex, s, { email: 'eve@example.test', firstName: 'Eve', lastName: 'Back\\slash' });
    const owner = await makeStaff(knex, { role: 'owner' });
    staff = await loginStaff(t.app, owner.email);
  });
  afterAll(() => t.close());

  const search = async (q: string) => {
    const page = await staff.get('/admin/customers').query({ q });
    expect(page.status).toBe(200);
    return page;
  };

  it.each([
    ['an e-mail fragment', 'ALICE@EXAMPLE', ['alice@example.test']],
    ['a first name, in another case', 'bOb', ['bob@sample.test']],
    ['a last name', 'wonder', ['alice@example.test']],
    ['first and last name together', 'alice WONDER', ['alice@example.test']],
    ['a company fragment', 'acme', ['alice@example.test']],
    ['a company with an ampersand', 'widgets & co', ['bob@sample.test']],
    ['a phone fragment', '1234', ['alice@example.test']],
    ['a phone fragment with spaces', '555 00', ['bob@sample.test']],
    ['a name with an apostrophe', "o'brien", ['bob@sample.test']],
    ['a domain shared by several', 'sample.TEST', ['bob@sample.test']],
  ])('matches %s', async (_case, q, expected) => {
    expect((emailsOf((await search(q)).text)).sort()).toEqual([...expected].sort());
  });

  it('trims the search and matches everyone for an empty one', async () => {
    expect(emailsOf((await search('  alice  ')).text)).toEqual(['alice@example.test']);
    const everyone = (await search('')).text;
    expect(emailsOf(everyone)).toHaveLength(6);
    // Its symbols (sort arrows, money, dashes) are written as references: the page stays one byte a character.
    expect([...everyone].filter((character) => character.codePointAt(0)! > 0xff)).toEqual([]);
  });

  it.each([
    ['100%', ['carol@example.test']],
    ['e_x', ['dave_x@example.test']],
    ['k\\s', ['eve@example.test']],
  ])('treats the LIKE meta-character in %j as a literal', async (q, expected) => {
    expect(emailsOf((await search(q)).text)).toEqual(expected);
  });

  it.each(['%', '_', '\\', 'al'])('asks for 3 characters instead of searching for %j', async (q) => {
    const page = await search(q);
    expect(page.text).toContain('Type at least 3 characters to search.');
    expect(emailsOf(page.text)).toHaveLength(6);
  });

  it('answers an SQL-looking search with an empty result, shown escaped', async () => {
    const page = await search("' OR 1=1 --");
    expect(tableRows(page.text)).toEqual([]);
    expect(page.text).toContain('No customers found.');
    expect(page.text).toContain(`Search: ${escapeHtml("' OR 1=1 --")}`);
    expect(page.text).toContain(`value="${escapeHtml("' OR 1=1 --")}"`);
  });

  it('survives other hostile searches', async () => {
    for (const q of ['"; DROP TABLE customers; --', '$1', '?', '??', ':name', '\u0000', '%%%%', 'a'.repeat(500)]) {
      const page = await staff.get('/admin/customers').query({ q });
      expect(page.status, q).toBe(200);
    }
    expect(emailsOf((await search('')).text)).toHaveLength(6);
    expect(emailsOf((await search('ali\u0000ce')).text)).toEqual(['alice@example.test']);
  });

  it('does not crash on q sent as an array or nested key', async () => {
    expect((await staff.get('/admin/customers?q=alice&q=bob')).status).toBe(200);
    expect(emailsOf((await staff.get('/admin/customers?q=alice&q=bob')).text)).toEqual(['alice@example.test']);
    expect((await staff.get('/admin/customers?q[]=alice')).status).toBe(200);
  });
});

describe('admin customer list: sorting and columns (F-LIST-1)', () => {
  let t: TestApp;
  let staff: Agent;
  const c: Record<string, { id: number; email: string }> = {};
  const lastOrderIds: Record<string, number> = {};

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    const shop = await makeShop(knex, { code: 'north', name: 'North', hostname: 'north.localhost' });
    const s = [shop.id];
    // Created in this order, so ids ascend c1 < c2 < … < c5; ties must be broken by id.
    c.c1 = await customerWith(knex, s, { email: 'z-anna@example.test', firstName: 'Anna', lastName: 'Zeller', createdAt: day('2024-01-05') });
    c.c2 = await customerWith(knex, s, { email: 'a-bob@example.test', firstName: 'bob', lastName: 'adams', state: 'disabled', createdAt: day('2024-02-01') });
    c.c3 = await customerWith(knex, s, { email: 'M-carla@example.test', firstName: 'Carla', lastName: 'Meyer', state: 'invited', createdAt: day('2023-12-31') });
    c.c4 = await customerWith(knex, s, { email: 'b-dan@example.test', firstName: 'Dan', lastName: 'Meyer', createdAt: day('2024-03-01') });
    c.c5 = await customerWith(knex, s, { email: 'c-eve@example.test', firstName: 'Eve', lastName: 'Brown', state: 'guest', createdAt: day('2024-01-05') });

    await makeAddress(knex, c.c1.id, { city: 'Berlin', countryCode: 'DE', isDefaultBilling: true });
    await makeAddress(knex, c.c1.id, { city: 'Paris', countryCode: 'FR', isDefaultShipping: true });
    await makeAddress(knex, c.c2.id, { city: 'aachen', countryCode: 'DE', isDefaultBilling: true });
    await makeAddress(knex, c.c3.id, { city: 'Zurich', countryCode: 'CH', isDefaultBilling: true });
    // c4 has an address, but not a default billing one: its city and country stay empty.
    await makeAddress(knex, c.c4.id, { city: 'Hamburg', countryCode: 'DE', isDefaultShipping: true });
    await makeAddress(knex, c.c5.id, { city: 'Berlin', countryCode: 'AT', isDefaultBilling: true });

    await makeOrder(knex, c.c1.id, shop.id, 1000, day('2025-02-01'));
    lastOrderIds.c1 = (await makeOrder(knex, c.c1.id, shop.id, 500, day('2025-03-01'))).id;
    lastOrderIds.c3 = (await makeOrder(knex, c.c3.id, shop.id, 12_345_678, day('2025-01-15'))).id;
    lastOrderIds.c4 = (await makeOrder(knex, c.c4.id, shop.id, 1500, day('2025-03-10'))).id;
    await makeOrder(knex, c.c5.id, shop.id, 100, day('2024-10-01'));
    await makeOrder(knex, c.c5.id, shop.id, 100, day('2024-11-01'));
    lastOrderIds.c5 = (await makeOrder(knex, c.c5.id, shop.id, 100, day('2024-12-01'))).id;
    // A cancelled order counts towards nothing (the trigger recomputes on the status change).
    const cancelled = await makeOrder(knex, c.c5.id, shop.id, 99_900, day('2025-06-01'));
    await knex('orders').where({ id: cancelled.id }).update({ status: 'cancelled' });

    const owner = await makeStaff(knex, { role: 'owner' });
    staff = await loginStaff(t.app, owner.email);
  });
  afterAll(() => t.close());

  const order = (...keys: string[]) => keys.map((key) => c[key]!.email);
  const sorted = async (query: string) => {
    const page = await staff.get(`/admin/customers?${query}`);
    expect(page.status).toBe(200);
    return emailsOf(page.text);
  };

  // Ascending order per column; descending must be exactly the reverse (ties by id, nulls first when ascending).
  it.each([
    ['name', ['c2', 'c5', 'c3', 'c4', 'c1']], // adams bob, brown eve, meyer carla, meyer dan, zeller anna
    ['email', ['c2', 'c4', 'c5', 'c3', 'c1']], // case-insensitive: a-, b-, c-, M-, z-
    ['city', ['c4', 'c2', 'c1', 'c5', 'c3']], // (none), aachen, Berlin (c1), Berlin (c5), Zurich
    ['country', ['c4', 'c5', 'c3', 'c2', 'c1']], // (none), AT, CH, DE aachen, DE Berlin: a country's customers by city
    ['orders', ['c2', 'c3', 'c4', 'c1', 'c5']], // 0, 1, 1, 2, 3
    ['last_order', ['c2', 'c5', 'c3', 'c1', 'c4']], // (none), 2024-12-01, 2025-01-15, 2025-03-01, 2025-03-10
    ['total_spent', ['c2', 'c5', 'c1', 'c4', 'c3']], // 0, 3.00, 15.00, 15.00, 123,456.78
    ['state', ['c1', 'c4', 'c2', 'c5', 'c3']], // active, active, disabled, guest, invited
    ['created', ['c3', 'c1', 'c5', 'c2', 'c4']], // 2023-12-31, 2024-01-05 (c1), 2024-01-05 (c5), 2024-02-01, 2024-03-01
  ])('sorts by %s ascending and descending', async (column, ascending) => {
    expect(await sorted(`sort=${column}&dir=asc`)).toEqual(order(...ascending));
    expect(await sorted(`sort=${column}&dir=desc`)).toEqual(order(...[...ascending].reverse()));
  });

  it('defaults to newest first', async () => {
    const newestFirst = order('c4', 'c2', 'c5', 'c1', 'c3');
    expect(await sorted('')).toEqual(newestFirst);
    expect(await sorted('dir=desc&sort=created')).toEqual(newestFirst);
  });

  it.each([
    ['an unknown column', 'sort=password_hash', ['c4', 'c2', 'c5', 'c1', 'c3']],
    ['SQL as the column', 'sort=' + encodeURIComponent('c.id; DROP TABLE customers; --'), ['c4', 'c2', 'c5', 'c1', 'c3']],
    ['an unknown direction', 'sort=name&dir=sideways', ['c1', 'c4', 'c3', 'c5', 'c2']],
    ['SQL as the direction', 'sort=name&dir=' + encodeURIComponent('asc, (select 1)'), ['c1', 'c4', 'c3', 'c5', 'c2']],
    ['sort[]=x', 'sort[]=x', ['c4', 'c2', 'c5', 'c1', 'c3']],
    ['sort[]=name&dir[]=asc', 'sort[]=name&dir[]=asc', ['c4', 'c2', 'c5', 'c1', 'c3']],
    ['sort given twice (the first one wins)', 'sort=email&sort=name&dir=asc', ['c2', 'c4', 'c5', 'c3', 'c1']],
    ['a page that is not a number', 'page=abc&sort=email&dir=asc', ['c2', 'c4', 'c5', 'c3', 'c1']],
    ['a negative page', 'page=-3&sort=email&dir=asc', ['c2', 'c4', 'c5', 'c3', 'c1']],
    ['a shop that is not a number', 'shop=north&sort=email&dir=asc', ['c2', 'c4', 'c5', 'c3', 'c1']],
  ])('falls back to defaults for %s instead of erroring', async (_case, query, expected) => {
    expect(await sorted(query)).toEqual(order(...expected));
  });

  it('takes the first sort and direction given, passing over empty fields before them', async () => {
    expect(await sorted('sort=&sort=email&dir=&dir=asc')).toEqual(order('c2', 'c4', 'c5', 'c3', 'c1'));
  });

  it('marks the active sort column and links its header to the other direction', async () => {
    const page = await staff.get('/admin/customers?sort=total_spent&dir=asc');
    expect(page.text).toMatch(/<th scope="col" class="num" aria-sort="ascending">\s*<a class="sort is-active" href="\/admin\/customers\?sort=total_spent"/);
    expect(page.text).toContain('href="/admin/customers?sort=name&amp;dir=asc"');
    expect(page.text.match(/aria-sort=/g)).toHaveLength(1);
  });

  it('shows orders, total spent, last order, city and country from the default billing address, and the state', async () => {
    const page = await staff.get('/admin/customers?sort=email&dir=asc');
    const rows = Object.fromEntries(tableRows(page.text).map((row) => [row[EMAIL], row]));

    expect(rows[c.c1!.email]).toEqual(['Anna Zeller', c.c1!.email, 'Berlin', 'DE', '2', '1 Mar 2025', '€15.00', 'Active']);
    expect(rows[c.c2!.email]).toEqual(['bob adams', c.c2!.email, 'aachen', 'DE', '0', '—', '€0.00', 'Disabled']);
    expect(rows[c.c3!.email]).toEqual(['Carla Meyer', c.c3!.email, 'Zurich', 'CH', '1', '15 Jan 2025', '€123,456.78', 'Invited']);
    expect(rows[c.c4!.email]).toEqual(['Dan Meyer', c.c4!.email, '—', '—', '1', '10 Mar 2025', '€15.00', 'Active']);
    // The cancelled order of 1 Jun 2025 is neither counted nor the last order.
    expect(rows[c.c5!.email]).toEqual(['Eve Brown', c.c5!.email, 'Berlin', 'AT', '3', '1 Dec 2024', '€3.00', 'Guest']);

    // Links: the name to the customer, the last-order date to that order on the customer page.
    for (const key of ['c1', 'c3', 'c4', 'c5']) {
      expect(page.text).toContain(`<a href="/admin/customers/${c[key]!.id}#order-${lastOrderIds[key]}">`);
    }
    expect(page.text).toContain(`<a href="/admin/customers/${c.c1!.id}">Anna Zeller</a>`);
    expect(page.text).toContain('<span class="badge badge-disabled">Disabled</span>');
    expect(page.text).toContain('<span class="badge badge-guest">Guest</span>');
    // The cells' positions, for readers of this test: name, e-mail, city, country, orders, last order, total, state.
    expect([NAME, EMAIL, CITY, COUNTRY, ORDERS, LAST_ORDER, TOTAL, STATE]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('lists a customer whose name is empty with a dash, not an empty link', async () => {
    const knex = t.ctx.knex;
    const shopId = (await knex('shops').first('id')).id as number;
    const nameless = await customerWith(knex, [shopId], { email: 'nameless@example.test', firstName: '', lastName: '' });
    try {
      const page = await staff.get('/admin/customers?q=nameless');
      expect(tableRows(page.text)).toEqual([['—', 'nameless@example.test', '—', '—', '0', '—', '€0.00', 'Active']]);
    } finally {
      await knex('customers').where({ id: nameless.id }).delete();
    }
  });
});

describe('admin customer list: paging and htmx', () => {
  let t: TestApp;
  let staff: Agent;
  /** All 30 e-mails, newest first (the default order). */
  let newestFirst: string[];

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    const shop = await makeShop(knex, { code: 'north', name: 'North', hostname: 'north.localhost' });
    const created: string[] = [];
    for (let i = 1; i <= 30; i++) {
      const email = `pager${String(i).padStart(2, '0')}@example.test`;
      const companyName1 = i <= 25 ? 'Exactly One Page Ltd' : 'Overflow Ltd';
      await customerWith(knex, [shop.id], { email, firstName: 'Page', lastName: `Person ${i}`, companyName1, createdAt: new Date(Date.UTC(2024, 0, i)) });
      created.push(email);
    }
    newestFirst = created.reverse();
    const owner = await makeStaff(knex, { role: 'owner' });
    staff = await loginStaff(t.app, owner.email);
  });
  afterAll(() => t.close());

  /** A paging link as path and query, checked to stay on the list and keep the given parameters. */
  function pagingLink(html: string, rel: 'next' | 'prev', keeps: Record<string, string> = {}): string | null {
    const href = linkWithRel(html, rel);
    if (href === null) return null;
    const url = new URL(href, 'http://admin.localhost');
    expect(url.pathname).toBe('/admin/customers');
    for (const [key, value] of Object.entries(keeps)) expect(url.searchParams.get(key), key).toBe(value);
    return `${url.pathname}${url.search}`;
  }

  it('shows 25 rows on page 1 with a Next link and no Previous link', async () => {
    const page = await staff.get('/admin/customers');
    expect(emailsOf(page.text)).toEqual(newestFirst.slice(0, 25));
    expect(pagingLink(page.text, 'next')).not.toBeNull();
    expect(pagingLink(page.text, 'prev')).toBeNull();
  });

  it('shows the next rows on page 2 with a Previous link and no Next link', async () => {
    // Following the links gets there and back.
    const next = pagingLink((await staff.get('/admin/customers')).text, 'next')!;
    const second = await staff.get(next);
    expect(emailsOf(second.text)).toEqual(newestFirst.slice(25));
    expect(pagingLink(second.text, 'next')).toBeNull();
    const prev = pagingLink(second.text, 'prev');
    expect(prev).not.toBeNull();
    expect(emailsOf((await staff.get(prev!)).text)).toEqual(newestFirst.slice(0, 25));
  });

  it('keeps search and sort in the paging links, and pages through the sorted result', async () => {
    const keeps = { q: 'pager', sort: 'email', dir: 'asc' };
    const first = await staff.get('/admin/customers?q=pager&sort=email&dir=asc');
    const ascending = [...newestFirst].reverse();
    expect(emailsOf(first.text)).toEqual(ascending.slice(0, 25));
    const second = await staff.get(pagingLink(first.text, 'next', keeps)!);
    expect(emailsOf(second.text)).toEqual(ascending.slice(25));
    expect(pagingLink(second.text, 'next')).toBeNull();
    expect(emailsOf((await staff.get(pagingLink(second.text, 'prev', keeps)!)).text)).toEqual(ascending.slice(0, 25));
  });

  it('shows an empty page past the end with a way back instead of erroring', async () => {
    // A cursor beyond the oldest customer: nothing left, but a link back to the first page.
    const beyond = Buffer.from(JSON.stringify(['1970-01-01T00:00:00.000000Z', 1])).toString('base64url');
    const page = await staff.get(`/admin/customers?after=${beyond}`);
    expect(page.status).toBe(200);
    expect(tableRows(page.text)).toEqual([]);
    expect(page.text).toContain('Back to the first page');
    expect(pagingLink(page.text, 'next')).toBeNull();
  });

  it('has no Next link when exactly one page of rows matches', async () => {
    const page = await staff.get('/admin/customers?q=' + encodeURIComponent('exactly one page'));
    expect(emailsOf(page.text)).toEqual(newestFirst.slice(5));
    expect(pagingLink(page.text, 'next')).toBeNull();
    expect(pagingLink(page.text, 'prev')).toBeNull();
  });

  it('answers an htmx request with the table fragment only', async () => {
    const next = pagingLink((await staff.get('/admin/customers')).text, 'next')!;
    const page = await staff.get(next).set('HX-Request', 'true');
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="customer-results"');
    expect(page.text).not.toMatch(/<html|<head|<body|id="customer-search"/);
    expect(emailsOf(page.text)).toEqual(newestFirst.slice(25));
    expect(page.headers.vary).toMatch(/\bHX-Request\b/i);
    // The address bar shows the page asked for; a page htmx restores from history is not pushed again.
    expect(page.headers['hx-push-url']).toBe(next);
    const restored = await staff.get(next).set('HX-Request', 'true').set('HX-History-Restore-Request', 'true');
    expect(restored.headers['hx-push-url']).toBeUndefined();
  });

  it('puts the list without the filter form’s empty fields in the address bar and in its links', async () => {
    const formRequest = '/admin/customers?q=exactly&tag=&country=&orders_min=&cols=&sort=email&dir=asc&size=25';
    const page = await staff.get(formRequest).set('HX-Request', 'true');
    expect(page.status).toBe(200);
    expect(page.headers['hx-push-url']).toBe('/admin/customers?q=exactly&cols=&sort=email&dir=asc');
    const links = [...page.text.matchAll(/href="(\/admin\/customers\?[^"]*)"/g)].map((match) => match[1]!.replaceAll('&amp;', '&'));
    expect(links.length).toBeGreaterThan(5);
    const emptyFields = links.flatMap((link) => [...new URL(link, 'http://admin.localhost').searchParams].filter(([key, value]) => value === '' && key !== 'cols'));
    expect(emptyFields).toEqual([]);
    // Nor what the list shows by default (the newest first, 25 a page, customers with any of the tags).
    const defaults = await staff.get('/admin/customers?q=exactly&tag=vip&tagmode=any&sort=created&dir=desc&size=25').set('HX-Request', 'true');
    expect(defaults.headers['hx-push-url']).toBe('/admin/customers?q=exactly&tag=vip');
    expect(defaults.text).toContain('href="/admin/customers?q=exactly&amp;tag=vip&amp;sort=email&amp;dir=asc"');
    expect(defaults.text).not.toMatch(/(tagmode=any|sort=created|dir=desc|size=25)\b/);
    // A full page sets no address: the browser shows the one it asked for.
    expect((await staff.get(formRequest)).headers['hx-push-url']).toBeUndefined();
  });

  it.each([
    ['HX-Request-Type: full', { 'HX-Request': 'true', 'HX-Request-Type': 'full' }],
    ['HX-History-Restore-Request', { 'HX-Request': 'true', 'HX-History-Restore-Request': 'true' }],
    ['no htmx headers', {}],
    ['HX-Request: false', { 'HX-Request': 'false' }],
  ] as Array<[string, Record<string, string>]>)('answers with the full page for %s', async (_case, headers) => {
    const page = await staff.get('/admin/customers').set(headers);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/^<!doctype html>/i);
    expect(page.text).toContain('<html');
    expect(page.text).toContain('id="customer-search"');
    expect(page.text).toContain('id="customer-results"');
    expect(page.headers.vary).toMatch(/\bHX-Request\b/i);
  });
});

describe('admin customer list: staff scope (F-CUST-2, F-STAFF-1)', () => {
  let t: TestApp;
  let owner: Agent;
  let rep: Agent;
  let both: { id: number; email: string };
  let northOnly: { id: number; email: string };
  let southOnly: { id: number; email: string };
  let north: { id: number };
  let south: { id: number };
  let bothNorthLastOrder: number;
  let bothSouthLastOrder: number;
  let repId: number;

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    north = await makeShop(knex, { code: 'north', name: 'North', hostname: 'north.localhost' });
    south = await makeShop(knex, { code: 'south', name: 'South', hostname: 'south.localhost' });

    both = await customerWith(knex, [north.id, south.id], { email: 'both@example.test', firstName: 'Bo', lastName: 'Th' });
    await makeOrder(knex, both.id, north.id, 1000, day('2025-01-01'));
    bothNorthLastOrder = (await makeOrder(knex, both.id, north.id, 2000, day('2025-02-01'))).id;
    bothSouthLastOrder = (await makeOrder(knex, both.id, south.id, 500, day('2025-04-01'))).id;

    northOnly = await customerWith(knex, [north.id], { email: 'north-only@example.test', firstName: 'Nora', lastName: 'North' });
    await makeOrder(knex, northOnly.id, north.id, 3200, day('2025-03-01'));

    southOnly = await customerWith(knex, [south.id], { email: 'south-only@example.test', firstName: 'Sven', lastName: 'South' });
    await makeOrder(knex, southOnly.id, south.id, 9900, day('2025-03-15'));

    const ownerUser = await makeStaff(knex, { role: 'owner' });
    const repUser = await makeStaff(knex, { role: 'sales_rep', shopIds: [north.id] });
    owner = await loginStaff(t.app, ownerUser.email);
    rep = await loginStaff(t.app, repUser.email);
    repId = repUser.id;
  });
  afterAll(() => t.close());

  const rowsByEmail = async (agent: Agent, query = '') => {
    const page = await agent.get(`/admin/customers${query}`);
    expect(page.status).toBe(200);
    return { page, rows: Object.fromEntries(tableRows(page.text).map((row) => [row[EMAIL]!, row])) };
  };

  it('shows a sales rep only the customers of their shop, with that shop’s figures', async () => {
    const { page, rows } = await rowsByEmail(rep);
    expect(Object.keys(rows).sort()).toEqual([both.email, northOnly.email]);
    expect(rows[both.email]!.slice(ORDERS, TOTAL + 1)).toEqual(['2', '1 Feb 2025', '€30.00']);
    // The last-order link points at the north order, never at the south one the rep may not see.
    expect(page.text).toContain(`#order-${bothNorthLastOrder}"`);
    expect(page.text).not.toContain(`#order-${bothSouthLastOrder}"`);
    expect(page.text).not.toContain(southOnly.email);
    // The shop filter offers only the rep's shop.
    expect(page.text).toContain(`<option value="${north.id}"`);
    expect(page.text).not.toContain(`<option value="${south.id}"`);
  });

  it('shows an owner the sum over every shop of a customer', async () => {
    const { page, rows } = await rowsByEmail(owner);
    expect(Object.keys(rows).sort()).toEqual([both.email, northOnly.email, southOnly.email]);
    expect(rows[both.email]!.slice(ORDERS, TOTAL + 1)).toEqual(['3', '1 Apr 2025', '€35.00']);
    expect(page.text).toContain(`#order-${bothSouthLastOrder}"`);
  });

  it('lets an owner narrow the list to one shop, with that shop’s figures', async () => {
    const { rows } = await rowsByEmail(owner, `?shop=${south.id}`);
    expect(Object.keys(rows).sort()).toEqual([both.email, southOnly.email]);
    expect(rows[both.email]!.slice(ORDERS, TOTAL + 1)).toEqual(['1', '1 Apr 2025', '€5.00']);
  });

  it('sorts by the in-scope figures', async () => {
    // For the rep, north-only (32.00) outspends both (30.00 in north); for the owner, both (35.00) wins.
    expect(emailsOf((await rep.get('/admin/customers?sort=total_spent&dir=desc')).text)).toEqual([northOnly.email, both.email]);
    expect(emailsOf((await owner.get('/admin/customers?sort=total_spent&dir=desc')).text)).toEqual([southOnly.email, both.email, northOnly.email]);
    expect(emailsOf((await rep.get('/admin/customers?sort=last_order&dir=desc')).text)).toEqual([northOnly.email, both.email]);
  });

  it('gives a rep nothing for another shop, by filter or by search', async () => {
    // Another shop's id is refused (named in the notice) and the rep's own shop is listed instead.
    const filtered = await rowsByEmail(rep, `?shop=${south.id}`);
    expect(Object.keys(filtered.rows).sort()).toEqual([both.email, northOnly.email].sort());
    expect(filtered.page.text).not.toContain(southOnly.email);
    expect(filtered.page.text).toContain(escapeHtml(`shop “${south.id}”`));
    const searched = await rowsByEmail(rep, '?q=south');
    expect(searched.rows).toEqual({});
    expect(searched.page.text).not.toContain(southOnly.email);
    // Searching for what only the south assignment has (the south order total is not searchable; the name is).
    expect((await rowsByEmail(rep, '?q=sven')).rows).toEqual({});
  });

  it('gives an htmx fragment the same scope', async () => {
    const fragment = await rep.get('/admin/customers?sort=email&dir=asc').set('HX-Request', 'true');
    expect(fragment.text).not.toContain('<html');
    expect(emailsOf(fragment.text)).toEqual([both.email, northOnly.email]);
  });

  it('shows store credit on demand: unexpired only, per currency over all shops, the listed shop’s alone in a shop', async () => {
    const knex = t.ctx.knex;
    await grantCredit(knex, { customerId: both.id, shopId: north.id, amount: 2000 });
    await grantCredit(knex, { customerId: both.id, shopId: north.id, amount: 500, expiresAt: "now() - interval '1 day'" });
    await grantCredit(knex, { customerId: both.id, shopId: south.id, amount: 750, currency: 'GBP' });
    const CREDIT = STATE + 1;
    const creditOf = async (agent: Agent, query: string) => {
      const { page, rows } = await rowsByEmail(agent, `?cols=credit&${query}`);
      expect(page.text).toContain('<th scope="col" class="num">Credit balance</th>');
      return Object.fromEntries(Object.entries(rows).map(([email, row]) => [email, row[CREDIT]]));
    };

    expect(await creditOf(owner, 'shop=all')).toEqual({ [both.email]: '€20.00 · £7.50', [northOnly.email]: '—', [southOnly.email]: '—' });
    expect((await creditOf(owner, `shop=${south.id}`))[both.email]).toBe('£7.50');
    // The rep sees the credit of their own shop only.
    expect(await creditOf(rep, '')).toEqual({ [both.email]: '€20.00', [northOnly.email]: '—' });
    // Without the column, no credit is shown.
    expect((await rowsByEmail(owner, '?cols=')).page.text).not.toContain('Credit balance</th>');
  });

  // Last: it moves the rep to the other shop.
  it('applies a changed shop scope on the rep’s next request, menu included', async () => {
    await t.ctx.knex('staffShopScopes').where({ staffUserId: repId }).delete();
    await t.ctx.knex('staffShopScopes').insert({ staffUserId: repId, shopId: south.id });
    const { page, rows } = await rowsByEmail(rep);
    expect(Object.keys(rows).sort()).toEqual([both.email, southOnly.email]);
    expect(page.text).toContain(`<option value="${south.id}"`);
    expect(page.text).not.toContain(`<option value="${north.id}"`);
    const exported = await rep.get(`/admin/customers/export.csv?shop=${north.id}`);
    expect(exported.text).not.toContain(northOnly.email);
    expect(exported.text).toContain(southOnly.email);
  });
});

describe('admin customer list: shops that sell in different currencies', () => {
  let t: TestApp;
  let owner: Agent;
  let rep: Agent;
  let north: { id: number };
  let south: { id: number };
  const EMAILS = { both: 'both@example.test', north: 'north-only@example.test', south: 'south-only@example.test' };

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    north = await makeShop(knex, { code: 'north', name: 'North', hostname: 'north.localhost' });
    south = await makeShop(knex, { code: 'south', name: 'South', hostname: 'south.localhost' });
    await knex('shops').where({ id: south.id }).update({ currency: 'GBP' });
    const both = await customerWith(knex, [north.id, south.id], { email: EMAILS.both, createdAt: day('2024-01-03') });
    await makeOrder(knex, both.id, north.id, 1000, day('2025-01-01'));
    await makeOrder(knex, both.id, north.id, 2000, day('2025-02-01'));
    await makeOrder(knex, both.id, south.id, 500, day('2025-04-01'));
    const northOnly = await customerWith(knex, [north.id], { email: EMAILS.north, createdAt: day('2024-01-02') });
    await makeOrder(knex, northOnly.id, north.id, 3200, day('2025-03-01'));
    const southOnly = await customerWith(knex, [south.id], { email: EMAILS.south, createdAt: day('2024-01-01') });
    await makeOrder(knex, southOnly.id, south.id, 9900, day('2025-03-15'));
    owner = await loginStaff(t.app, (await makeStaff(knex, { role: 'owner' })).email);
    rep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [north.id] })).email);
  });
  afterAll(() => t.close());

  const WHY = '(your shops sell in EUR and GBP: choose a shop)';
  const rowsOf = (html: string) => Object.fromEntries(tableRows(html).map((row) => [row[EMAIL]!, row]));

  describe('over all shops', () => {
    it('shows one total spent (and one average order value) per currency, and a dash without orders', async () => {
      const page = await owner.get('/admin/customers?shop=all&cols=aov');
      expect(page.status).toBe(200);
      const rows = rowsOf(page.text);
      const AOV = STATE + 1;
      expect(rows[EMAILS.both]![TOTAL]).toBe('€30.00 · £5.00');
      expect(rows[EMAILS.both]![AOV]).toBe('€15.00 · £5.00');
      expect(rows[EMAILS.north]![TOTAL]).toBe('€32.00');
      expect(rows[EMAILS.south]![TOTAL]).toBe('£99.00');
      // Orders and the last order do not depend on the currency.
      expect(rows[EMAILS.both]!.slice(ORDERS, LAST_ORDER + 1)).toEqual(['3', '1 Apr 2025']);
      const { status } = await t.ctx.knex('orders').where({ total: 9900 }).first();
      await t.ctx.knex('orders').where({ total: 9900 }).update({ status: 'cancelled' });
      try {
        expect(rowsOf((await owner.get('/admin/customers?shop=all')).text)[EMAILS.south]![TOTAL]).toBe('—');
      } finally {
        await t.ctx.knex('orders').where({ total: 9900 }).update({ status });
      }
    });

    it('offers no sort by total spent, and sets one asked for aside, saying why', async () => {
      const page = await owner.get('/admin/customers?shop=all');
      expect(page.text).not.toContain('sort=total_spent');
      expect(page.text).toContain('title="One total per currency: choose a shop to sort by it">Total spent</th>');
      const sorted = await owner.get('/admin/customers?shop=all&sort=total_spent&dir=desc');
      expect(sorted.status).toBe(200);
      expect(sorted.text).toContain(`sort by total spent ${WHY}`);
      // Newest first instead.
      expect(emailsOf(sorted.text)).toEqual([EMAILS.both, EMAILS.north, EMAILS.south]);
    });

    it('filters by what was spent in the shops of the currency chosen with the amounts', async () => {
      const inPounds = await owner.get('/admin/customers?shop=all&spent_min=50&spent_currency=gbp');
      expect(inPounds.status).toBe(200);
      expect(inPounds.text).not.toContain('Ignored');
      expect(inPounds.text).toContain('Spent &#8805; £50.00');
      expect(emailsOf(inPounds.text)).toEqual([EMAILS.south]);
      expect(inPounds.text).toContain('<option value="GBP" selected>GBP</option>');
      expect(emailsOf((await owner.get('/admin/customers?shop=all&spent_min=31&spent_currency=EUR')).text)).toEqual([EMAILS.north]);
      // A customer in no shop of the currency spent nothing in it.
      expect(emailsOf((await owner.get('/admin/customers?shop=all&spent_max=10&spent_currency=GBP')).text)).toEqual([EMAILS.both, EMAILS.north]);
      expect(emailsOf((await owner.get('/admin/customers?shop=all&spent_min=4&spent_max=40&spent_currency=EUR')).text)).toEqual([EMAILS.both, EMAILS.north]);
      expect(emailsOf((await owner.get('/admin/customers?shop=all&spent_min=4&spent_max=40&spent_currency=GBP')).text)).toEqual([EMAILS.both]);
      const count = await owner.get('/admin/customers/count?shop=all&spent_min=50&spent_currency=GBP').set('HX-Request', 'true');
      expect(count.text).toContain('1 customer');
      const exported = csvRecords((await owner.get('/admin/customers/export.csv?shop=all&spent_min=50&spent_currency=GBP')).text.replace(/^\ufeff/, ''));
      expect(exported.records.map((record) => record.email)).toEqual([EMAILS.south]);
    });

    it('sets aside amounts without a currency, or in one the shops do not sell in, saying why', async () => {
      const page = await owner.get('/admin/customers?shop=all&spent_min=50&spent_max=abc');
      expect(page.status).toBe(200);
      expect(page.text).toContain('total spent (your shops sell in EUR and GBP: choose a currency)');
      expect(page.text).not.toContain('Spent &#8805;');
      expect(emailsOf(page.text)).toEqual([EMAILS.both, EMAILS.north, EMAILS.south]);
      expect(page.text).toContain('<fieldset id="spent-filter" aria-describedby="spent-filter-note">');
      expect(page.text).toContain('<option value="EUR" selected>EUR</option>');
      expect(page.text).toContain('In the chosen currency: what each customer spent in your shops that sell in it.');
      const count = await owner.get('/admin/customers/count?shop=all&spent_min=50').set('HX-Request', 'true');
      expect(count.text).toContain('3 customers');
      const unsold = await owner.get('/admin/customers?shop=all&spent_min=1&spent_currency=CHF');
      expect(unsold.text).toContain('total spent in CHF (your shops sell in EUR and GBP)');
      expect(emailsOf(unsold.text)).toEqual([EMAILS.both, EMAILS.north, EMAILS.south]);
      const malicious = await owner.get(`/admin/customers?shop=all&spent_min=1&spent_currency=${encodeURIComponent("EUR' OR 1=1 --")}`);
      expect(malicious.status).toBe(200);
      expect(malicious.text).toContain('currency &#8220;EUR&#39; OR 1=1 --&#8221;, total spent (your shops sell in EUR and GBP: choose a currency)');
    });

    it('exports one total spent column per currency', async () => {
      const exported = await owner.get('/admin/customers/export.csv?shop=all&spent_min=50');
      const { header, records } = csvRecords(exported.text.replace(/^\ufeff/, ''));
      expect(header).toEqual([...EXPORT_COLUMNS.flatMap((name) => (name === 'total_spent' ? ['total_spent_eur', 'total_spent_gbp'] : [name]))]);
      const byEmail = Object.fromEntries(records.map((record) => [record.email, [record.total_spent_eur, record.total_spent_gbp]]));
      expect(byEmail).toEqual({ [EMAILS.both]: ['30.00', '5.00'], [EMAILS.north]: ['32.00', ''], [EMAILS.south]: ['', '99.00'] });
      // A currency without orders is left out, as on the list.
      const { status } = await t.ctx.knex('orders').where({ total: 9900 }).first();
      await t.ctx.knex('orders').where({ total: 9900 }).update({ status: 'cancelled' });
      try {
        const again = csvRecords((await owner.get('/admin/customers/export.csv?shop=all')).text.replace(/^\ufeff/, ''));
        expect(again.records.find((record) => record.email === EMAILS.south)).toMatchObject({ total_spent_eur: '', total_spent_gbp: '' });
      } finally {
        await t.ctx.knex('orders').where({ total: 9900 }).update({ status });
      }
    });

    it('applies a bulk action to the customers the page listed, the total spent filter set aside', async () => {
      const page = await owner.get('/admin/customers?shop=all');
      const key = /name="key" value="([^"]+)"/.exec(page.text)![1]!;
      const csrf = csrfFrom(page.text);
      const posted = await owner.post('/admin/customers/bulk').type('form').send({ _csrf: csrf, key, action: 'add_tag', tag: 'spent-test', target: 'all', query: 'shop=all&spent_min=50' });
      expect(posted.status).toBe(303);
      const operation = await t.ctx.knex('bulkOperations').where({ idempotencyKey: key }).first();
      expect(operation.selection.filters.spentMin).toBeUndefined();
    });

    it('exports no customer by a sum of currencies for a job asked for before the shops sold in several', async () => {
      const out = new PassThrough();
      const written: Buffer[] = [];
      out.on('data', (chunk: Buffer) => written.push(chunk));
      const filters = { ...parseCustomerListQuery({}).filters, spentMin: 5000 };
      expect(await writeCustomerCsv(t.ctx.knex, { source: { kind: 'all' }, q: '', filters, salesTeamId: null }, out)).toBe(3);
      // In one of the currencies, it does filter; in one they no longer sell in, it does not.
      expect(await writeCustomerCsv(t.ctx.knex, { source: { kind: 'all' }, q: '', filters: { ...filters, spentCurrency: 'GBP' }, salesTeamId: null }, new PassThrough().resume())).toBe(1);
      expect(await writeCustomerCsv(t.ctx.knex, { source: { kind: 'all' }, q: '', filters: { ...filters, spentCurrency: 'CHF' }, salesTeamId: null }, new PassThrough().resume())).toBe(3);
      const { header } = csvRecords(Buffer.concat(written).toString('utf8').replace(/^\ufeff/, ''));
      expect(header).toContain('total_spent_gbp');
    });

    // Last of these: it adds customers without a shop or orders.
    it('leaves what it set aside out of its links and the address bar, so that paging goes on newest first', async () => {
      for (let n = 0; n < 26; n++) await customerWith(t.ctx.knex, [], { email: `older${String(n).padStart(2, '0')}@example.test`, createdAt: day(`2023-01-${String(n + 1).padStart(2, '0')}`) });
      const newestFirst = [EMAILS.both, EMAILS.north, EMAILS.south, ...Array.from({ length: 26 }, (_, n) => `older${String(25 - n).padStart(2, '0')}@example.test`)];
      const first = await owner.get('/admin/customers?shop=all&sort=total_spent&dir=desc&spent_min=5&status=active&q=').set('HX-Request', 'true');
      expect(first.headers['hx-push-url']).toBe('/admin/customers?shop=all');
      expect(first.text).not.toMatch(/total_spent|spent_min|status=/);
      expect(emailsOf(first.text)).toEqual(newestFirst.slice(0, 25));
      const next = linkWithRel(first.text, 'next')!;
      const second = await owner.get(next).set('HX-Request', 'true');
      expect(emailsOf(second.text)).toEqual(newestFirst.slice(25));
      expect(second.text).not.toContain('Ignored');
    });
  });

  describe('in one shop', () => {
    it('filters and sorts by the shop’s total spent in its currency', async () => {
      const page = await owner.get(`/admin/customers?shop=${south.id}&spent_min=50&sort=total_spent&dir=desc`);
      expect(page.text).not.toContain('Ignored');
      expect(page.text).toContain('Spent &#8805; £50.00');
      expect(emailsOf(page.text)).toEqual([EMAILS.south]);
      expect(page.text).toContain('<legend>Total spent (GBP)</legend>');
      const sorted = await owner.get(`/admin/customers?shop=${south.id}&sort=total_spent&dir=desc`);
      expect(tableRows(sorted.text).map((row) => [row[EMAIL], row[TOTAL]])).toEqual([[EMAILS.south, '£99.00'], [EMAILS.both, '£5.00']]);
    });

    it('sets aside a total spent in another currency than the shop’s', async () => {
      const page = await owner.get(`/admin/customers?shop=${south.id}&spent_min=50&spent_currency=EUR`);
      expect(page.text).toContain('total spent in EUR (this shop sells in GBP)');
      expect(emailsOf(page.text)).toEqual([EMAILS.both, EMAILS.south]);
      // In its own currency it is simply the shop's filter.
      expect(emailsOf((await owner.get(`/admin/customers?shop=${south.id}&spent_min=50&spent_currency=GBP`)).text)).toEqual([EMAILS.south]);
    });

    it('exports the one total spent column', async () => {
      const { header } = csvRecords((await owner.get(`/admin/customers/export.csv?shop=${south.id}`)).text.replace(/^\ufeff/, ''));
      expect(header).toEqual([...EXPORT_COLUMNS]);
    });

    it('gives a sales rep of one shop that shop’s money, sortable', async () => {
      const page = await rep.get('/admin/customers?sort=total_spent&dir=desc');
      expect(page.text).not.toContain('Ignored');
      expect(tableRows(page.text).map((row) => [row[EMAIL], row[TOTAL]])).toEqual([[EMAILS.north, '€32.00'], [EMAILS.both, '€30.00']]);
    });
  });

  describe('after an htmx change of shop', () => {
    const SHOP_FILTER = '<div id="shop-status-filter" class="contents" hx-swap-oob="true">';
    /** An htmx request for `query`, sent from a page whose address is `shownQuery`. */
    const swap = (agent: Agent, query: string, shownQuery: string) =>
      agent.get(`/admin/customers${query}`).set('HX-Request', 'true').set('HX-Current-URL', `http://admin.localhost/admin/customers${shownQuery}`);

    it('replaces the filters that follow the shop (its status, its currency) out of band', async () => {
      const toSouth = await swap(owner, `?shop=${south.id}&q=both`, '?shop=all&q=both');
      expect(toSouth.status).toBe(200);
      expect(emailsOf(toSouth.text)).toEqual([EMAILS.both]);
      expect(toSouth.text).toContain(SHOP_FILTER);
      expect(toSouth.text).toContain('<legend>In this shop</legend>');
      expect(toSouth.text).toContain('<fieldset id="spent-filter" hx-swap-oob="true">');
      expect(toSouth.text).toContain('<legend>Total spent (GBP)</legend>');

      const toAll = await swap(owner, '?shop=all', `?shop=${south.id}&status=active`);
      expect(toAll.text).toContain(SHOP_FILTER);
      expect(toAll.text).not.toContain('In this shop');
      expect(toAll.text).toContain('<fieldset id="spent-filter" hx-swap-oob="true" aria-describedby="spent-filter-note">');
      expect(toAll.text).toContain('<select name="spent_currency"');

      // An owner's page without a shop shows all shops: the first shop is a change, all shops is not.
      expect((await swap(owner, `?shop=${north.id}`, '?sort=email')).text).toContain(SHOP_FILTER);
      expect((await swap(owner, '?shop=all', '?sort=email')).text).not.toContain('hx-swap-oob');
    });

    it('leaves them alone when the swap stays in the shop (a sort, a page, a search)', async () => {
      const sorted = await swap(owner, `?shop=${north.id}&sort=email&dir=asc`, `?shop=${north.id}`);
      expect(emailsOf(sorted.text)).toEqual([EMAILS.both, EMAILS.north]);
      expect(sorted.text).not.toContain('hx-swap-oob');
      expect(sorted.text).not.toContain('spent-filter');
    });

    it('resolves both addresses within the staff member’s own shops', async () => {
      // The rep sees North only: a page that asked for South showed North, as this request does.
      expect((await swap(rep, '', `?shop=${south.id}`)).text).not.toContain('hx-swap-oob');
      expect((await swap(rep, `?shop=${south.id}`, '')).text).not.toContain('hx-swap-oob');
    });

    it.each([
      ['not an address', 'nothing here', false],
      ['a script', '<script>alert(1)</script>', false],
      // What the list itself makes of such a shop: none chosen, so all shops for an owner.
      ['one with an SQL-looking shop', "http://admin.localhost/admin/customers?shop=1' OR 1=1 --", true],
      ['one with an empty shop', 'http://admin.localhost/admin/customers?shop=', true],
    ])('takes a current address that is %s for what the list makes of it', async (_case, shown, replaced) => {
      const page = await owner.get(`/admin/customers?shop=${north.id}`).set('HX-Request', 'true').set('HX-Current-URL', shown);
      expect(page.status).toBe(200);
      expect(emailsOf(page.text)).toEqual([EMAILS.both, EMAILS.north]);
      expect(page.text.includes(SHOP_FILTER)).toBe(replaced);
      expect(page.text).not.toContain('<script>alert');
    });
  });

  // Last: every shop sells in pounds from here on.
  it('shows a merchant who sells in one currency other than euros their money over all shops, sortable', async () => {
    await t.ctx.knex('shops').update({ currency: 'GBP' });
    const page = await owner.get('/admin/customers?shop=all&sort=total_spent&dir=desc&spent_min=10');
    expect(page.text).not.toContain('Ignored');
    expect(page.text).toContain('Spent &#8805; £10.00');
    expect(tableRows(page.text).map((row) => [row[EMAIL], row[TOTAL]])).toEqual([[EMAILS.south, '£99.00'], [EMAILS.both, '£35.00'], [EMAILS.north, '£32.00']]);
    expect(page.text).toContain('<legend>Total spent (GBP)</legend>');
    const inEuros = await owner.get('/admin/customers?shop=all&spent_min=10&spent_currency=EUR');
    expect(inEuros.text).toContain('total spent in EUR (your shops sell in GBP)');
    expect(inEuros.text).not.toContain('Spent &#8805;');
    const { header } = csvRecords((await owner.get('/admin/customers/export.csv?shop=all')).text.replace(/^\ufeff/, ''));
    expect(header).toEqual([...EXPORT_COLUMNS]);
  });
});
