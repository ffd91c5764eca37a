import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPreparedWhenConstant } from '../../app/db/prepared-query.js';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { encodeCursor, listCustomers } from '../../app/services/customer-list.service.js';
import { loginStaff, type Agent } from '../support/agents.js';
import { useDatabase } from '../support/database.js';
import { makeCustomer, makeShop, makeStaff } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * The list's unfiltered pages run as prepared statements (planned once per connection); a page
 * with parameters (a filter, a search, a cursor) is planned for its values every time.
 */
describe('prepared list statements', () => {
  let t: TestApp;
  let owner: Agent;

  beforeAll(async () => {
    t = await createTestApp();
    const shop = await makeShop(t.ctx.knex, { code: 'prep' });
    await makeCustomer(t.ctx.knex, [shop.id], { email: 'prepared-ada@example.test', firstName: 'Ada', lastName: 'Lovelace' });
    await makeCustomer(t.ctx.knex, [shop.id], { email: 'prepared-bo@example.test', firstName: 'Bo', lastName: 'Diddley' });
    // Billing cities are copied from the default address; set directly, they need no address here.
    await t.ctx.knex('customers').where({ email: 'prepared-ada@example.test' }).update({ billingCity: 'London' });
    await t.ctx.knex('customers').where({ email: 'prepared-bo@example.test' }).update({ billingCity: 'Chicago' });
    owner = await loginStaff(t.app, (await makeStaff(t.ctx.knex, { role: 'owner' })).email);
  });
  afterAll(() => t?.close());

  it('shows the same first page, filtered pages and pages after a column change under the running app', async () => {
    for (let i = 0; i < 3; i++) {
      const page = await owner.get('/admin/customers?shop=all&sort=email&dir=asc').set('HX-Request', 'true');
      expect(page.status).toBe(200);
      expect(page.text).toContain('prepared-ada@example.test');
    }
    const filtered = await owner.get('/admin/customers?shop=all&q=diddley').set('HX-Request', 'true');
    expect(filtered.text).toContain('prepared-bo@example.test');
    expect(filtered.text).not.toContain('prepared-ada@example.test');

    await t.ctx.knex.raw('ALTER TABLE customers ALTER COLUMN billing_city TYPE varchar(300)');
    for (let i = 0; i < 3; i++) {
      const page = await owner.get('/admin/customers?shop=all&sort=email&dir=asc').set('HX-Request', 'true');
      expect(page.status).toBe(200);
      expect(page.text).toContain('prepared-bo@example.test');
      expect(page.text).toContain('Chicago');
    }
  });
});

describe('runPreparedWhenConstant', () => {
  let knex: Knex;
  // One connection, so that every query sees the statements the earlier ones prepared.
  useDatabase(async (db) => {
    knex = db.knex;
    const shop = await makeShop(knex, { code: 'prep-direct' });
    for (const [email, city] of [['prepared-ada@example.test', 'London'], ['prepared-bo@example.test', 'Chicago']]) {
      await knex('customers').where({ id: (await makeCustomer(knex, [shop.id], { email })).id }).update({ billingCity: city });
    }
  }, { max: 1 });

  const preparedNames = async () => ((await knex.raw('SELECT name FROM pg_prepared_statements ORDER BY name')).rows as Array<{ name: string }>).map((row) => row.name);
  const cities = () => knex('customers').select('billing_city').where('email', 'like', knex.raw("'prepared-%'")).orderBy('email');
  const both = [{ billingCity: 'London' }, { billingCity: 'Chicago' }];

  it('prepares a query without parameters once, and never one with parameters or in a transaction', async () => {
    const before = await preparedNames();
    expect(await runPreparedWhenConstant(cities())).toEqual(both);
    expect(await runPreparedWhenConstant(cities())).toEqual(both);
    const prepared = await preparedNames();
    expect(prepared.length).toBe(before.length + 1);

    expect(await runPreparedWhenConstant(knex('customers').select('billing_city').where('email', 'prepared-bo@example.test'))).toEqual([{ billingCity: 'Chicago' }]);
    await knex.transaction(async (trx) => {
      expect(await runPreparedWhenConstant(trx('customers').count('* as n').where('email', 'like', trx.raw("'prepared-%'")))).toEqual([{ n: 2 }]);
    });
    expect(await preparedNames()).toEqual(prepared);
  });

  it('prepares an unfiltered list page, and neither a filtered one nor one past a cursor', async () => {
    const list = (search: string) => listCustomers(knex, { kind: 'all' }, parseCustomerListQuery(Object.fromEntries(new URLSearchParams(search))), null);
    const before = await preparedNames();
    const first = await list('sort=email&dir=asc&size=25');
    expect(first.rows.map((row) => row.email)).toEqual(['prepared-ada@example.test', 'prepared-bo@example.test']);
    await list('sort=email&dir=asc&size=25');
    const prepared = await preparedNames();
    expect(prepared.length).toBe(before.length + 1);

    expect((await list('sort=email&dir=asc&country=DE')).rows).toEqual([]);
    expect((await list('sort=email&dir=asc&q=prepared-bo')).rows.map((row) => row.email)).toEqual(['prepared-bo@example.test']);
    await list(`sort=email&dir=asc&size=25&after=${first.next ?? encodeCursor({ keys: ['prepared-ada@example.test'], id: 0 })}`);
    expect(await preparedNames()).toEqual(prepared);
  });

  it('compiles a query once, with parameters or without, and still keeps its timeout', async () => {
    const client = knex.client as { queryCompiler: (...args: unknown[]) => unknown };
    const original = client.queryCompiler;
    let compiled = 0;
    client.queryCompiler = function (this: unknown, ...args: unknown[]) {
      compiled++;
      return original.apply(this, args);
    };
    try {
      expect(await runPreparedWhenConstant(cities())).toEqual(both);
      expect(compiled).toBe(1);
      expect(await runPreparedWhenConstant(cities().where('billing_city', 'Chicago'))).toEqual([{ billingCity: 'Chicago' }]);
      expect(compiled).toBe(2);
    } finally {
      client.queryCompiler = original;
    }
    await expect(runPreparedWhenConstant(knex.select(knex.raw('pg_sleep(1)')).timeout(50, { cancel: true }))).rejects.toMatchObject({ timeout: 50 });
  });

  it('runs again when a migration changed the columns a prepared statement returns', async () => {
    expect(await runPreparedWhenConstant(cities())).toEqual(both);
    await knex.raw('ALTER TABLE customers ALTER COLUMN billing_city TYPE varchar(300)');
    // Without the retry: "cached plan must not change result type", on every run on this connection.
    expect(await runPreparedWhenConstant(cities())).toEqual(both);
    expect(await runPreparedWhenConstant(cities())).toEqual(both);
  });

  it('keeps the timeout when it runs again after such a migration', async () => {
    const slowCities = () => cities().select(knex.raw('pg_sleep(0.3)'));
    await runPreparedWhenConstant(slowCities().timeout(5_000));
    await knex.raw('ALTER TABLE customers ALTER COLUMN billing_city TYPE varchar(400)');
    await expect(runPreparedWhenConstant(slowCities().timeout(50, { cancel: true }))).rejects.toMatchObject({ timeout: 50 });
  });
});
