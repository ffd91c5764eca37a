import type { Knex } from 'knex';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import type { ListSource } from '../../app/services/customer-list-filter.js';
import { countCustomers } from '../../app/services/customer-list-count.js';
import { listCustomers } from '../../app/services/customer-list.service.js';
import { insertManyCustomers, pagesBothWays } from '../support/customer-list.js';
import { useDatabaseWithShop } from '../support/database.js';
import { makeCustomer, makeSalesTeam, makeShop } from '../support/factories.js';
import { planWithout, statementsOf } from '../support/statements.js';

/**
 * A shop's assignments keep their customer's creation time (migration 41), so that the shop's list
 * in that order (its default) reads the shop's own (shop, created, customer) index, which includes
 * what the assignment filters ask.
 */
describe('a shop’s customers in the order they were created', () => {
  let knex: Knex;
  let shopId: number;
  let otherShopId: number;
  let ours: number[];
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  const copyOf = async (customerId: number, shop: number) =>
    ((await knex('customerShops').where({ customerId, shopId: shop }).first('customerCreatedAt')) as { customerCreatedAt: Date }).customerCreatedAt;
  const createdOf = async (customerId: number) => ((await knex('customers').where({ id: customerId }).first('createdAt')) as { createdAt: Date }).createdAt;

  beforeAll(async () => {
    otherShopId = (await makeShop(knex)).id;
    ours = await insertManyCustomers(knex, 120, { emailPrefix: 'order-', shopIds: [shopId] });
    await insertManyCustomers(knex, 300, { emailPrefix: 'elsewhere-', shopIds: [otherShopId] });
    // Spread over a year, with ties of ten customers each (the id breaks them).
    await knex.raw(`UPDATE customers SET created_at = timestamptz '2024-01-01' + (id % 12) * interval '30 days' WHERE id = ANY(?::bigint[])`, [ours]);
    await knex('customerShops').where({ shopId }).whereIn('customerId', ours.filter((_, index) => index % 4 === 0)).update({ status: 'pending_approval' });
    await knex('customerShops').where({ shopId }).whereIn('customerId', ours.filter((_, index) => index % 3 === 0)).update({ ordersCount: 2, totalSpent: 5_000, lastOrderAt: new Date('2025-03-01T10:00:00Z') });
    await knex('customers').whereIn('id', ours.filter((_, index) => index % 2 === 0)).update({ customerType: 'B2B' });
    await knex('customers').whereIn('id', ours.filter((_, index) => index % 5 < 3)).update({ billingCountry: 'AT' });
    await knex('customerTags').insert(ours.filter((_, index) => index % 3 !== 2).map((customerId) => ({ customerId, tag: 'vip' })));
    await knex.raw('VACUUM ANALYZE customers, customer_shops, customer_tags');
  });

  it('keeps each assignment’s copy of its customer’s creation time, however the two are written', async () => {
    const customer = await makeCustomer(knex, [shopId]);
    expect(await copyOf(customer.id, shopId)).toEqual(await createdOf(customer.id));
    // An assignment added later takes it from the customer; an update of the customer reaches every shop.
    await knex('customerShops').insert({ customerId: customer.id, shopId: otherShopId, status: 'active' });
    await knex('customers').where({ id: customer.id }).update({ createdAt: new Date('2020-02-29T12:00:00.123456Z') });
    expect(await copyOf(customer.id, shopId)).toEqual(new Date('2020-02-29T12:00:00.123Z'));
    expect(await copyOf(customer.id, otherShopId)).toEqual(await createdOf(customer.id));
    // The copy is never written apart from its customer: a write of it takes the customer's again.
    await knex('customerShops').where({ customerId: customer.id, shopId }).update({ customerCreatedAt: new Date('2030-01-01T00:00:00Z') });
    expect(await copyOf(customer.id, shopId)).toEqual(await createdOf(customer.id));
    // An assignment of no customer fails as its foreign key says.
    await expect(knex('customerShops').insert({ customerId: 999_999_999, shopId, status: 'active' })).rejects.toMatchObject({ code: '23503', constraint: 'customer_shops_customer_id_fkey' });
    // Microseconds too: the list's cursor keeps them.
    const { rows } = await knex.raw('SELECT bool_and(cs.customer_created_at = c.created_at) AS same FROM customer_shops cs JOIN customers c ON c.id = cs.customer_id');
    expect(rows).toEqual([{ same: true }]);
  });

  it('keeps each assignment’s copies of its customer’s type and billing country, however they are written', async () => {
    const customer = await makeCustomer(knex, [shopId], { customerType: 'B2B' });
    const copiesOf = async () => knex('customerShops').where({ customerId: customer.id }).orderBy('shopId').select('shopId', 'customerType', 'billingCountry');
    expect(await copiesOf()).toEqual([{ shopId, customerType: 'B2B', billingCountry: null }]);
    // The country follows the default billing address, through the customer, into every shop.
    await knex('customerShops').insert({ customerId: customer.id, shopId: otherShopId, status: 'active' });
    const [address] = await knex('addresses')
      .insert({ customerId: customer.id, firstName: 'A', lastName: 'B', line1: '1 Ring', city: 'Wien', postcode: '1010', countryCode: 'AT', isDefaultBilling: true, isDefaultShipping: true })
      .returning('id');
    expect(await copiesOf()).toEqual([
      { shopId, customerType: 'B2B', billingCountry: 'AT' },
      { shopId: otherShopId, customerType: 'B2B', billingCountry: 'AT' },
    ]);
    await knex('addresses').where({ id: address.id }).update({ countryCode: 'CH' });
    await knex('customers').where({ id: customer.id }).update({ customerType: 'B2E' });
    expect(await copiesOf()).toEqual([
      { shopId, customerType: 'B2E', billingCountry: 'CH' },
      { shopId: otherShopId, customerType: 'B2E', billingCountry: 'CH' },
    ]);
    await knex('addresses').where({ id: address.id }).delete();
    expect((await copiesOf()).map((copy) => copy.billingCountry)).toEqual([null, null]);
    // Never written apart from the customer: a write of a copy takes the customer's again.
    await knex('customerShops').where({ customerId: customer.id, shopId }).update({ customerType: 'B2C', billingCountry: 'DE' });
    expect(await copiesOf()).toEqual([
      { shopId, customerType: 'B2E', billingCountry: null },
      { shopId: otherShopId, customerType: 'B2E', billingCountry: null },
    ]);
    const { rows } = await knex.raw(
      'SELECT count(*)::int AS n FROM customer_shops cs JOIN customers c ON c.id = cs.customer_id WHERE (cs.customer_type, cs.billing_country) IS DISTINCT FROM (c.customer_type, c.billing_country)',
    );
    expect(rows).toEqual([{ n: 0 }]);
  });

  const queryOf = (search: string) => parseCustomerListQuery(Object.fromEntries(new URLSearchParams(search)));
  const inShop = (id: number): ListSource => ({ kind: 'shop', shopId: id });

  /** The shop's customers that `where` (SQL on cs) allows, newest first or oldest first, ties by id. */
  const expected = async (where: string, dir: 'asc' | 'desc') =>
    ((await knex.raw(`SELECT c.id FROM customers c JOIN customer_shops cs ON cs.customer_id = c.id AND cs.shop_id = ? WHERE ${where} ORDER BY c.created_at ${dir}, c.id ${dir}`, [shopId])).rows as Array<{ id: number }>).map((row) => Number(row.id));

  it('pages a shop’s customers of its assignment filters by creation, across ties, both ways, from the shop’s own index', async () => {
    const cases: Array<[string, string]> = [
      ['status=pending_approval', "cs.status = 'pending_approval'"],
      ['spent_min=50', 'cs.total_spent >= 5000'],
      ['last_from=2025-01-01&last_to=2025-12-31&status=active', "cs.last_order_at >= '2025-01-01' AND cs.status = 'active'"],
      ['orders_max=0', 'cs.orders_count <= 0'],
      ['', 'true'],
    ];
    for (const [filters, where] of cases) {
      for (const dir of ['asc', 'desc'] as const) {
        const search = `size=10&sort=created&dir=${dir}${filters ? `&${filters}` : ''}`;
        const { result, statements } = await statementsOf(knex, () => pagesBothWays(knex, inShop(shopId), search));
        const want = await expected(where, dir);
        expect(want.length, search).toBeGreaterThan(10);
        expect(result.forward.flat(), search).toEqual(want);
        expect(result.backward, search).toEqual(result.forward);
        // Walked on the shop's assignments alone, their customer's creation time the key.
        expect(statements.some(({ sql }) => sql.includes('from (select "cs"."customer_id", "cs"."customer_created_at"') || sql.includes('order by cs.customer_created_at')), search).toBe(true);
      }
    }
    // The other shop's customers never appear, and its own list is its own.
    expect((await pagesBothWays(knex, inShop(otherShopId), 'size=100&sort=created&dir=desc&status=active')).forward.flat()).not.toContain(ours[0]);
  });

  it('pages a shop’s customers of their own filters, sets and assignment filters by the keys of its assignments, walking the assignments’ index alone', async () => {
    // The type and the country are tested on the assignments' copies of them (migration 44); the
    // customers' rows are probed only for their other own filters (here, the marketing opt-in).
    const cases: Array<[string, string, { probed: boolean }]> = [
      ['type=B2B&country=AT&tag=vip&spent_min=10', "c.customer_type = 'B2B' AND c.billing_country = 'AT' AND cs.total_spent >= 1000 AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = 'vip')", { probed: false }],
      ['type=B2B&status=pending_approval', "c.customer_type = 'B2B' AND cs.status = 'pending_approval'", { probed: false }],
      ['country=AT', "c.billing_country = 'AT'", { probed: false }],
      ['country=AT&marketing=yes', "c.billing_country = 'AT' AND c.marketing_opt_in", { probed: true }],
    ];
    await knex('customers').whereIn('id', ours.filter((_, index) => index % 7 < 4)).update({ marketingOptIn: true });
    const figures = { total_spent: 'cs.total_spent', orders: 'cs.orders_count', created: 'c.created_at' };
    for (const [filters, where, { probed }] of cases) {
      for (const [sort, figure] of Object.entries(figures)) {
        for (const dir of ['asc', 'desc'] as const) {
          const search = `size=3&sort=${sort}&dir=${dir}&${filters}`;
          const { result, statements } = await statementsOf(knex, () => pagesBothWays(knex, inShop(shopId), search));
          const { rows } = await knex.raw(`SELECT c.id FROM customers c JOIN customer_shops cs ON cs.customer_id = c.id AND cs.shop_id = ? WHERE ${where} ORDER BY ${figure} ${dir}, c.id ${dir}`, [shopId]);
          const want = (rows as Array<{ id: number }>).map((row) => Number(row.id));
          expect(want.length, search).toBeGreaterThan(3);
          expect(result.forward.flat(), search).toEqual(want);
          expect(result.backward, search).toEqual(result.forward);
          // The assignments' entries walked, each tested on its copies of the type and the country,
          // and the customers' rows probed only for their other own filters.
          const walk = statements.find(({ sql }) => /"cs"\."customer_type" in|coalesce\(cs\.billing_country, ''\) IN/.test(sql));
          expect(walk, search).toBeDefined();
          expect(walk!.sql, search).not.toMatch(/"c"\."customer_type" in|coalesce\(c\.billing_country/);
          expect(walk!.sql.includes('"cs"."customer_id" in (select "c"."id" from "customers" as "c" where'), search).toBe(probed);
          const plan = await planWithout(knex, walk!, ['enable_seqscan', 'enable_sort', 'enable_bitmapscan']);
          expect(plan, search).toMatch(probed ? /Index (Only )?Scan (Backward )?using customer_shops_(total_spent|orders_count|customer_created)_idx/ : /Index Only Scan (Backward )?using customer_shops_(total_spent|orders_count|customer_created)_idx/);
        }
      }
    }
  });

  it('counts a shop’s customers of their type and country from its assignments’ copies, and all shops’ from the customers', async () => {
    const search = 'type=B2B&country=AT&tag=vip&spent_min=10';
    const { rows } = await knex.raw(
      `SELECT count(*)::int AS n FROM customers c JOIN customer_shops cs ON cs.customer_id = c.id AND cs.shop_id = ?
        WHERE c.customer_type = 'B2B' AND c.billing_country = 'AT' AND cs.total_spent >= 1000 AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = 'vip')`,
      [shopId],
    );
    const counted = await statementsOf(knex, () => countCustomers(knex, inShop(shopId), queryOf(search), null));
    expect(counted.result).toEqual({ value: rows[0].n, exact: true });
    const overTable = counted.statements.find(({ sql }) => sql.startsWith('SELECT count(*)::int AS n FROM ('));
    expect(overTable?.sql).toMatch(/"cs"\."customer_type" in \(\$\d+\) and coalesce\(cs\.billing_country, ''\) IN/);
    const everywhere = await statementsOf(knex, () => countCustomers(knex, { kind: 'all' }, queryOf('type=B2B&country=AT'), null));
    expect(everywhere.statements.find(({ sql }) => sql.startsWith('SELECT count(*)::int AS n FROM ('))?.sql).toMatch(/"c"\."customer_type" in \(\$\d+\) and coalesce\(c\.billing_country, ''\) IN/);
  });

  it('reads the index without the table for the filters it holds', async () => {
    const statement = knex('customer_shops as cs')
      .where('cs.shop_id', shopId)
      .whereRaw("coalesce(cs.last_order_at, '-infinity') >= ?", ['2025-01-01'])
      .whereIn('cs.status', ['active'])
      .where('cs.total_spent', '>=', 100)
      .where('cs.orders_count', '<=', 5)
      .select('cs.customer_id', 'cs.customer_created_at')
      .orderBy([{ column: 'cs.customer_created_at', order: 'desc' }, { column: 'cs.customer_id', order: 'desc' }])
      .limit(26)
      .toSQL()
      .toNative();
    expect(await planWithout(knex, statement, ['enable_seqscan', 'enable_sort', 'enable_bitmapscan'])).toContain('Index Only Scan Backward using customer_shops_customer_created_idx');
    // A range of last orders with its customers' creation time (few matches fetched and sorted, migration 43).
    const range = knex('customer_shops as cs')
      .where('cs.shop_id', shopId)
      .whereRaw("coalesce(cs.last_order_at, '-infinity') >= ?", ['2025-01-01'])
      .select('cs.customer_id', 'cs.customer_created_at')
      .toSQL()
      .toNative();
    expect(await planWithout(knex, range, ['enable_seqscan', 'enable_bitmapscan'])).toContain('Index Only Scan using customer_shops_last_order_idx');
  });

  it('reads a shop’s few matches that a walk near the cursor did not find from its assignments alone, sorted and counted in one statement', async () => {
    // The last page holds fewer than a page: the walk finds no page there, and the matches are read and sorted.
    const search = 'size=25&sort=created&dir=desc&status=pending_approval';
    const first = await listCustomers(knex, inShop(shopId), queryOf(search), null);
    expect(first.rows).toHaveLength(25);
    const { result: last, statements } = await statementsOf(knex, () => listCustomers(knex, inShop(shopId), queryOf(`${search}&after=${first.next}`), null));
    expect(last.rows.map((row) => row.id)).toEqual((await expected("cs.status = 'pending_approval'", 'desc')).slice(25));
    expect(last.count).toEqual({ value: 30, exact: true });
    expect(last.next).toBeUndefined();
    // Read from the shop's assignments alone, not walked again, and without a round trip of their ids.
    const read = statements.find(({ sql }) => sql.startsWith('with "matches" as materialized (select "cs"."customer_id" as "id"'));
    expect(read?.sql).not.toContain('"walked"');
    expect(read?.sql).toContain('from "customer_shops" as "cs" where "cs"."shop_id" = $');
    expect(statements.some(({ sql }) => sql.includes('unnest(') || sql.includes('array_agg(few.customer_id)'))).toBe(false);
  });

  it('reads a shop’s few matches of its assignment filters sorted by a figure from its assignments alone, once the walk did not find a page', async () => {
    for (const sort of ['orders', 'total_spent', 'last_order']) {
      const search = `size=25&sort=${sort}&dir=desc&status=pending_approval`;
      const first = await listCustomers(knex, inShop(shopId), queryOf(search), null);
      expect(first.rows, search).toHaveLength(25);
      const { result: last, statements } = await statementsOf(knex, () => listCustomers(knex, inShop(shopId), queryOf(`${search}&after=${first.next}`), null));
      const figure = { orders: 'cs.orders_count', total_spent: 'cs.total_spent', last_order: "coalesce(cs.last_order_at, '-infinity')" }[sort];
      const { rows } = await knex.raw(`SELECT cs.customer_id AS id FROM customer_shops cs WHERE cs.shop_id = ? AND cs.status = 'pending_approval' ORDER BY ${figure} DESC, cs.customer_id DESC`, [shopId]);
      expect([...first.rows, ...last.rows].map((row) => row.id), search).toEqual((rows as Array<{ id: number }>).map((row) => Number(row.id)));
      expect(last.count, search).toEqual({ value: 30, exact: true });
      // Read from the shop's assignments, without reading their customers to sort them: in one
      // statement on a key whose index holds the filters (walked first), else by their ids.
      const fetched = statements.find(({ sql }) => sql.includes(sort === 'last_order' ? 'unnest(' : 'with "matches" as materialized (select "cs"."customer_id" as "id"'));
      expect(fetched?.sql, search).toContain('from "customer_shops" as "cs" where "cs"."shop_id" = $');
      expect(fetched?.sql, search).not.toMatch(/from "customers" as "c" inner join "customer_shops" as "cs" on "cs"\."customer_id" = "c"\."id" and "cs"\."shop_id" = \$\d+ where "c"\."id" in \(select "ids"/);
    }
  });
});

/**
 * A later page starts where its cursor points on the sort key's index: the cursor is compared with
 * the key and the id of that index's own table, which makes the comparison a condition of the
 * index scan. (Compared with the assignment's customer, a shop's pages sorted by a customer's key
 * were read from the index's start: at a million customers 0.4–5 s halfway down.)
 */
describe('a shop’s later pages', () => {
  let knex: Knex;
  let shopId: number;
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  beforeAll(async () => {
    await insertManyCustomers(knex, 60, { emailPrefix: 'cursor-', shopIds: [shopId] });
    await knex.raw('VACUUM ANALYZE customers, customer_shops');
  });

  it('begin at the cursor on the key’s index, for every sort both ways', async () => {
    const indexes: Record<string, string> = {
      name: 'customers_sort_name_idx', email: 'customers_email_key', city: 'customers_city_idx', country: 'customers_country_city_idx', state: 'customers_state_idx',
      created: 'customer_shops_customer_created_idx', orders: 'customer_shops_orders_count_idx', total_spent: 'customer_shops_total_spent_idx', last_order: 'customer_shops_last_order_idx',
    };
    for (const [sort, index] of Object.entries(indexes)) {
      for (const dir of ['asc', 'desc']) {
        const search = `size=10&sort=${sort}&dir=${dir}`;
        const first = await listCustomers(knex, { kind: 'shop', shopId }, parseCustomerListQuery(Object.fromEntries(new URLSearchParams(search))), null);
        const { result: second, statements } = await statementsOf(knex, () => listCustomers(knex, { kind: 'shop', shopId }, parseCustomerListQuery(Object.fromEntries(new URLSearchParams(`${search}&after=${first.next}`))), null));
        expect(second.rows.map((row) => row.id), search).not.toContain(first.rows[0]!.id);
        const page = statements.find(({ sql }) => sql.startsWith('select "c"."id"'))!;
        const plan = await planWithout(knex, page, ['enable_seqscan', 'enable_sort', 'enable_bitmapscan']);
        expect(plan, search).toContain(index);
        // The cursor as a bound of the scan (e-mail's unique index: its key alone, the rest a filter).
        expect(plan, search).toMatch(/Index Cond: .*(ROW\(| [<>]=? )/);
      }
    }
  });
});

/**
 * A sales rep's pages are narrowed by the team even without filters: walked without parallel
 * workers (whose start cost more than the page). A shop's assignments copy their customer's team
 * (migration 45): by a key of theirs the page walks the team's own entries of the shop; by a
 * customer key, the key's index alone with the team read as a hash.
 */
describe('a sales team’s pages', () => {
  let knex: Knex;
  let shopId: number;
  let team: number;
  let members: number[];
  let elsewhere: number[];
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  beforeAll(async () => {
    const ids = await insertManyCustomers(knex, 300, { emailPrefix: 'team-', shopIds: [shopId] });
    team = (await makeSalesTeam(knex, 'Paging team')).id;
    const other = (await makeSalesTeam(knex, 'Other team')).id;
    members = ids.filter((_, index) => index % 7 === 0);
    await knex('customers').whereIn('id', members).update({ salesTeamId: team });
    await knex('customers').whereIn('id', ids.filter((_, index) => index % 7 === 1)).update({ salesTeamId: other });
    // The team's customers of another shop only are not on this shop's pages.
    elsewhere = await insertManyCustomers(knex, 20, { emailPrefix: 'team-elsewhere-', shopIds: [(await makeShop(knex)).id] });
    await knex('customers').whereIn('id', elsewhere).update({ salesTeamId: team });
    await knex('customerTags').insert(ids.filter((_, index) => index % 2 === 0).map((customerId) => ({ customerId, tag: 'vip' })));
    await knex('customers').whereIn('id', ids.filter((_, index) => index % 3 === 0)).update({ customerType: 'B2B' });
    await knex.raw('VACUUM ANALYZE customers, customer_shops, customer_tags');
  });

  it('keeps each assignment’s copy of its customer’s team, and counts a shop’s team from the copies', async () => {
    const [first, second] = [(await makeSalesTeam(knex, 'Copy team A')).id, (await makeSalesTeam(knex, 'Copy team B')).id];
    const customer = await makeCustomer(knex, [shopId], { salesTeamId: first });
    const copiesOf = async () => ((await knex('customerShops').where({ customerId: customer.id }).orderBy('shopId').select('salesTeamId')) as Array<{ salesTeamId: number | null }>).map((row) => row.salesTeamId);
    expect(await copiesOf()).toEqual([first]);
    // An assignment added later takes it from the customer; a change of the customer reaches every shop.
    await knex('customerShops').insert({ customerId: customer.id, shopId: (await makeShop(knex)).id, status: 'active' });
    await knex('customers').where({ id: customer.id }).update({ salesTeamId: second });
    expect(await copiesOf()).toEqual([second, second]);
    // Never written apart from the customer: a write of the copy takes the customer's again.
    await knex('customerShops').where({ customerId: customer.id, shopId }).update({ salesTeamId: first });
    expect(await copiesOf()).toEqual([second, second]);
    // A deleted team is taken off its customers (its foreign key), and so off their assignments.
    expect(await knex('salesTeams').where({ id: second }).delete()).toBe(1);
    expect(await copiesOf()).toEqual([null, null]);
    const { rows } = await knex.raw('SELECT count(*)::int AS n FROM customer_shops cs JOIN customers c ON c.id = cs.customer_id WHERE cs.sales_team_id IS DISTINCT FROM c.sales_team_id');
    expect(rows).toEqual([{ n: 0 }]);

    const counted = await statementsOf(knex, () => countCustomers(knex, { kind: 'shop', shopId }, parseCustomerListQuery({}), team));
    expect(counted.result).toEqual({ value: members.length, exact: true });
    const overTable = counted.statements.find(({ sql }) => sql.startsWith('SELECT count(*)::int AS n FROM ('));
    expect(overTable?.sql).toContain('"cs"."sales_team_id" = ');
    expect(await planWithout(knex, overTable!, ['enable_seqscan', 'enable_bitmapscan'])).toContain('Index Only Scan using customer_shops_sales_team_created_idx');
    // Over all shops the team is the customers' own.
    expect((await countCustomers(knex, { kind: 'all' }, parseCustomerListQuery({}), team)).value).toBe(members.length + elsewhere.length);
  });

  it('list the team’s customers that filters allow, walking the team’s own entries or, by a customer key, the key’s index with the team read as a hash', async () => {
    const tagged = new Set(((await knex('customerTags').where({ tag: 'vip' }).select('customerId')) as Array<{ customerId: number }>).map((row) => row.customerId));
    const b2b = new Set(((await knex('customers').where({ customerType: 'B2B' }).select('id')) as Array<{ id: number }>).map((row) => row.id));
    for (const [filter, allowed] of [['tag=vip', tagged], ['type=B2B', b2b]] as const) {
      for (const sort of ['created', 'name']) {
        // A customer key walks every shop's customers: the customers' own filters are read as the walk goes.
        if (sort === 'name' && filter === 'type=B2B') continue;
        const search = `size=4&sort=${sort}&dir=asc&${filter}`;
        const listed: number[] = [];
        let after = '';
        const { statements } = await statementsOf(knex, async () => {
          for (let pages = 0; pages < 20; pages++) {
            const page = await listCustomers(knex, { kind: 'shop', shopId }, parseCustomerListQuery(Object.fromEntries(new URLSearchParams(`${search}${after ? `&after=${after}` : ''}`))), team);
            listed.push(...page.rows.map((row) => row.id));
            if (!page.next) break;
            after = page.next;
          }
        });
        const want = members.filter((id) => allowed.has(id));
        expect(want.length, search).toBeGreaterThan(4);
        expect([...listed].sort((a, b) => a - b), search).toEqual(want);
        if (sort === 'created') expect(listed, search).toEqual(want);
        // The assignments' copies of the team (migration 45): by creation the team's own (shop, team,
        // created) entries are walked; by name every shop's customers, the team's entries hashed.
        const page = statements.find(({ sql }) => sql.startsWith('select "c"."id"') && sql.includes('"cs"."sales_team_id" = '));
        expect(page, search).toBeDefined();
        expect(await planWithout(knex, page!, ['enable_seqscan', 'enable_sort']), search).toMatch(
          sort === 'created'
            ? /Index Only Scan using customer_shops_sales_team_created_idx[^\n]*\n\s+Index Cond: \(\(shop_id = [^)]+\) AND \(sales_team_id = /
            : /Index Only Scan using customers_sort_name_idx[^\n]*\n\s+Filter: \(+hashed SubPlan/,
        );
      }
    }
  });

  it('list the team’s customers only, in order both ways, walked without parallel workers', async () => {
    const walks = {
      created: /Index Only Scan Backward using customer_shops_sales_team_created_idx[^\n]*\n\s+Index Cond: \(\(shop_id = [^)]+\) AND \(sales_team_id = /,
      name: /Index Only Scan Backward using customers_sort_name_idx[^\n]*\n\s+Filter: \(\(hashed SubPlan/,
      state: /Index Only Scan Backward using customers_state_idx[^\n]*\n\s+Filter: \(\(hashed SubPlan/,
    };
    for (const [source, sort] of [[{ kind: 'shop', shopId }, 'created'], [{ kind: 'shop', shopId }, 'name'], [{ kind: 'shop', shopId }, 'state'], [{ kind: 'all' }, 'total_spent']] as const) {
      const search = `size=10&sort=${sort}&dir=desc`;
      const listed: number[] = [];
      let after = '';
      const { statements } = await statementsOf(knex, async () => {
        for (let pages = 0; pages < 20; pages++) {
          const page = await listCustomers(knex, source, parseCustomerListQuery(Object.fromEntries(new URLSearchParams(`${search}${after ? `&after=${after}` : ''}`))), team);
          listed.push(...page.rows.map((row) => row.id));
          if (!page.next) break;
          after = page.next;
        }
      });
      if (source.kind === 'shop') {
        const page = statements.find(({ sql }) => sql.startsWith('select "c"."id"'))!;
        expect(await planWithout(knex, page, ['enable_seqscan', 'enable_sort']), search).toMatch(walks[sort as keyof typeof walks]);
      }
      const listable = source.kind === 'shop' ? members : [...members, ...elsewhere];
      expect([...listed].sort((a, b) => a - b), search).toEqual(listable);
      expect(new Set(listed).size, search).toBe(listable.length);
      // Created in one statement, with nothing spent: ties all, in id order.
      if (sort !== 'name') expect(listed, search).toEqual([...listable].reverse());
      expect(statements.some(({ sql }) => sql.includes("set_config('max_parallel_workers_per_gather', '0', true)")), search).toBe(true);
    }
    const probe = knex('customers as c').where('c.sales_team_id', team).where('c.id', members[0]!).select('c.id').toSQL().toNative();
    expect(await planWithout(knex, probe, ['enable_seqscan', 'enable_bitmapscan'])).toContain('Index Only Scan using customers_sales_team_idx');
  });
});
