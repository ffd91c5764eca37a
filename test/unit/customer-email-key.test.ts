import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { sameEmail } from '../../app/models/customer.model.js';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { authenticateCustomer } from '../../app/services/customer-account.service.js';
import { resolveListSource } from '../../app/services/customer-list-filter.js';
import { listCustomers } from '../../app/services/customer-list.service.js';
import { createShopResolver } from '../../app/services/shop.service.js';
import { useDatabaseWithShop } from '../support/database.js';
import { makeCustomer, PASSWORD } from '../support/factories.js';
import { planWithout, statementsOf } from '../support/statements.js';

/**
 * Customers are unique by, and looked up with, their e-mail lowercased as citext compares it,
 * compared byte by byte (the index customers_email_key, migration 26). It must keep citext's
 * meaning, and every look-up must use the index (a million customers are read otherwise).
 */
describe("a customer's e-mail key", () => {
  let knex: Knex;
  let shopId: number;
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  const planOf = (statement: { sql: string; bindings: readonly unknown[] }) => planWithout(knex, statement, ['enable_seqscan', 'enable_sort']);

  it('refuses a second customer whose address differs only in case, letters beyond A–Z included', async () => {
    await makeCustomer(knex, [shopId], { email: 'Ärger.Ølund@Example.test' });
    await expect(knex('customers').insert({ email: 'äRGER.øLUND@EXAMPLE.TEST' })).rejects.toMatchObject({ code: '23505', constraint: 'customers_email_key' });
    await expect(knex('customers').insert({ email: 'arger.olund@example.test' }).returning('id')).resolves.toHaveLength(1);
  });

  it('finds the customer whatever the case of the address asked for, through the index', async () => {
    const customer = await makeCustomer(knex, [shopId], { email: 'Key.Lookup@Example.test' });
    for (const asked of ['key.lookup@example.test', 'KEY.LOOKUP@EXAMPLE.TEST', 'Key.Lookup@Example.test']) {
      expect(await knex('customers').where(sameEmail(knex, asked)).first('id', 'email')).toEqual({ id: customer.id, email: 'Key.Lookup@Example.test' });
    }
    expect(await knex('customers').where(sameEmail(knex, "' OR 1=1 --")).first('id')).toBeUndefined();
    expect(await planOf(knex('customers').where(sameEmail(knex, 'Key.Lookup@Example.test')).select('id').toSQL().toNative())).toContain('customers_email_key');

    await knex('customers').where({ id: customer.id }).update({ email: 'Changed@Example.test' });
    expect(await knex('customers').where(sameEmail(knex, 'CHANGED@example.test')).first('id')).toEqual({ id: customer.id });
    expect(await knex('customers').where(sameEmail(knex, 'key.lookup@example.test')).first('id')).toBeUndefined();
  });

  it('logs a customer in by the address in any case, looking it up through the index', async () => {
    const customer = await makeCustomer(knex, [shopId], { email: 'Login.Case@Example.test' });
    const hostname = (await knex('shopDomains').where({ shopId }).first('hostname')).hostname as string;
    const shop = (await createShopResolver(knex)(hostname))!;
    const { result, statements } = await statementsOf(knex, () => authenticateCustomer(knex, shop, 'LOGIN.CASE@example.TEST', PASSWORD));
    expect(result).toMatchObject({ ok: true, customer: { id: customer.id } });
    const lookup = statements.find((statement) => /from "customers"/.test(statement.sql) && statement.bindings.includes('LOGIN.CASE@example.TEST'))!;
    expect(await planOf(lookup)).toContain('customers_email_key');
  });

  it('sorts the list by the lowercased address byte by byte, paging along the index both ways', async () => {
    const special = ['b.zed@example.test', 'A-dash@example.test', 'a.dot@Example.test', 'B_under@example.test', 'a1@example.test', 'Ärger.Ølund@Example.test'];
    const emails = [...special, ...Array.from({ length: 24 }, (_, i) => `M${i}@example.test`)].map((email) => `sort-${email}`);
    for (const email of emails) await makeCustomer(knex, [shopId], { email });
    const source = resolveListSource('all', [{ id: shopId }], 'all')!;
    const page = async (search: string) => listCustomers(knex, source, parseCustomerListQuery(Object.fromEntries(new URLSearchParams(`q=sort-&sort=email&dir=asc&${search}`))), null);
    const expected = [...emails].sort((a, b) => Buffer.compare(Buffer.from(a.toLowerCase()), Buffer.from(b.toLowerCase())));

    const first = await page('');
    expect(first.rows.map((row) => row.email)).toEqual(expected.slice(0, 25));
    const { result: second, statements } = await statementsOf(knex, () => page(`after=${first.next}`));
    expect(second.rows.map((row) => row.email)).toEqual(expected.slice(25));
    expect((await page(`before=${second.previous}`)).rows.map((row) => row.email)).toEqual(expected.slice(0, 25));
    const walk = statements.find((statement) => /order by/i.test(statement.sql))!;
    expect(await planOf(walk)).toContain('customers_email_key');
  });
});
