import type { Knex } from 'knex';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { applyFilters, customerListFilter, fewMembers, type ListSource } from '../../app/services/customer-list-filter.js';
import { countCustomers } from '../../app/services/customer-list-count.js';
import { encodeCursor, listCustomers, WALK_BUDGET_MS, walkBudgetMs } from '../../app/services/customer-list.service.js';
import { insertManyCustomers } from '../support/customer-list.js';
import { useDatabaseWithShop } from '../support/database.js';
import { makeSalesTeam, makeShop } from '../support/factories.js';
import { planWithout, statementsOf } from '../support/statements.js';

/**
 * Filters that few customers pass are read from their own indexes: a shop's page narrowed only by
 * what its assignments hold is collected instead of walked along a customer sort key when the
 * planner expects few matches (walkBudgetMs), and "password changed before" has an index of the
 * customers who have a password (migration 36).
 */
describe('filters that few customers pass', () => {
  let knex: Knex;
  let shopId: number;
  let bigShopId: number;
  let ours: number[];
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  beforeAll(async () => {
    bigShopId = (await makeShop(knex)).id;
    ours = await insertManyCustomers(knex, 400, { emailPrefix: 'ours-', shopIds: [shopId] });
    await knex('customerShops').where({ shopId }).whereIn('customerId', ours.slice(0, 150)).update({ status: 'disabled' });
    await insertManyCustomers(knex, 6_000, { emailPrefix: 'big-', shopIds: [bigShopId] });
    await knex('customers').whereIn('id', ours.slice(0, 30)).update({ passwordChangedAt: new Date('2015-03-01T00:00:00Z') });
    await knex('customers').whereNotIn('id', ours.slice(0, 30)).update({ passwordChangedAt: new Date('2024-06-01T00:00:00Z') });
    await knex.raw('ANALYZE customers, customer_shops');
  });

  const queryOf = (search: string) => {
    const params = new URLSearchParams(search);
    return parseCustomerListQuery({ ...Object.fromEntries(params), tag: params.getAll('tag') });
  };
  const inShop = (id: number): ListSource => ({ kind: 'shop', shopId: id });

  it('collects a shop’s few matches of its assignment filters at once, and gives the pages the walk gives', async () => {
    for (const search of ['status=disabled', 'status=disabled&spent_min=0', 'orders_max=0&status=disabled']) {
      expect(await walkBudgetMs(knex, inShop(shopId), queryOf(search)), search).toBe(0);
    }
    const query = queryOf('status=disabled&sort=email&dir=asc');
    const { result: collected, statements } = await statementsOf(knex, () => listCustomers(knex, inShop(shopId), query, null, { walkBudgetMs: 0 }));
    // Their ids, from the assignments alone; then the page of those ids.
    expect(statements.some(({ sql }) => sql.includes('array_agg(few.customer_id)') && !sql.includes('"customers"'))).toBe(true);
    const walked = await listCustomers(knex, inShop(shopId), query, null, { walkBudgetMs: 10_000 });
    expect(collected.rows).toHaveLength(25);
    expect(collected.rows.map((row) => row.email)).toEqual(walked.rows.map((row) => row.email));
    expect(collected.next).toBe(walked.next);
    const next = queryOf(`status=disabled&sort=email&dir=asc&after=${walked.next}`);
    const [second, secondWalked] = [await listCustomers(knex, inShop(shopId), next, null, { walkBudgetMs: 0 }), await listCustomers(knex, inShop(shopId), next, null, { walkBudgetMs: 10_000 })];
    expect(second.rows.map((row) => row.email)).toEqual(secondWalked.rows.map((row) => row.email));
    expect(second.rows.every((row) => ours.slice(0, 150).includes(row.id))).toBe(true);
    // Read from their ids, every page knows how many match; the walk does not.
    expect([collected.count, second.count, walked.count]).toEqual([{ value: 150, exact: true }, { value: 150, exact: true }, undefined]);
  });

  it('says how many match when the first page collected them all, and not from a later page', async () => {
    // A search is not read as ids: with no time to walk, the page is collected.
    const query = queryOf('q=ours-&sort=email&dir=asc');
    const first = await listCustomers(knex, inShop(shopId), query, null, { walkBudgetMs: 0 });
    expect(first.rows.map((row) => row.email)).toEqual((await listCustomers(knex, inShop(shopId), query, null, { walkBudgetMs: 10_000 })).rows.map((row) => row.email));
    expect(first.count).toEqual({ value: 400, exact: true });
    const later = await listCustomers(knex, inShop(shopId), queryOf(`q=ours-&sort=email&dir=asc&after=${first.next}`), null, { walkBudgetMs: 0 });
    expect(later.rows).toHaveLength(25);
    expect(later.count).toBeUndefined();
    // None: nothing to show but the usual count.
    expect((await listCustomers(knex, inShop(shopId), queryOf('q=nobody-at-all'), null, { walkBudgetMs: 0 })).count).toBeUndefined();
  });

  /** Every customer of every page from the first on, following the next page's cursor. */
  const allPages = async (source: ListSource, search: string, walkBudget?: number) => {
    const listed: number[] = [];
    let after: string | undefined = '';
    for (let pages = 0; after !== undefined && pages < 50; pages++) {
      const page = await listCustomers(knex, source, queryOf(`size=25&${search}${after ? `&after=${after}` : ''}`), null, walkBudget === undefined ? {} : { walkBudgetMs: walkBudget });
      listed.push(...page.rows.map((row) => row.id));
      after = page.next;
    }
    return listed;
  };

  it('pages a shop’s few matches by id, walking the sort key’s index or fetching them, as the walk of the whole list does', async () => {
    // Our 150 disabled customers are older than the other shop's 6,000: from the oldest on the index
    // finds them at once; from the newest it crosses 6,000 others, more than it walks for 150 ids
    // (4,500), and they are fetched and sorted instead. Expression keys (e-mail) are always fetched.
    for (const sort of ['created', 'name', 'total_spent', 'orders', 'email', 'last_order']) {
      for (const dir of ['asc', 'desc']) {
        const search = `status=disabled&sort=${sort}&dir=${dir}`;
        const byId = await allPages(inShop(shopId), search, 0);
        expect(byId, search).toEqual(await allPages(inShop(shopId), search, 10_000));
        expect([...byId].sort((a, b) => a - b), search).toEqual(ours.slice(0, 150));
      }
    }
    const { statements } = await statementsOf(knex, () => listCustomers(knex, inShop(shopId), queryOf('status=disabled&sort=name&dir=asc'), null, { walkBudgetMs: 0 }));
    expect(statements.some(({ sql }) => sql.includes('"walked" as materialized'))).toBe(true);
  });

  it('reads the ids of a shop’s customers of one status (or one range of its figures) first, and walks when there are more than a few', async () => {
    // (By creation, the shop's assignments are walked first: see assignment-customer-order.test.ts.)
    const { result, statements } = await statementsOf(knex, () => allPages(inShop(shopId), 'status=disabled&sort=name&dir=desc'));
    expect(result).toEqual(await allPages(inShop(shopId), 'status=disabled&sort=name&dir=desc', 10_000));
    expect(statements.some(({ sql }) => sql.startsWith('EXPLAIN'))).toBe(false);
    expect(statements.filter(({ sql }) => sql.includes('"walked" as materialized'))).toHaveLength(6);
    // 6,000 active in the other shop: more than FEW_MATCHES, so no ids are sent and the page is walked.
    const many = await statementsOf(knex, () => listCustomers(knex, inShop(bigShopId), queryOf('status=active&sort=name'), null));
    expect(many.result.rows).toHaveLength(25);
    expect(many.statements.some(({ sql }) => sql.includes('"walked" as materialized'))).toBe(false);
    expect(many.result.rows.map((row) => row.id)).toEqual((await listCustomers(knex, inShop(bigShopId), queryOf('status=active&sort=name'), null, { walkBudgetMs: 10_000 })).rows.map((row) => row.id));
    // By creation, the last page's walk finds fewer than a page; the matches read from the
    // assignments are then more than FEW_MATCHES (the first of them, not sorted): not the page, and
    // not its count.
    const { rows: newest } = await knex.raw(`SELECT customer_id AS id, to_char(customer_created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM customer_shops WHERE shop_id = ? ORDER BY customer_created_at DESC, customer_id DESC`, [bigShopId]);
    const cursorRow = (newest as Array<{ id: number; at: string }>)[5_989]!;
    const last = await statementsOf(knex, () => listCustomers(knex, inShop(bigShopId), queryOf(`status=active&sort=created&dir=desc&after=${encodeCursor({ keys: [cursorRow.at], id: Number(cursorRow.id) })}`), null));
    expect(last.statements.some(({ sql }) => sql.startsWith('with "matches" as materialized (select "cs"."customer_id" as "id"'))).toBe(true);
    expect(last.result.rows.map((row) => row.id)).toEqual((newest as Array<{ id: number }>).slice(5_990).map((row) => Number(row.id)));
    expect(last.result.count).toBeUndefined();
    expect(last.result.next).toBeUndefined();
  });

  /** The count the list shows, and whether it was counted over the table (rather than from ids alone). */
  const countOf = async (source: ListSource, search: string, salesTeamId: number | null = null) => {
    const { result, statements } = await statementsOf(knex, () => countCustomers(knex, source, queryOf(search), salesTeamId));
    return { ...result, overTable: statements.some(({ sql }) => sql.startsWith('SELECT count(*)::int AS n FROM (')) };
  };

  it('counts a shop’s few matches of its assignment filters from their ids, exactly, and more of them or other filters over the table', async () => {
    expect(await countOf(inShop(shopId), 'status=disabled')).toEqual({ value: 150, exact: true, overTable: false });
    expect(await countOf(inShop(shopId), 'orders_max=0&orders_min=0')).toEqual({ value: 400, exact: true, overTable: false });
    // Filters of two of the assignments' indexes would be read from one and checked on the table,
    // with no budget: they are counted over the table, within the count's.
    expect(await countOf(inShop(shopId), 'status=active&orders_max=0')).toEqual({ value: 250, exact: true, overTable: true });
    expect(await countOf(inShop(shopId), 'status=pending_approval')).toEqual({ value: 0, exact: true, overTable: false });
    // 6,000: more than FEW_MATCHES. A customer's own filter, a search or a sales team: not the ids' business.
    expect(await countOf(inShop(bigShopId), 'status=active')).toEqual({ value: 6_000, exact: true, overTable: true });
    expect(await countOf(inShop(shopId), 'status=disabled&state=active')).toEqual({ value: 150, exact: true, overTable: true });
    expect(await countOf(inShop(shopId), 'status=disabled&q=ours-1')).toMatchObject({ exact: true, overTable: true });
    const team = await makeSalesTeam(knex, 'Few matches team');
    await knex('customers').whereIn('id', ours.slice(0, 10)).update({ salesTeamId: team.id });
    expect(await countOf(inShop(shopId), 'status=disabled', team.id)).toEqual({ value: 10, exact: true, overTable: true });
    // Over all shops the assignments' status does not apply, and is not counted by ids.
    expect((await countOf({ kind: 'all' }, 'status=disabled')).overTable).toBe(true);
  });

  it('reads the ids of a shop’s customers whose last order falls in a range from its index alone, and pages them by id', async () => {
    const lapsed = ours.slice(200, 260);
    await knex('customerShops').where({ shopId }).whereIn('customerId', lapsed).update({ lastOrderAt: new Date('2019-05-01T00:00:00Z') });
    await knex('customerShops').where({ shopId }).whereIn('customerId', ours.slice(260, 270)).update({ lastOrderAt: new Date('2020-01-01T00:00:00Z') });
    await knex.raw('VACUUM ANALYZE customer_shops');
    for (const order of ['sort=created&dir=desc', 'sort=name&dir=asc', 'sort=last_order&dir=desc', 'sort=email&dir=asc']) {
      const search = `last_from=2019-01-01&last_to=2019-12-31&${order}`;
      const { result, statements } = await statementsOf(knex, () => allPages(inShop(shopId), search));
      expect([...result].sort((a, b) => a - b), search).toEqual(lapsed);
      expect(result, search).toEqual(await allPages(inShop(shopId), search, 10_000));
      // By creation (a key whose index holds the filters, walked first) read from the assignments in
      // one statement, by the customers' keys and the last order's expression paged by id.
      const byIds = !order.startsWith('sort=created');
      expect(statements.some(({ sql }) => sql.includes('array_agg(few.customer_id)')), search).toBe(byIds);
      expect(statements.some(({ sql }) => sql.includes('unnest(')), search).toBe(byIds);
      expect(statements.some(({ sql }) => sql.startsWith('with "matches" as materialized (select "cs"."customer_id" as "id"')), search).toBe(!byIds);
    }
    const ids = knex.queryBuilder().from({ cs: 'customer_shops' }).select('cs.customer_id').where('cs.shop_id', shopId);
    applyFilters(knex, ids, inShop(shopId), queryOf('last_from=2019-01-01&last_to=2019-12-31').filters);
    expect(await planWithout(knex, ids.toSQL().toNative(), ['enable_seqscan', 'enable_bitmapscan'])).toContain('Index Only Scan using customer_shops_last_order_idx');
  });

  it('pages the few customers of a tag and a group by id, of the listed shop only', async () => {
    const [{ id: group }] = await knex('customerGroups').insert({ name: 'Few of two shops', kind: 'static' }).returning('id');
    const others = ((await knex('customerShops').where({ shopId: bigShopId }).orderBy('customerId').limit(40).select('customerId')) as Array<{ customerId: number }>).map((row) => Number(row.customerId));
    await knex('customerGroupMembers').insert([...ours.slice(100, 200), ...others].map((customerId) => ({ groupId: group, customerId, source: 'manual' })));
    await knex('customerTags').insert([...ours.slice(150, 260), ...others.slice(0, 20)].map((customerId) => ({ customerId, tag: 'few' })));
    const filters = queryOf(`tag=few&group=${group}`).filters;
    const sorted = (ids: number[] | null) => [...(ids ?? [])].sort((a, b) => a - b);
    expect(sorted(await fewMembers(knex, filters, inShop(shopId)))).toEqual(ours.slice(150, 200));
    expect(sorted(await fewMembers(knex, filters, { kind: 'all' }))).toEqual(sorted([...ours.slice(150, 200), ...others.slice(0, 20)]));
    expect(await fewMembers(knex, filters, inShop(bigShopId + 1_000))).toEqual([]);
    for (const search of [`tag=few&group=${group}`, `tag=few&group=${group}&sort=name&dir=asc`, `tag=few&group=${group}&sort=email&dir=desc`, `tag=few&group=${group}&sort=total_spent&dir=desc`]) {
      expect(sorted(await allPages(inShop(shopId), search)), search).toEqual(ours.slice(150, 200));
      expect(sorted(await allPages(inShop(bigShopId), search)), search).toEqual(sorted(others.slice(0, 20)));
      expect(sorted(await allPages({ kind: 'all' }, search)), search).toEqual(sorted([...ours.slice(150, 200), ...others.slice(0, 20)]));
    }
    // Counted from the same ids: exact, and of the listed shop only.
    expect(await countOf(inShop(shopId), `tag=few&group=${group}`)).toEqual({ value: 50, exact: true, overTable: false });
    expect(await countOf(inShop(bigShopId), `tag=few&group=${group}`)).toEqual({ value: 20, exact: true, overTable: false });
    expect(await countOf({ kind: 'all' }, `tag=few&group=${group}`)).toEqual({ value: 70, exact: true, overTable: false });
    // Any of two tags, which ten of them have both of: each counted once.
    await knex('customerTags').insert(ours.slice(150, 160).map((customerId) => ({ customerId, tag: 'few-too' })));
    expect(await countOf(inShop(shopId), `tag=few&tag=few-too&group=${group}`)).toEqual({ value: 50, exact: true, overTable: false });
    expect(await countOf(inShop(shopId), `tag=few&group=${group}&type=B2B`)).toEqual({ value: 0, exact: true, overTable: true });
  });

  it('walks the key’s index alone for the many customers of two tags (one of them hashed over all shops), and pages them as the collect does', async () => {
    const bigShop = ((await knex('customerShops').where({ shopId: bigShopId }).orderBy('customerId').select('customerId')) as Array<{ customerId: number }>).map((row) => Number(row.customerId));
    const both = [...bigShop.slice(0, 2_300), ...ours.slice(300, 350)];
    await knex.raw(`INSERT INTO customer_tags (customer_id, tag) SELECT id, t FROM unnest(?::bigint[]) id, unnest(array['pair-a', 'pair-b']) t`, [both]);
    await knex.raw(`INSERT INTO customer_tags (customer_id, tag) SELECT id, 'pair-a' FROM unnest(?::bigint[]) id`, [bigShop.slice(3_000, 3_500)]);
    await knex.raw('ANALYZE customer_tags');
    const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);
    for (const [source, expected] of [[{ kind: 'all' }, both], [inShop(shopId), ours.slice(300, 350)]] as const) {
      for (const order of ['sort=created&dir=desc', 'sort=name&dir=asc', 'sort=total_spent&dir=desc', 'sort=orders&dir=asc', 'sort=state&dir=desc']) {
        const search = `size=100&tag=pair-a&tag=pair-b&tagmode=all&${order}`;
        const { result: walked, statements } = await statementsOf(knex, () => allPages(source, search));
        expect(sorted(walked), search).toEqual(sorted([...expected]));
        expect(walked, search).toEqual(await allPages(source, search, 0));
        // The customers are read whole only for the page (joined after the walk's limit), never while walking.
        const walkedAlone = ({ sql }: { sql: string }) => sql.startsWith('select "c"."id", "c"."email"') && /from \(select "(cs?|t)"\."(customer_)?id" as "id"/.test(sql) && !sql.includes('"walked"');
        expect(statements.some(walkedAlone), search).toBe(true);
        // By creation the smaller tag's own entries are walked (memberWalk): over all shops the other
        // tag probed on each, in the shop (whose 400 customers make the walk longer) tested as a
        // hash. Over all shops by another key the smaller tag is tested as a hash, the other probed.
        // The last page, less than full, is then read the usual way.
        const byCreation = order.includes('created');
        expect(statements.some(({ sql }) => sql.includes('t.customer_created_at AS k0')), search).toBe(byCreation);
        expect(statements.some(({ sql }) => sql.includes(') IS TRUE') && sql.includes('as "w"')), search).toBe(source.kind === 'all' ? !byCreation : byCreation);
      }
    }
  });

  it('walks the first page of a tag and a group over all shops along the tag’s entries, reading their few shared ids (and counting them) only where the walk finds no page', async () => {
    const bigShop = ((await knex('customerShops').where({ shopId: bigShopId }).orderBy('customerId').select('customerId')) as Array<{ customerId: number }>).map((row) => Number(row.customerId));
    const [{ id: group }] = await knex('customerGroups').insert({ name: 'Overlapping a tag', kind: 'static' }).returning('id');
    // 300 in both, among the newest customers, where a walk with one set hashed finds a page at once.
    const members = [...bigShop.slice(4_000, 4_700), ...bigShop.slice(5_700)];
    await knex('customerGroupMembers').insert(members.map((customerId) => ({ groupId: group, customerId, source: 'manual' })));
    await knex('customerTags').insert(bigShop.slice(5_000).map((customerId) => ({ customerId, tag: 'overlap' })));
    await knex.raw('ANALYZE customer_tags, customer_group_members');
    const search = `tag=overlap&group=${group}`;
    const shared = bigShop.slice(5_700);
    const { result: first, statements } = await statementsOf(knex, () => listCustomers(knex, { kind: 'all' }, queryOf(search), null));
    // The page does not wait for the ids to show the count: the list asks for it, and it is exact.
    expect(first.count).toBeUndefined();
    expect(statements.some(({ sql }) => sql.includes('array_agg(few.customer_id)'))).toBe(false);
    // The tag's own entries in the list's default order, the group probed on each: hashing its
    // 1,000 members would cost more than the few probes of a page.
    expect(statements.some(({ sql }) => sql.includes('t.customer_created_at AS k0'))).toBe(true);
    expect(statements.some(({ sql }) => sql.includes(') IS TRUE'))).toBe(false);
    expect(await countCustomers(knex, { kind: 'all' }, queryOf(search), null)).toEqual({ value: 300, exact: true });
    expect(first.rows.every((row) => shared.includes(row.id))).toBe(true);
    const all = await allPages({ kind: 'all' }, search);
    expect([...all].sort((a, b) => a - b)).toEqual(shared);
    expect(all).toEqual(await allPages({ kind: 'all' }, search, 0));
    // Oldest first the shared members come last: the bounded walk finds none, and their ids give the page and its count.
    const oldest = await statementsOf(knex, () => listCustomers(knex, { kind: 'all' }, queryOf(`${search}&sort=created&dir=asc`), null));
    expect(oldest.result.count).toEqual({ value: 300, exact: true });
    expect(oldest.statements.some(({ sql }) => sql.includes('array_agg(few.customer_id)'))).toBe(true);
    expect(oldest.result.rows.map((row) => row.id)).toEqual(shared.slice(0, 25));
  });

  it('walks the key’s index alone for a shop’s many customers of its assignment filters, probing each one’s assignment', async () => {
    const assigned = ((await knex('customerShops').where({ shopId: bigShopId }).orderBy('customerId').select('customerId')) as Array<{ customerId: number }>).map((row) => Number(row.customerId));
    // Every 7th disabled, every 5th with orders: 4,115 of the 6,000 pass both filters.
    await knex('customerShops').where({ shopId: bigShopId }).whereIn('customerId', assigned.filter((_, index) => index % 7 === 0)).update({ status: 'disabled' });
    await knex('customerShops').where({ shopId: bigShopId }).whereIn('customerId', assigned.filter((_, index) => index % 5 === 0)).update({ ordersCount: 2 });
    const passing = assigned.filter((_, index) => index % 7 !== 0 && index % 5 !== 0);
    for (const order of ['sort=created&dir=desc', 'sort=name&dir=asc', 'sort=total_spent&dir=desc']) {
      const search = `size=100&status=active&orders_max=0&${order}`;
      const { result: walked, statements } = await statementsOf(knex, () => allPages(inShop(bigShopId), search));
      expect([...walked].sort((a, b) => a - b), search).toEqual(passing);
      expect(walked, search).toEqual(await allPages(inShop(bigShopId), search, 0));
      // By creation and by total spent, the shop's own index of the key holds the filters' columns.
      const probed = order.includes('created')
        ? /from \(select "cs"\."customer_id", "cs"\."customer_created_at", "cs"\."status"/
        : order.includes('total_spent') ? /from \(select "cs"\."customer_id", "cs"\."total_spent", "cs"\."status"/ : /"c"\."id" in \(select "cs"\."customer_id" from "customer_shops" as "cs" where "cs"\."shop_id" = \$\d+ and "cs"\."status" in/;
      expect(statements.some(({ sql }) => probed.test(sql)), search).toBe(true);
    }
  });

  it('reads a range of last orders from the last order’s index, in a shop and over all shops', async () => {
    for (const [source, index] of [[inShop(shopId), 'customer_shops_last_order_idx'], [{ kind: 'all' }, 'customers_last_order_idx']] as const) {
      const statement = customerListFilter(knex, source, queryOf('last_from=2020-01-01&last_to=2020-12-31'), null).select('c.id').toSQL().toNative();
      expect(await planWithout(knex, statement, ['enable_seqscan']), index).toContain(index);
    }
  });

  it('walks first where the matches are many, the filters are the customer’s, a search narrows the page, or the page is over all shops', async () => {
    const cases: Array<[string, ListSource]> = [
      ['status=active', inShop(bigShopId)],
      ['state=active', inShop(shopId)],
      ['status=disabled&state=active', inShop(shopId)],
      ['status=disabled&q=ours', inShop(shopId)],
      ['orders_max=0', { kind: 'all' }],
      [`status=${encodeURIComponent("' OR 1=1 --")}`, inShop(shopId)],
      ['status=%3Cscript%3E&orders_min=abc', inShop(shopId)],
    ];
    for (const [search, source] of cases) expect(await walkBudgetMs(knex, source, queryOf(search)), search).toBe(WALK_BUDGET_MS);
  });

  it('finds who last changed their password before a date through the index of those who have one', async () => {
    const query = queryOf('pwd_before=2016-01-01&sort=email&dir=asc&size=50');
    const page = await listCustomers(knex, { kind: 'all' }, query, null);
    expect(page.rows.map((row) => row.id).sort((a, b) => a - b)).toEqual(ours.slice(0, 30));
    const statement = customerListFilter(knex, { kind: 'all' }, query, null).select('c.id').toSQL().toNative();
    expect(await planWithout(knex, statement, ['enable_seqscan'])).toContain('customers_password_changed_idx');
    const [definition] = await knex('pg_indexes').where({ indexname: 'customers_password_changed_idx' }).pluck('indexdef');
    expect(definition).toBe('CREATE INDEX customers_password_changed_idx ON public.customers USING btree (password_changed_at) WHERE (password_changed_at IS NOT NULL)');
  });
});
