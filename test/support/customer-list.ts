import type { Knex } from 'knex';
import { parseCustomerListQuery, type CustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import type { ListSource } from '../../app/services/customer-list-filter.js';
import { listCustomers } from '../../app/services/customer-list.service.js';
import type { Agent } from './agents.js';
import { decodeEntities } from './html.js';

const stripTags = (html: string) => decodeEntities(html.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();

export interface ListRow {
  id: number;
  /** The visible text of each cell after the tick box: name, e-mail, city, country, orders, last order, total spent, state, then optional columns. */
  cells: string[];
}

export interface ListPage {
  status: number;
  html: string;
  rows: ListRow[];
  ids: number[];
  next?: string;
  previous?: string;
  chips: Array<{ label: string; removeUrl: string }>;
  /** The "Ignored what could not be used: …" notice, if shown. */
  ignored?: string;
  /** Column headers of the results table, as shown. */
  headers: string[];
}

/** Reads what a staff member sees of the customer list (a whole page or the results fragment). */
export function parseListPage(html: string, status = 200): ListPage {
  const tbody = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '';
  const rows: ListRow[] = [];
  for (const tr of tbody.split(/<tr>/).slice(1)) {
    const id = /name="ids" value="(\d+)"/.exec(tr)?.[1];
    if (!id) continue;
    const cells = [...tr.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => stripTags(m[1] ?? '')).slice(1);
    rows.push({ id: Number(id), cells });
  }
  const thead = /<thead>([\s\S]*?)<\/thead>/.exec(html)?.[1] ?? '';
  const headers = [...thead.matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((m) => stripTags(m[1] ?? '').replace(/[▲▼↕]$/, '').trim()).slice(1);
  const link = (rel: string) => {
    const href = new RegExp(`rel="${rel}" href="([^"]+)"`).exec(html)?.[1];
    return href === undefined ? undefined : decodeEntities(href);
  };
  const chips = [...html.matchAll(/<li class="chip">([\s\S]*?) <a href="([^"]+)"/g)].map((m) => ({ label: decodeEntities(m[1] ?? ''), removeUrl: decodeEntities(m[2] ?? '') }));
  const ignored = /Ignored what could not be used: ([^<]*)<\/div>/.exec(html)?.[1];
  return { status, html, rows, ids: rows.map((r) => r.id), next: link('next'), previous: link('prev'), chips, ignored: ignored === undefined ? undefined : decodeEntities(ignored), headers };
}

export async function getList(agent: Agent, url: string): Promise<ListPage> {
  const response = await agent.get(url);
  return parseListPage(response.text, response.status);
}

/** The ids of the customers listed at `url`, across every page (following Next links). */
export async function allListedIds(agent: Agent, url: string): Promise<number[]> {
  const ids: number[] = [];
  let current: string | undefined = url;
  for (let pages = 0; current; pages++) {
    if (pages > 200) throw new Error('too many pages: the pager does not end');
    const page = await getList(agent, current);
    if (page.status !== 200) throw new Error(`GET ${current} answered ${page.status}`);
    ids.push(...page.ids);
    current = page.next;
  }
  return ids;
}

/** Query-string values of a URL, as [key, value] pairs in order. */
export function paramsOf(url: string): Array<[string, string]> {
  return [...new URLSearchParams(url.split('?')[1] ?? '')];
}

/**
 * Inserts `count` customers in one statement (fast enough for tens of thousands), assigned to
 * `shopIds`, and returns their ids in ascending order. `emailPrefix` keeps e-mails unique per call.
 */
export async function insertManyCustomers(
  knex: Knex,
  count: number,
  options: { emailPrefix: string; shopIds?: number[]; billingCountry?: string; firstName?: string; lastName?: string; state?: string },
): Promise<number[]> {
  const inserted = await knex.raw(
    `INSERT INTO customers (email, first_name, last_name, state, billing_country)
     SELECT ? || g || '@example.test', ?, ? || g, ?, ?
       FROM generate_series(1, ?::int) g
     RETURNING id`,
    [options.emailPrefix, options.firstName ?? 'Many', options.lastName ?? 'Customer', options.state ?? 'active', options.billingCountry ?? null, count],
  );
  const ids = (inserted.rows as Array<{ id: number }>).map((r) => r.id).sort((a, b) => a - b);
  // Each connection keeps the plan of its foreign-key checks against customers from when the table
  // was small (a sequential scan) until the table is analysed: with the whole suite running,
  // autovacuum came too late, and inserting 25,000 assignments took 40 s instead of 0.3.
  await knex.raw('ANALYZE customers');
  for (const shopId of options.shopIds ?? []) {
    await knex.raw(
      `INSERT INTO customer_shops (customer_id, shop_id, status) SELECT id, ?, 'active' FROM customers WHERE id = ANY(?::bigint[])`,
      [shopId, ids],
    );
  }
  return ids;
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The list's query of a query string, as the request's would be (a repeated tag kept). */
export function listQueryOf(search: string): CustomerListQuery {
  const params = new URLSearchParams(search);
  return parseCustomerListQuery({ ...Object.fromEntries(params), tag: params.getAll('tag') });
}

/**
 * The ids of every page of listCustomers from the first on, following the next page's cursor, then
 * back from the last by the previous one (at most 50 pages each way).
 */
export async function pagesBothWays(knex: Knex, source: ListSource, search: string): Promise<{ forward: number[][]; backward: number[][] }> {
  const forward: number[][] = [];
  let page = await listCustomers(knex, source, listQueryOf(search), null);
  forward.push(page.rows.map((row) => row.id));
  while (page.next && forward.length < 50) {
    page = await listCustomers(knex, source, listQueryOf(`${search}&after=${page.next}`), null);
    forward.push(page.rows.map((row) => row.id));
  }
  const backward: number[][] = [forward.at(-1)!];
  while (page.previous && backward.length < 50) {
    page = await listCustomers(knex, source, listQueryOf(`${search}&before=${page.previous}`), null);
    backward.unshift(page.rows.map((row) => row.id));
  }
  return { forward, backward };
}
