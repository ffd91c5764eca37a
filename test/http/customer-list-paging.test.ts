import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../support/agents.js';
import { loginStaff } from '../support/agents.js';
import { getList, type ListPage } from '../support/customer-list.js';
import { makeCustomer, makeSalesTeam, makeShop, makeStaff } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Keyset paging of /admin/customers (F-LIST-1) over a data set made of ties: the same name, the
 * same creation instant (to the microsecond, as one INSERT gives), the same total, no orders at
 * all, no address. Walking the Next links must show every customer exactly once, in the order
 * "sort key, then id", and the Previous links must give back the same pages.
 */

interface Model {
  id: number;
  sortName: string;
  email: string;
  created: string;
  city: string;
  /** '' without a default billing address. */
  country: string;
  inShopA: boolean;
  totalAll: number;
  totalA: number;
  ordersAll: number;
  ordersA: number;
  /** '' when the customer has no order (the list sorts them as the earliest). */
  lastAll: string;
  lastA: string;
}

const pad = (n: number) => String(n).padStart(2, '0');
const LAST_NAMES = ['Adams', 'Baker', 'Clark', 'Smith'];
const FIRST_NAMES = ['Anna', 'Bert'];
const CITIES = ['Berlin', 'berlin', 'BERLIN', 'Aachen', 'Zurich'];
const TIE_CREATED_1 = '2026-03-01T10:00:00.123456Z';
const TIE_CREATED_2 = '2026-02-01T08:00:00.654321Z';
const TIE_ORDER = '2026-04-01T12:00:00.111111Z';
const SHOP_B_ORDER = '2026-05-01T09:00:00.222222Z';
const IN_A = 60;
const ONLY_IN_B = 3;

type SortName = 'name' | 'email' | 'total_spent' | 'last_order' | 'created' | 'city' | 'country';

describe('customer list paging', () => {
  let t: TestApp;
  let shopA: { id: number }, shopB: { id: number };
  let owner: Agent;
  const models: Model[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    shopA = await makeShop(knex, { code: 'paging-a', name: 'Alpha' });
    shopB = await makeShop(knex, { code: 'paging-b', name: 'Beta' });
    const ownerStaff = await makeStaff(knex, { role: 'owner' });

    for (let i = 0; i < IN_A + ONLY_IN_B; i++) {
      const lastName = LAST_NAMES[i % 4]!;
      const firstName = FIRST_NAMES[Math.floor(i / 4) % 2]!;
      const email = `p${pad((i * 37) % (IN_A + ONLY_IN_B))}@example.test`;
      const created = i % 3 === 0 ? TIE_CREATED_1 : i % 3 === 1 ? TIE_CREATED_2 : `2026-01-${pad(1 + Math.floor(i / 24))}T${pad(i % 24)}:00:00.000001Z`;
      const [row] = await knex('customers').insert({ email, firstName, lastName, createdAt: created, state: 'active' }).returning('id');
      const id = row.id as number;
      const inShopA = i < IN_A;
      const inShopB = !inShopA || i % 6 === 1;
      if (inShopA) await knex('customerShops').insert({ customerId: id, shopId: shopA.id, status: 'active' });
      if (inShopB) await knex('customerShops').insert({ customerId: id, shopId: shopB.id, status: 'active' });

      let totalA = 0, ordersA = 0, lastA = '';
      if (inShopA && i % 2 === 1) {
        totalA = i % 4 === 1 ? 2500 : 1000;
        ordersA = 1;
        lastA = i % 3 === 0 ? TIE_ORDER : `2026-04-02T${pad(i % 24)}:${pad(i % 60)}:00.500000Z`;
        await knex('orders').insert({ shopId: shopA.id, customerId: id, number: `A-${i}`, currency: 'EUR', subtotal: totalA, total: totalA, placedAt: lastA });
      }
      let totalB = 0, ordersB = 0, lastB = '';
      if (inShopA && inShopB) {
        totalB = 700;
        ordersB = 1;
        lastB = SHOP_B_ORDER;
        await knex('orders').insert({ shopId: shopB.id, customerId: id, number: `B-${i}`, currency: 'EUR', subtotal: totalB, total: totalB, placedAt: lastB });
      }
      let city = '';
      let country = '';
      if (i % 7 !== 0) {
        const name = CITIES[i % 5]!;
        city = name.toLowerCase();
        country = i % 3 === 0 ? 'AT' : 'DE';
        await knex('addresses').insert({ customerId: id, line1: 'Street 1', city: name, countryCode: country, isDefaultBilling: true });
      }
      models.push({
        id,
        sortName: `${lastName} ${firstName}`.toLowerCase(),
        email,
        created,
        city,
        country,
        inShopA,
        totalAll: totalA + totalB,
        totalA,
        ordersAll: ordersA + ordersB,
        ordersA,
        lastAll: [lastA, lastB].sort().at(-1)!,
        lastA,
      });
    }
    owner = await loginStaff(t.app, ownerStaff.email);
  });
  afterAll(() => t?.close());

  const keyOf = (sort: SortName, shop: boolean) => (m: Model): string | number => {
    switch (sort) {
      case 'name': return m.sortName;
      case 'email': return m.email;
      case 'created': return m.created;
      case 'city': return m.city;
      // A country's customers by city ("\u0000" sorts before any letter, as the separator of two keys).
      case 'country': return `${m.country}\u0000${m.city}`;
      case 'total_spent': return shop ? m.totalA : m.totalAll;
      case 'last_order': return shop ? m.lastA : m.lastAll;
    }
  };

  /** Every customer of the source in "key, then id" order (C collation, like the test database). */
  function expectedOrder(sort: SortName, dir: 'asc' | 'desc', shop: boolean): number[] {
    const key = keyOf(sort, shop);
    const ordered = models
      .filter((m) => !shop || m.inShopA)
      .sort((a, b) => {
        const ka = key(a), kb = key(b);
        if (ka !== kb) return ka < kb ? -1 : 1;
        return a.id - b.id;
      })
      .map((m) => m.id);
    return dir === 'asc' ? ordered : ordered.reverse();
  }

  /** Follows Next to the end, then Previous back to the start. */
  async function walk(start: string): Promise<{ forward: ListPage[]; backward: ListPage[] }> {
    const forward: ListPage[] = [];
    for (let url: string | undefined = start; url; ) {
      if (forward.length > 10) throw new Error(`the pager does not end (at ${url})`);
      const page = await getList(owner, url);
      expect(page.status, url).toBe(200);
      forward.push(page);
      url = page.next;
    }
    const backward: ListPage[] = [forward.at(-1)!];
    for (let url = forward.at(-1)!.previous; url; ) {
      if (backward.length > 10) throw new Error(`the pager does not end going back (at ${url})`);
      const page = await getList(owner, url);
      expect(page.status, url).toBe(200);
      backward.push(page);
      url = page.previous;
    }
    return { forward, backward: backward.reverse() };
  }

  /** The data set is built so that some page boundary falls inside a group of equal keys. */
  function boundaryInsideTie(sort: SortName, shop: boolean, order: number[], size: number): boolean {
    const key = keyOf(sort, shop);
    const byId = new Map(models.map((m) => [m.id, m]));
    for (let at = size; at < order.length; at += size) {
      if (key(byId.get(order[at - 1]!)!) === key(byId.get(order[at]!)!)) return true;
    }
    return false;
  }

  const sorts: SortName[] = ['name', 'email', 'total_spent', 'last_order', 'created', 'city', 'country'];
  const cases = sorts.flatMap((sort) => (['asc', 'desc'] as const).map((dir) => ({ sort, dir })));

  it.each(cases)('walks every customer once by $sort $dir over all shops, and back', async ({ sort, dir }) => {
    const expected = expectedOrder(sort, dir, false);
    expect(expected).toHaveLength(IN_A + ONLY_IN_B);
    if (sort !== 'email') expect(boundaryInsideTie(sort, false, expected, 25)).toBe(true);

    const { forward, backward } = await walk(`/admin/customers?sort=${sort}&dir=${dir}&size=25`);
    expect(forward.flatMap((p) => p.ids)).toEqual(expected);
    expect(forward.map((p) => p.ids.length)).toEqual([25, 25, 13]);
    expect(forward[0]!.previous).toBeUndefined();
    expect(forward.at(-1)!.next).toBeUndefined();
    expect(backward.map((p) => p.ids)).toEqual(forward.map((p) => p.ids));
    expect(backward[0]!.previous).toBeUndefined();
  });

  it.each([
    { sort: 'total_spent', dir: 'asc' },
    { sort: 'total_spent', dir: 'desc' },
    { sort: 'last_order', dir: 'asc' },
    { sort: 'last_order', dir: 'desc' },
    { sort: 'name', dir: 'desc' },
    { sort: 'country', dir: 'asc' },
  ] as const)('walks one shop by $sort $dir with that shop’s figures, and back', async ({ sort, dir }) => {
    const expected = expectedOrder(sort, dir, true);
    expect(expected).toHaveLength(IN_A);
    const { forward, backward } = await walk(`/admin/customers?shop=${shopA.id}&sort=${sort}&dir=${dir}`);
    expect(forward.flatMap((p) => p.ids)).toEqual(expected);
    expect(forward.map((p) => p.ids.length)).toEqual([25, 25, 10]);
    expect(backward.map((p) => p.ids)).toEqual(forward.map((p) => p.ids));
  });

  it('pages by 25, 50 or 100 rows as chosen, and ignores other sizes', async () => {
    const expected = expectedOrder('created', 'desc', false);
    const by50 = await walk('/admin/customers?size=50');
    expect(by50.forward.map((p) => p.ids.length)).toEqual([50, 13]);
    expect(by50.forward.flatMap((p) => p.ids)).toEqual(expected);
    expect(by50.backward.map((p) => p.ids)).toEqual(by50.forward.map((p) => p.ids));
    // The size stays in the Next link.
    expect(new URLSearchParams(by50.forward[0]!.next!.split('?')[1]).get('size')).toBe('50');

    const by100 = await getList(owner, '/admin/customers?size=100');
    expect(by100.ids).toEqual(expected);
    expect(by100.next).toBeUndefined();
    expect(by100.previous).toBeUndefined();

    const byDefault = await getList(owner, '/admin/customers');
    expect(byDefault.ids).toEqual(expected.slice(0, 25));

    const odd = await getList(owner, '/admin/customers?size=7');
    expect(odd.status).toBe(200);
    expect(odd.ids).toEqual(expected.slice(0, 25));
    expect(odd.ignored).toContain('page size “7”');
  });

  it('answers a garbage or tampered cursor with the first page, never an error', async () => {
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const firstId = models[0]!.id;
    const attempts: Array<[string, string]> = [
      ['created', 'garbage'],
      ['created', '!!!'],
      ['created', cursor({ key: 1 })],
      ['created', cursor([null, firstId])],
      ['created', cursor(['1', firstId])],
      ['created', cursor(['2021-02-30T00:00:00Z', firstId])],
      ['created', cursor(['0000-01-01T00:00:00Z', firstId])],
      ['created', cursor([TIE_CREATED_1, 1.5])],
      ['total_spent', cursor([1e300, firstId])],
      ['total_spent', cursor(['1000', firstId])],
      ['name', cursor(['adams\u0000anna', firstId])],
      ['last_order', cursor(['yesterday', firstId])],
      ['city', cursor([123, firstId])],
      ['country', cursor(['DE', firstId])],
      ['country', cursor(['DE', 7, firstId])],
      ['country', cursor(['DE', 'berlin', 'aachen', firstId])],
    ];
    for (const [sort, after] of attempts) {
      const url = `/admin/customers?sort=${sort}&dir=asc&after=${encodeURIComponent(after)}`;
      const page = await getList(owner, url);
      expect(page.status, url).toBe(200);
      expect(page.ids, url).toEqual(expectedOrder(sort as SortName, 'asc', false).slice(0, 25));
      expect(page.previous, url).toBeUndefined();
    }
    const longCursor = await owner.get(`/admin/customers?after=${'x'.repeat(5000)}`);
    expect(longCursor.status).toBe(200);
    const badBefore = await owner.get('/admin/customers?before=garbage');
    expect(badBefore.status).toBe(200);
  });

  it('shows order figures over all shops, or of the chosen shop only', async () => {
    const both = models.find((m) => m.inShopA && m.ordersAll === 2)!;
    const row = async (url: string) => (await getList(owner, url)).rows.find((r) => r.id === both.id);
    const q = `q=${encodeURIComponent(both.email)}`;

    // cells: name, e-mail, city, country, orders, last order, total spent, state
    const all = await row(`/admin/customers?${q}`);
    expect(all?.cells[4]).toBe('2');
    expect(all?.cells[6]).toBe(`€${((both.totalA + 700) / 100).toFixed(2)}`);
    expect(all?.cells[5]).toBe('1 May 2026');

    const inA = await row(`/admin/customers?shop=${shopA.id}&${q}`);
    expect(inA?.cells[4]).toBe('1');
    expect(inA?.cells[6]).toBe(`€${(both.totalA / 100).toFixed(2)}`);
    expect(inA?.cells[5]).toBe('2 Apr 2026');

    const inB = await row(`/admin/customers?shop=${shopB.id}&${q}`);
    expect(inB?.cells[4]).toBe('1');
    expect(inB?.cells[6]).toBe('€7.00');

    // A customer only in shop B is listed over all shops and in B, never in A.
    const onlyB = models.find((m) => !m.inShopA)!;
    const byEmail = `q=${encodeURIComponent(onlyB.email)}`;
    expect((await getList(owner, `/admin/customers?${byEmail}`)).ids).toEqual([onlyB.id]);
    expect((await getList(owner, `/admin/customers?shop=${shopB.id}&${byEmail}`)).ids).toEqual([onlyB.id]);
    expect((await getList(owner, `/admin/customers?shop=${shopA.id}&${byEmail}`)).ids).toEqual([]);
  });

  it('shows a sales rep in a team only that team’s customers, and 404 for another team’s customer', async () => {
    const knex = t.ctx.knex;
    const north = await makeSalesTeam(knex, 'North team');
    const south = await makeSalesTeam(knex, 'South team');
    const ours = await Promise.all([0, 1, 2].map((n) => makeCustomer(knex, [shopA.id], { firstName: 'Teamed', lastName: `North${n}`, salesTeamId: north.id })));
    const theirs = await makeCustomer(knex, [shopA.id], { firstName: 'Teamed', lastName: 'South', salesTeamId: south.id });
    const rep = await makeStaff(knex, { role: 'sales_rep', shopIds: [shopA.id], salesTeamId: north.id });
    const agent = await loginStaff(t.app, rep.email);

    const listed: number[] = [];
    for (let url: string | undefined = '/admin/customers'; url; ) {
      const page = await getList(agent, url);
      expect(page.status).toBe(200);
      listed.push(...page.ids);
      url = page.next;
    }
    expect(listed.sort((a, b) => a - b)).toEqual(ours.map((c) => c.id).sort((a, b) => a - b));

    // Asking for another shop or searching by e-mail does not widen the view.
    expect((await getList(agent, `/admin/customers?shop=${shopB.id}&q=${encodeURIComponent(theirs.email)}`)).ids).toEqual([]);
    const foreign = await agent.get(`/admin/customers/${theirs.id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.text).not.toContain(theirs.email);
    expect((await agent.get(`/admin/customers/${ours[0]!.id}`)).status).toBe(200);

    // The same role without a team is limited by shop only.
    const loner = await makeStaff(knex, { role: 'sales_rep', shopIds: [shopA.id] });
    const lonerAgent = await loginStaff(t.app, loner.email);
    expect((await lonerAgent.get(`/admin/customers/${theirs.id}`)).status).toBe(200);
  });
});
