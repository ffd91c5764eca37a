import type { Knex } from 'knex';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { plannedRows } from '../../app/db/list-statistics.js';
import { estimateCustomers } from '../../app/services/customer-list-count.js';
import { customerListFilter, FEW_MEMBERS, resolveListSource } from '../../app/services/customer-list-filter.js';
import { CLUSTERED_WALK_BUDGET_MS, listCustomers, WALK_BUDGET_MS, walkBudgetMs } from '../../app/services/customer-list.service.js';
import { insertManyCustomers } from '../support/customer-list.js';
import { useDatabaseWithShop } from '../support/database.js';
import { planWithout, statementsOf } from '../support/statements.js';

/**
 * A page whose matches cluster in its sort order (a surname sorted by name, a country sorted by
 * city) is first read along the sort index, within a time budget, then from the indexes of its
 * search and filters: the same page either way.
 */
describe('pages whose matches cluster in the sort order', () => {
  let knex: Knex;
  let shopId: number;
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  beforeAll(async () => {
    // 30,000 customers sort before the 300 "Schmidtke" ones: a walk by name passes them all first.
    await insertManyCustomers(knex, 30_000, { emailPrefix: 'filler-', shopIds: [shopId], firstName: 'Aaron', lastName: 'Filler' });
    await insertManyCustomers(knex, 300, { emailPrefix: 'zed-', shopIds: [shopId], firstName: 'Zed', lastName: 'Schmidtke' });
    // A third of the customers are New Zealanders, all in cities that sort after everyone else's.
    await insertManyCustomers(knex, 15_000, { emailPrefix: 'kiwi-', shopIds: [shopId], firstName: 'Kim', lastName: 'Kiwi', billingCountry: 'NZ' });
    await knex('customers').whereLike('email', 'filler-%').update({ billingCity: 'Aachen', billingCountry: 'DE' });
    await knex('customers').whereLike('email', 'kiwi-%').update({ billingCity: knex.raw("'Zwolle ' || id") });
    await knex.raw('ANALYZE customers');
  });

  /**
   * The page, and whether it was read the second way (from the trigram index); a budget of 10 s
   * lets any walk finish, one of 0 reads the page the second way at once.
   */
  const page = async (search: string, budgetMs: number | (() => Promise<number>) = 10_000) => {
    const query = parseCustomerListQuery(Object.fromEntries(new URLSearchParams(search)));
    const source = resolveListSource('all', [{ id: shopId }], query.shop)!;
    const { result, statements } = await statementsOf(knex, () => listCustomers(knex, source, query, null, { walkBudgetMs: budgetMs }));
    return { ...result, emails: result.rows.map((row) => row.email), fellBack: statements.some(({ sql }) => sql.includes('enable_seqscan')) };
  };

  it('gives the same pages, in the same order, when the walk runs out of time and the page is read from the search index', async () => {
    const walked = await page('q=schmidtke&sort=name&dir=asc');
    expect(walked.fellBack).toBe(false);
    expect(walked.emails).toHaveLength(25);
    expect(walked.emails.every((email) => email.startsWith('zed-'))).toBe(true);

    const collected = await page('q=schmidtke&sort=name&dir=asc', 0);
    expect(collected.fellBack).toBe(true);
    expect(collected.emails).toEqual(walked.emails);
    expect(collected.next).toBe(walked.next);

    const secondWalked = await page(`q=schmidtke&sort=name&dir=asc&after=${walked.next}`);
    const secondCollected = await page(`q=schmidtke&sort=name&dir=asc&after=${walked.next}`, 0);
    expect(secondCollected.emails).toEqual(secondWalked.emails);
    expect(secondCollected.emails[0]).not.toBe(walked.emails[0]);
    const backWalked = await page(`q=schmidtke&sort=name&dir=desc`);
    expect((await page('q=schmidtke&sort=name&dir=desc', 0)).emails).toEqual(backWalked.emails);
  });

  it('finds names spelled slightly differently through the search text’s trigram index, and only names', async () => {
    // "Schmidtk GmbH" is as similar to the term as the surnames, but it is a company, not a name.
    const [otto] = await insertManyCustomers(knex, 1, { emailPrefix: 'otto-', firstName: 'Otto', lastName: 'Ort' });
    await knex('customers').where({ id: otto }).update({ companyName1: 'Schmidtk GmbH' });
    try {
      const walked = await page('q=schmidke&sort=name&dir=asc');
      const collected = await page('q=schmidke&sort=name&dir=asc', 0);
      expect(collected.fellBack).toBe(true);
      for (const found of [walked, collected]) {
        expect(found.emails).toHaveLength(25);
        expect(found.emails.every((email) => email.startsWith('zed-'))).toBe(true);
      }
      expect(collected.emails).toEqual(walked.emails);
      const query = parseCustomerListQuery({ q: 'schmidke' });
      const matches = customerListFilter(knex, resolveListSource('all', [{ id: shopId }], query.shop)!, query, null).select('c.id', 'c.email');
      const emails = ((await matches) as Array<{ email: string }>).map((row) => row.email);
      expect(emails).toHaveLength(300);
      expect(emails).not.toContain('otto-1@example.test');
      expect(await planWithout(knex, matches.toSQL().toNative(), ['enable_seqscan'])).toMatch(/Bitmap Index Scan on customers_search_trgm_idx[\s\S]*search_text %> 'schmidke'/);
      // Estimated as the search texts similar to the term: the planner, taking the name and the
      // search text for independent conditions, would multiply their shares (at a million
      // customers 706 for 41,802, and the count was then tried exactly before it was sampled).
      // Here: 30,000 of the 45,301 customers are named "Filler…".
      const estimate = await estimateCustomers(knex, { kind: 'all' }, parseCustomerListQuery({ q: 'fillr' }), null);
      expect(estimate).toBeGreaterThan(20_000);
      expect(estimate).toBeLessThan(40_000);
      // A page's own statement checks the name, and the planner still does not multiply: believing
      // the matches few, it would read and sort all of them instead of walking the sort order.
      const fillr = parseCustomerListQuery({ q: 'fillr' });
      const pageEstimate = await plannedRows(knex, customerListFilter(knex, { kind: 'all' }, fillr, null).select('c.id'));
      expect(pageEstimate).toBeGreaterThan(5_000);
    } finally {
      await knex('customers').where({ id: otto }).delete();
    }
  });

  it('gives a search term that begins a page of sort keys a short walk budget: its matches cluster there', async () => {
    const budgetOf = (search: string) => {
      const query = parseCustomerListQuery(Object.fromEntries(new URLSearchParams(search)));
      return walkBudgetMs(knex, resolveListSource('all', [{ id: shopId }], query.shop)!, query);
    };
    // 300 surnames begin with "schmidtke" and 300 e-mail addresses with "zed-"; "zed" is a first
    // name only (the name sorts by surname), and 11 addresses begin with "zed-10".
    for (const search of ['q=schmidtke&sort=name', `shop=${shopId}&q=schmidtke&sort=name&dir=desc`, 'q=%20SchmidtKE%20&sort=name', 'q=zed-&sort=email', 'q=schmidtke&sort=name&size=100']) {
      expect(await budgetOf(search), search).toBe(CLUSTERED_WALK_BUDGET_MS);
    }
    const spread = ['q=zed&sort=name', 'q=zed-10&sort=email', 'q=schmidtke&sort=created', 'q=schmidtke&sort=city', 'q=sc&sort=name'];
    for (const search of [...spread, `q=${encodeURIComponent("' OR 1=1 --")}&sort=name`, 'q=%25%25%25&sort=email', `q=${encodeURIComponent('<script>')}&sort=name`]) {
      expect(await budgetOf(search), search).toBe(WALK_BUDGET_MS);
    }
    // Read with its own budget, the page is the one the walk alone gives.
    const query = parseCustomerListQuery({ q: 'schmidtke', sort: 'name', dir: 'asc' });
    const source = resolveListSource('all', [{ id: shopId }], query.shop)!;
    const budgeted = await listCustomers(knex, source, query, null);
    const walked = await listCustomers(knex, source, query, null, { walkBudgetMs: 10_000 });
    expect(budgeted.rows.map((row) => row.email)).toEqual(walked.rows.map((row) => row.email));
    expect(budgeted.next).toBe(walked.next);
  });

  it('also collects the page when the walk runs out of its budget (here the walk waits for a lock), and cancels the read that ends second', async () => {
    const walked = await page('q=schmidtke&sort=name&dir=asc');
    const [first, second] = [await knex.transaction(), await knex.transaction()];
    try {
      // The lock queue decides the race: the walk queues first, a second lock after it, the
      // collecting read (past the budget) after that. When the first lock goes, the walk reads and
      // gives the page; the second lock waits for the walk, and the collecting read behind it.
      await first.raw('LOCK TABLE customers IN ACCESS EXCLUSIVE MODE');
      const racing = page('q=schmidtke&sort=name&dir=asc', 1_000);
      await untilWaitingForLock(WALK, true);
      // (`then` sends it: knex sends a statement when it is awaited.)
      const secondLock = second.raw('LOCK TABLE customers IN ACCESS EXCLUSIVE MODE').then(() => 'locked');
      await untilWaitingForLock('LOCK TABLE%', true);
      await untilWaitingForLock(COLLECT, true);
      await first.commit();
      const racedPage = await racing;
      expect(racedPage.fellBack).toBe(true);
      expect(racedPage.emails).toEqual(walked.emails);
      expect(await secondLock).toBe('locked');
      // The collecting read was cancelled, not left waiting behind the second lock.
      await untilWaitingForLock(COLLECT, false);
    } finally {
      for (const trx of [first, second]) if (!trx.isCompleted()) await trx.rollback();
    }
  });

  it('stops the walk and collects the page instead when the budget it looks up is none (here the walk waits for a lock)', async () => {
    const walked = await page('q=schmidtke&sort=name&dir=asc');
    const lock = await knex.transaction();
    try {
      await lock.raw('LOCK TABLE customers IN ACCESS EXCLUSIVE MODE');
      const collected = page('q=schmidtke&sort=name&dir=asc', async () => 0);
      await untilWaitingForLock(COLLECT, true);
      // The walk was cancelled, not left to race the collect.
      await untilWaitingForLock(WALK, false);
      await lock.commit();
      const collectedPage = await collected;
      expect(collectedPage.fellBack).toBe(true);
      expect(collectedPage.emails).toEqual(walked.emails);
    } finally {
      if (!lock.isCompleted()) await lock.rollback();
    }
  });

  const [WALK, COLLECT] = ['select "c"."id"%', 'with "matches" as materialized%'];

  /** Waits (at most 3 s) until a backend running a statement that starts so waits for a lock (or none does). */
  const untilWaitingForLock = async (statement: string, waiting: boolean) => {
    let found = !waiting;
    for (let attempt = 0; attempt < 60 && found !== waiting; attempt++) {
      if (attempt) await new Promise((resolve) => setTimeout(resolve, 50));
      const { rows } = await knex.raw("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock' AND query LIKE ?", [statement]);
      found = rows.length > 0;
    }
    expect(found, `${statement} waiting for a lock`).toBe(waiting);
  };

  it('gives the same pages for a filter whose matches cluster in the sort order (a country sorted by city), in one shop too', async () => {
    // Sorted the other way, the New Zealanders come first and the walk needs no fallback; the
    // page is the same whichever way it is read.
    for (const [search, clustered] of [['country=NZ&sort=city&dir=asc', true], [`shop=${shopId}&country=NZ&sort=city&dir=asc`, true], ['country=NZ&sort=city&dir=desc', false]] as const) {
      const walked = await page(search);
      const collected = await page(search, 0);
      expect(walked.fellBack).toBe(false);
      if (clustered) expect(collected.fellBack).toBe(true);
      expect(walked.emails).toHaveLength(25);
      expect(collected.emails).toEqual(walked.emails);
      expect(collected.next).toBe(walked.next);
    }
  });

  it("reads customers by country and city, and one country's customers by city, from the country-and-city index (migration 29), both ways and past a cursor", async () => {
    const planOf = async (search: string) => {
      const query = parseCustomerListQuery(Object.fromEntries(new URLSearchParams(search)));
      const source = resolveListSource('all', [{ id: shopId }], query.shop)!;
      const { result, statements } = await statementsOf(knex, () => listCustomers(knex, source, query, null, { walkBudgetMs: 10_000 }));
      const pageStatement = statements.find(({ sql }) => sql.startsWith('select "c"."id"'))!;
      return { result, plan: await planWithout(knex, pageStatement, ['enable_seqscan', 'enable_sort']) };
    };
    for (const dir of ['asc', 'desc']) {
      const first = await planOf(`country=NZ&sort=city&dir=${dir}`);
      expect(first.plan).toContain('customers_country_city_idx');
      expect(first.result.rows.every((row) => row.countryCode === 'NZ')).toBe(true);
      const next = await planOf(`country=NZ&sort=city&dir=${dir}&after=${first.result.next}`);
      expect(next.plan).toContain('customers_country_city_idx');
      expect(next.result.rows).toHaveLength(25);

      const byCountry = await planOf(`sort=country&dir=${dir}`);
      const pastCursor = await planOf(`sort=country&dir=${dir}&after=${byCountry.result.next}`);
      for (const { plan } of [byCountry, pastCursor]) {
        expect(plan).toContain('customers_country_city_idx');
        expect(plan).not.toMatch(/\bSort\b/);
      }
      expect(pastCursor.result.rows).toHaveLength(25);
    }
  });

  it('gives a page without filters or search no budget: a shop page and one past a cursor are walked however long it takes', async () => {
    const first = await page(`shop=${shopId}&sort=city&dir=asc`, 0);
    expect(first.fellBack).toBe(false);
    expect(first.emails).toHaveLength(25);
    const second = await page(`shop=${shopId}&sort=city&dir=asc&after=${first.next}`, 0);
    expect(second.fellBack).toBe(false);
    expect(second.emails).toHaveLength(25);
    // A filtered page has one: with a budget of nothing it is collected at once.
    expect((await page(`shop=${shopId}&sort=city&dir=asc&tax_exempt=no`, 0)).fellBack).toBe(true);
  });

  it('walks and collects filtered pages without parallel workers (two tags together, one tag), and reads an unfiltered page as it is', async () => {
    // More than FEW_MEMBERS customers have both tags, so the sets are tested while the sort index is walked.
    const both = FEW_MEMBERS + 200;
    await knex.raw(
      `INSERT INTO customer_tags (customer_id, tag)
       SELECT c.id, t.tag FROM (SELECT id FROM customers WHERE email LIKE 'filler-%' ORDER BY id LIMIT ?) c CROSS JOIN (VALUES ('alpha'), ('beta')) AS t(tag)`,
      [both],
    );
    await knex.raw('ANALYZE customer_tags');
    const withoutWorkers = (statements: Array<{ sql: string }>) => statements.some(({ sql }) => sql.includes("set_config('max_parallel_workers_per_gather', '0', true)"));
    const read = (search: Record<string, string>, walkBudgetMs: number) => {
      const query = parseCustomerListQuery(search);
      return statementsOf(knex, () => listCustomers(knex, resolveListSource('all', [{ id: shopId }], query.shop)!, query, null, { walkBudgetMs }));
    };
    for (const budget of [10_000, 0]) {
      const twoTags = await read({ tag: 'alpha, beta', tagmode: 'all', sort: 'email', dir: 'asc' }, budget);
      expect(twoTags.result.rows).toHaveLength(25);
      expect(twoTags.result.rows.every((row) => row.email.startsWith('filler-'))).toBe(true);
      expect(withoutWorkers(twoTags.statements)).toBe(true);
      const oneTag = await read({ tag: 'alpha', sort: 'email', dir: 'asc' }, budget);
      expect(oneTag.result.rows).toHaveLength(25);
      expect(withoutWorkers(oneTag.statements)).toBe(true);
    }
    const unfiltered = await read({ sort: 'email', dir: 'asc' }, 10_000);
    expect(unfiltered.result.rows).toHaveLength(25);
    expect(withoutWorkers(unfiltered.statements)).toBe(false);
  });

  it('finds nothing for a term nobody has, and takes quotes, percent signs and SQL as plain text', async () => {
    for (const search of ['q=nobodyhasthis', `q=${encodeURIComponent("' OR 1=1 --")}`, 'q=%25%25%25', `q=${encodeURIComponent('<script>')}`]) {
      for (const budget of [10_000, 1, 0]) expect((await page(`${search}&sort=name&dir=asc`, budget)).emails).toEqual([]);
    }
  });
});
