import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_COLUMNS } from '../../app/services/customer-export.service.js';
import type { Agent } from '../support/agents.js';
import { loginStaff } from '../support/agents.js';
import { csvRecords } from '../support/csv.js';
import { insertManyCustomers } from '../support/customer-list.js';
import { makeCustomer, makeOrder, makeShop, makeStaff } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** CSV export of the current filter (F-LIST-6) and its escaping of formula cells (F-SEC). */

const sortedIds = (records: Array<Record<string, string>>) => records.map((r) => Number(r.id)).sort((a, b) => a - b);

describe('customer CSV export', () => {
  let t: TestApp;
  let shopA: { id: number; code: string }, shopB: { id: number; code: string }, shopC: { id: number; code: string };
  let owner: Agent;
  let ownerId: number;
  let tricky: { id: number }, signs: { id: number }, onlyB: { id: number }, vip: { id: number };

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    shopA = await makeShop(knex, { code: 'export-a' });
    shopB = await makeShop(knex, { code: 'export-b' });
    shopC = await makeShop(knex, { code: 'export-c' });
    tricky = await makeCustomer(knex, [shopA.id, shopB.id], {
      firstName: '=HYPERLINK("http://evil.test","x")',
      lastName: 'Line\nBreak',
      companyName1: 'Comma, "Quoted" & Co',
      phone: '+49 30 1234567',
      email: 'tricky@example.test',
    });
    signs = await makeCustomer(knex, [shopA.id], { firstName: '-2+3', lastName: '@SUM(A1)', companyName1: '\tTabbed', email: 'signs@example.test' });
    onlyB = await makeCustomer(knex, [shopB.id], { firstName: 'Only', lastName: 'Bee', email: 'onlyb@example.test' });
    vip = await makeCustomer(knex, [shopA.id], { firstName: 'Vicky', lastName: 'Important', email: 'vip@example.test' });
    await knex('customerTags').insert([{ customerId: vip.id, tag: 'vip' }, { customerId: vip.id, tag: 'gold' }]);
    await makeOrder(knex, tricky.id, shopA.id, 1000, new Date('2026-03-01T10:00:00Z'));
    await makeOrder(knex, tricky.id, shopB.id, 700, new Date('2026-04-01T10:00:00Z'));
    const staff = await makeStaff(knex, { role: 'owner' });
    ownerId = staff.id;
    owner = await loginStaff(t.app, staff.email);
  });
  afterAll(() => t?.close());

  async function exportCsv(agent: Agent, query: string) {
    const response = await agent.get(`/admin/customers/export.csv${query ? `?${query}` : ''}`).buffer(true);
    expect(response.status).toBe(200);
    return { response, ...csvRecords(response.text) };
  }

  it('answers a CSV attachment with a header row and exactly the filtered customers', async () => {
    const { response, header, records } = await exportCsv(owner, `shop=${shopA.id}`);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(new RegExp(`^attachment; filename="customers-${shopA.code}-\\d{4}-\\d{2}-\\d{2}\\.csv"$`));
    expect(response.headers['cache-control']).toBe('no-store');
    expect(header).toEqual([...EXPORT_COLUMNS]);
    expect(sortedIds(records)).toEqual([tricky.id, signs.id, vip.id].sort((a, b) => a - b));

    const onlyVip = await exportCsv(owner, `shop=${shopA.id}&tag=vip`);
    expect(onlyVip.records.map((r) => Number(r.id))).toEqual([vip.id]);
    expect(onlyVip.records[0]!.tags).toBe('gold, vip');

    const searched = await exportCsv(owner, 'q=onlyb');
    expect(searched.records.map((r) => Number(r.id))).toEqual([onlyB.id]);
    const none = await exportCsv(owner, `shop=${shopA.id}&q=nobody-like-this`);
    expect(none.header).toEqual([...EXPORT_COLUMNS]);
    expect(none.records).toEqual([]);
    // Paging is no part of an export: a cursor in the URL changes nothing.
    expect(sortedIds((await exportCsv(owner, `shop=${shopA.id}&size=25&after=WyJ4IiwxXQ`)).records)).toEqual(sortedIds((await exportCsv(owner, `shop=${shopA.id}`)).records));
  });

  it('exports the order figures of the listed shop, or of all shops', async () => {
    const row = async (query: string) => (await exportCsv(owner, query)).records.find((r) => Number(r.id) === tricky.id)!;
    const inA = await row(`shop=${shopA.id}`);
    expect([inA.orders_count, inA.total_spent, inA.last_order_at]).toEqual(['1', '10.00', '2026-03-01T10:00:00.000Z']);
    const inB = await row(`shop=${shopB.id}`);
    expect([inB.orders_count, inB.total_spent, inB.last_order_at]).toEqual(['1', '7.00', '2026-04-01T10:00:00.000Z']);
    const all = await row('shop=all');
    expect([all.orders_count, all.total_spent, all.last_order_at]).toEqual(['2', '17.00', '2026-04-01T10:00:00.000Z']);
  });

  it('neutralises cells a spreadsheet would run as a formula, and quotes commas, quotes and line breaks', async () => {
    const { response, records } = await exportCsv(owner, `shop=${shopA.id}`);
    const t1 = records.find((r) => Number(r.id) === tricky.id)!;
    expect(t1.first_name).toBe('\'=HYPERLINK("http://evil.test","x")');
    // A phone number in international format starts with + and is made text as well; an import
    // strips the apostrophe again (F-LIST-6).
    expect(t1.phone).toBe("'+49 30 1234567");
    expect(t1.last_name).toBe('Line\nBreak');
    expect(t1.company).toBe('Comma, "Quoted" & Co');
    expect(t1.email).toBe('tricky@example.test');
    const s = records.find((r) => Number(r.id) === signs.id)!;
    expect(s.first_name).toBe("'-2+3");
    expect(s.last_name).toBe("'@SUM(A1)");
    expect(s.company).toBe("'\tTabbed");
    // No raw cell of the file starts with a formula character.
    for (const record of records) for (const value of Object.values(record)) expect(value).not.toMatch(/^[=+\-@\t\r]/);
    // The raw text quotes the cells that need it.
    expect(response.text).toContain('"Comma, ""Quoted"" & Co"');
    expect(response.text).toContain('"Line\nBreak"');
  });

  it('never exports customers of a shop outside the staff member’s scope', async () => {
    const rep = await makeStaff(t.ctx.knex, { role: 'sales_rep', shopIds: [shopA.id] });
    const agent = await loginStaff(t.app, rep.email);
    for (const query of [`shop=${shopB.id}`, 'shop=all', '', `shop=${shopB.id}&q=onlyb`]) {
      const { records } = await exportCsv(agent, query);
      const ids = sortedIds(records);
      expect(ids, query).not.toContain(onlyB.id);
      for (const id of ids) expect([tricky.id, signs.id, vip.id], query).toContain(id);
      // A customer in both shops is exported with the figures of the staff member's shop only.
      const shared = records.find((r) => Number(r.id) === tricky.id);
      if (shared) expect([shared.orders_count, shared.total_spent]).toEqual(['1', '10.00']);
    }
  });

  it('writes an audit entry for each export', async () => {
    const before = Number((await t.ctx.knex('auditLog').where({ action: 'customers.exported' }).count<Array<{ count: string }>>('* as count'))[0]!.count);
    await exportCsv(owner, `shop=${shopA.id}&tag=vip&size=50`);
    const entries = await t.ctx.knex('auditLog').where({ action: 'customers.exported' }).orderBy('id', 'desc');
    expect(entries).toHaveLength(before + 1);
    const entry = entries[0];
    expect(entry.actorType).toBe('staff');
    expect(entry.actorId).toBe(ownerId);
    expect(entry.shopId).toBe(shopA.id);
    expect(entry.customerId).toBeNull();
    expect(entry.changes.query).toContain('tag=vip');
  });

  it('exports every row exactly once when there are more than one batch', async () => {
    const ids = await insertManyCustomers(t.ctx.knex, 4_500, { emailPrefix: 'bulk-export-', shopIds: [shopC.id] });
    const { records } = await exportCsv(owner, `shop=${shopC.id}`);
    expect(records).toHaveLength(4_500);
    const exported = records.map((r) => Number(r.id));
    // In id order, each once.
    expect(exported).toEqual(ids);

    const everyone = await exportCsv(owner, 'shop=all');
    const all = everyone.records.map((r) => Number(r.id));
    expect(new Set(all).size).toBe(all.length);
    const expected = (await t.ctx.knex('customers').orderBy('id').select('id')).map((r: { id: number }) => r.id);
    expect(all).toEqual(expected);
  });
});
