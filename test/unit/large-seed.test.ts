import { describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { seedDemoData } from '../../seeds/demo.seed.js';
import { seedLargeData, type LargeSeedReport } from '../../seeds/large.seed.js';
import { useDatabase } from '../support/database.js';

/**
 * The benchmark data set (`npm run seed -- --customers N` above the demo size), small here: what it
 * adds, that the order figures agree with the orders, that every index it dropped is back, and
 * that its attributes are drawn independently (no filter combination is empty by construction).
 */
describe('the large seed', () => {
  let knex: Knex;
  let indexesBefore: string[];
  let report: LargeSeedReport;
  const COUNT = 6_000;

  const indexNames = async () =>
    ((await knex.raw("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname")).rows as Array<{ indexname: string }>).map((r) => r.indexname);
  const one = async (sql: string) => Number(Object.values((await knex.raw(sql)).rows[0] as Record<string, unknown>)[0]);

  useDatabase(async (db) => {
    knex = db.knex;
    await seedDemoData(knex, { customers: 10 });
    indexesBefore = await indexNames();
    report = await seedLargeData(knex, COUNT);
  });

  it('adds the customers with orders, addresses, tags, groups, a segment and business accounts', async () => {
    expect(report.customers).toBe(COUNT);
    expect(await one("SELECT count(*) FROM customers WHERE email LIKE 'bench%'")).toBe(COUNT);
    expect(report.orders / COUNT).toBeGreaterThan(3);
    expect(report.orders / COUNT).toBeLessThan(7);
    expect(await one("SELECT count(*) FROM addresses a JOIN customers c ON c.id = a.customer_id WHERE c.email LIKE 'bench%'")).toBe(COUNT);
    expect(await one("SELECT count(*) FROM customer_group_members m JOIN customer_groups g ON g.id = m.group_id WHERE g.name = 'Bench: every 7th'")).toBeGreaterThan(COUNT / 9);
    expect(await one("SELECT count(*) FROM segments WHERE name = 'Bench segment'")).toBe(1);
    expect(await one("SELECT count(*) FROM customers WHERE business_account_id IS NOT NULL AND email LIKE 'bench%'")).toBeGreaterThan(0);
  });

  it('keeps each customer’s order figures (and spent per currency) equal to their orders', async () => {
    const wrong = await one(
      `SELECT count(*) FROM customer_shops cs
         LEFT JOIN (SELECT customer_id, shop_id, count(*) AS n, sum(total) AS spent FROM orders WHERE status <> 'cancelled' GROUP BY 1, 2) o
           ON o.customer_id = cs.customer_id AND o.shop_id = cs.shop_id
        WHERE cs.orders_count <> coalesce(o.n, 0) OR cs.total_spent <> coalesce(o.spent, 0)`,
    );
    expect(wrong).toBe(0);
    expect(await one('SELECT count(*) FROM customers c WHERE c.orders_count <> (SELECT coalesce(sum(orders_count), 0) FROM customer_shops WHERE customer_id = c.id)')).toBe(0);
    const spentPerCurrency = `SELECT cs.customer_id, s.currency, sum(cs.total_spent) FROM customer_shops cs JOIN shops s ON s.id = cs.shop_id
                               WHERE cs.total_spent <> 0 GROUP BY 1, 2`;
    const kept = 'SELECT customer_id, currency, total_spent FROM customer_spent_by_currency WHERE total_spent <> 0';
    expect(await one(`SELECT count(*) FROM ((${spentPerCurrency} EXCEPT ${kept}) UNION ALL (${kept} EXCEPT ${spentPerCurrency})) d`)).toBe(0);
    expect(await one('SELECT count(*) FROM customer_spent_by_currency WHERE total_spent <> 0')).toBeGreaterThan(COUNT / 2);
  });

  it('gives each assignment its customer’s creation time, type and billing country, and each tag the creation time (the list reads them there)', async () => {
    const differing = `SELECT count(*) FROM customer_shops cs JOIN customers c ON c.id = cs.customer_id
                        WHERE (cs.customer_created_at, cs.customer_type, cs.billing_country, cs.sales_team_id) IS DISTINCT FROM (c.created_at, c.customer_type, c.billing_country, c.sales_team_id)`;
    expect(await one(differing)).toBe(0);
    expect(await one("SELECT count(*) FROM customer_shops cs JOIN customers c ON c.id = cs.customer_id WHERE c.email LIKE 'bench%' AND cs.billing_country IS NULL")).toBe(0);
    expect(await one('SELECT count(*) FROM customer_tags t JOIN customers c ON c.id = t.customer_id WHERE t.customer_created_at <> c.created_at')).toBe(0);
    // The trigger that follows the customer's country is back on.
    expect(await one("SELECT count(*) FROM pg_trigger WHERE tgname = 'customers_copies_update' AND tgenabled = 'O'")).toBe(1);
  });

  it('puts back every index it dropped while loading', async () => {
    expect(await indexNames()).toEqual(indexesBefore);
    expect(await one("SELECT count(*) FROM pg_index WHERE NOT indisvalid")).toBe(0);
  });

  it('draws attributes independently: combinations of filters are not empty by construction', async () => {
    const bench = "c.email LIKE 'bench%'";
    // B2B customers live in every country, and vip customers may also be friends.
    expect(await one(`SELECT count(DISTINCT c.billing_country) FROM customers c WHERE ${bench} AND c.customer_type = 'B2B'`)).toBeGreaterThan(5);
    expect(await one(`SELECT count(*) FROM customers c WHERE ${bench} AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = 'vip') AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = 'friend')`)).toBeGreaterThan(0);
    // A group's members are spread over the creation dates like everyone else.
    const newestDays = await one(
      `SELECT count(*) FROM customer_group_members m JOIN customer_groups g ON g.id = m.group_id JOIN customers c ON c.id = m.customer_id
        WHERE g.name = 'Bench: every 50th' AND c.created_at >= (SELECT max(x.created_at) - interval '200 days' FROM customers x WHERE x.email LIKE 'bench%')`,
    );
    expect(newestDays).toBeGreaterThan(0);
  });
});
