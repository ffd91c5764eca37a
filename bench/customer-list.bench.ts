// `npm run bench`: the admin customer list at scale, through the full stack and in the database alone.
// See bench/README.md.
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { createContext } from '../app/context.js';
import { createLogger } from '../app/lib/logger.js';
import { parseCustomerListQuery } from '../app/schemas/customer-list.schema.js';
import { resolveListSource } from '../app/services/customer-list-filter.js';
import { listCustomers, encodeCursor } from '../app/services/customer-list.service.js';
import { saveView } from '../app/services/saved-view.service.js';
import { refreshCommonTrigrams } from '../app/services/search-trigrams.js';
import { addSegmentGroup } from '../app/services/segment.service.js';
import { createStaff, loadStaffPrincipal } from '../app/services/staff.service.js';
import { benchConfig, DATABASE_URL, ensureBenchDatabase, freePort, SAMPLES, spawnWeb, STAFF } from './bench-setup.js';
import { createClient, percentile } from './http-client.js';
import { loadPages } from './load-client.js';

const THROUGHPUT_SECONDS = Number(process.env.BENCH_THROUGHPUT_SECONDS ?? 10);
const THROUGHPUT_WARMUP_SECONDS = 5;
/** The measured time is split into this many windows, each reported (the total counts all of them). */
const THROUGHPUT_WINDOWS = 5;
/** Web processes (WEB_CONCURRENCY) the throughput is measured against: one per core of this machine. */
const WEB_PROCESSES = Number(process.env.BENCH_WEB_PROCESSES ?? availableParallelism());
/** Runs only the scenarios whose name contains this text (case-insensitive), e.g. BENCH_ONLY=tags. */
const ONLY = process.env.BENCH_ONLY?.toLowerCase();
const SAVED_VIEW = 'shop=all&tag=vip&sort=total_spent&dir=desc';

interface Scenario {
  name: string;
  query: string;
  /** The whole page (layout, saved views menu) rather than the htmx fragment. */
  fullPage?: boolean;
  /** Run while one shop sells in another currency (SECOND_CURRENCY), as a merchant's shops may. */
  secondCurrency?: boolean;
  /** As the bench's sales rep (REP): the shop's customers of their team only. */
  rep?: boolean;
}

/** A sales rep of the north shop whose team has one seeded customer in a hundred (benchSalesTeam). */
const REP = { email: 'bench-rep@example.test', password: 'bench-rep-password-1' };

/** The currency one of the seeded shops (all in EUR) sells in for the scenarios that need two. */
const SECOND_CURRENCY = 'USD';

interface Result {
  scenario: string;
  httpP50: number;
  httpP95: number;
  dbP50: number;
  overheadP50: number;
  rows: number;
  /** The count above the table (a request of its own, /admin/customers/count), as shown, and its HTTP p50. */
  count: string;
  countP50: number;
  /** Of the pages, how many showed the count themselves (they had read every match), so that the list did not ask for it. */
  countInPage: number;
}

async function main() {
  await ensureBenchDatabase();
  const config = benchConfig();
  // The bench's own connection to the database: set-up, and each list query timed alone.
  const ctx = await createContext(config, createLogger('warn'), DATABASE_URL);
  const knex = ctx.knex;

  const shops = (await knex('shops').select('id', 'code').orderBy('name')) as Array<{ id: number; code: string }>;
  const north = shops.find((s) => s.code === 'north') ?? shops[0]!;
  // A cursor 1,000 pages (25,000 rows) deep, found once with OFFSET for the set-up only.
  const [deep] = await knex('customers').orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'id', order: 'desc' }]).offset(25_000).limit(1).select('createdAt', 'id');
  const deepCursor = encodeCursor({ keys: [(deep.createdAt as Date).toISOString()], id: deep.id });
  const [deepInShop] = await knex('customerShops').where({ shopId: north.id }).orderBy([{ column: 'customerCreatedAt', order: 'desc' }, { column: 'customerId', order: 'desc' }]).offset(25_000).limit(1).select('customerCreatedAt', 'customerId');
  const deepShopCursor = encodeCursor({ keys: [(deepInShop.customerCreatedAt as Date).toISOString()], id: Number(deepInShop.customerId) });
  const [deepByName] = await knex('customers as c').join('customerShops as cs', 'cs.customerId', 'c.id').where('cs.shopId', north.id).orderBy([{ column: 'c.sortName' }, { column: 'c.id' }]).offset(25_000).limit(1).select('c.sortName', 'c.id');
  const deepNameCursor = encodeCursor({ keys: [deepByName.sortName as string], id: Number(deepByName.id) });
  // The newest seeded customer, whatever other benchmarks added since: the same term on every run.
  const rareEmail = (await knex('customers').whereRaw("email ~ '^bench[0-9]+@'").orderBy('id', 'desc').first('email')).email as string;
  const rare = rareEmail.slice(0, rareEmail.indexOf('@'));
  const groupId = (await knex('customerGroups').where({ name: 'Bench: every 7th' }).first('id'))?.id;
  const segmentId = (await knex('segments').where({ name: 'Bench segment' }).first('id'))?.id;
  const staffId = (await knex('staffUsers').where({ email: STAFF.email }).first('id')).id as number;
  const largeSegmentId = groupId ? await segmentOfGroup(knex, staffId, 'Bench segment: every 7th', groupId) : undefined;
  const businessId = (await knex('businessAccounts').where({ name: 'Bench Company 7' }).orderBy('id', 'desc').first('id'))?.id;
  const team = await benchSalesTeam(knex, north.code);

  const scenarios: Scenario[] = [
    ...['name', 'email', 'city', 'country', 'orders', 'last_order', 'total_spent', 'state', 'created'].flatMap((sort) => [
      { name: `first page, all shops, sort ${sort}`, query: `shop=all&sort=${sort}&dir=asc` },
    ]),
    { name: 'first page, one shop, newest first (its default)', query: `shop=${north.id}` },
    { name: 'page 1,000 of one shop (keyset), newest first', query: `shop=${north.id}&sort=created&dir=desc&after=${deepShopCursor}` },
    { name: 'page 1,000 of one shop (keyset), sort name', query: `shop=${north.id}&sort=name&dir=asc&after=${deepNameCursor}` },
    { name: 'first page, one shop, sort total_spent desc', query: `shop=${north.id}&sort=total_spent&dir=desc` },
    { name: 'first page, one shop, sort email', query: `shop=${north.id}&sort=email&dir=asc` },
    { name: 'page 1,000 (keyset), sort created', query: `shop=all&sort=created&dir=desc&after=${deepCursor}` },
    { name: 'filter state=invited', query: 'shop=all&state=invited' },
    { name: 'filter type=B2B', query: 'shop=all&type=B2B' },
    { name: 'filter tag=vip', query: 'shop=all&tag=vip' },
    { name: 'filter tags all vip+friend', query: 'shop=all&tag=vip&tag=friend&tagmode=all' },
    { name: 'filter country=AT', query: 'shop=all&country=AT' },
    { name: 'filter created 2023', query: 'shop=all&created_from=2023-01-01&created_to=2023-12-31' },
    { name: 'filter orders 5..8', query: 'shop=all&orders_min=5&orders_max=8' },
    { name: 'filter spent ≥ 300', query: 'shop=all&spent_min=300' },
    { name: 'filter last order 2025', query: 'shop=all&last_from=2025-01-01&last_to=2025-12-31' },
    { name: 'filter password changed before 2022-06', query: 'shop=all&pwd_before=2022-06-01' },
    { name: 'filter tax exempt', query: 'shop=all&tax_exempt=yes' },
    ...(groupId ? [{ name: 'filter group (143k members)', query: `shop=all&group=${groupId}` }] : []),
    ...(segmentId ? [{ name: 'filter segment (a group + customers)', query: `shop=all&segment=${segmentId}` }] : []),
    ...(largeSegmentId ? [{ name: 'filter segment (the 143k group)', query: `shop=all&segment=${largeSegmentId}` }] : []),
    { name: 'sales rep (a team of 1 %), the shop’s first page', query: `shop=${north.id}`, rep: true },
    { name: 'sales rep (a team of 1 %), sort name', query: `shop=${north.id}&sort=name&dir=asc`, rep: true },
    { name: 'sales rep (a team of 1 %), filter tag=vip', query: `shop=${north.id}&tag=vip`, rep: true },
    ...(segmentId ? [{ name: 'filter segment + tag vip', query: `shop=all&segment=${segmentId}&tag=vip` }] : []),
    ...(businessId ? [{ name: 'filter business account', query: `shop=all&business=${businessId}` }] : []),
    { name: 'filter password changed before 2019 (none)', query: 'shop=all&pwd_before=2019-01-01' },
    // What a shop's assignments hold, that few of its customers have.
    { name: 'filter one shop, awaiting approval', query: `shop=${north.id}&status=pending_approval` },
    { name: 'filter one shop, spent ≥ 3,000', query: `shop=${north.id}&spent_min=3000` },
    { name: 'filter one shop, last order 2025', query: `shop=${north.id}&last_from=2025-01-01&last_to=2025-12-31` },
    { name: 'filter one shop, last order in the first half of 2021', query: `shop=${north.id}&last_from=2021-01-01&last_to=2021-06-30` },
    { name: 'filters combined (shop, B2B, AT, tag vip, spent ≥ 100) sort spent', query: `shop=${north.id}&type=B2B&country=AT&tag=vip&spent_min=100&sort=total_spent&dir=desc` },
    { name: 'search rare (one e-mail)', query: `shop=all&q=${encodeURIComponent(rare)}` },
    // As staff paste it: the domain's trigrams are in most customers' addresses.
    { name: 'search a whole e-mail address', query: `shop=all&q=${encodeURIComponent(rareEmail)}` },
    { name: 'search common ("example")', query: 'shop=all&q=example' },
    { name: 'search typo ("andersn")', query: 'shop=all&q=andersn' },
    // Their matches cluster in the sort order (every Schmidt sorts under S, Austria's cities are a
    // few): see readPage in customer-list.service.ts.
    { name: 'search a surname, sort by name ("schmidt")', query: 'shop=all&q=schmidt&sort=name&dir=asc' },
    { name: 'filter country=AT, sort by city', query: 'shop=all&country=AT&sort=city&dir=asc' },
    { name: 'filter + search + sort', query: `shop=${north.id}&q=schmidt&state=active&sort=total_spent&dir=desc` },
    { name: 'saved view, full page (tag vip, sort spent)', query: SAVED_VIEW, fullPage: true },
    // Over shops of two currencies a total spent is asked for in one of them (migration 35).
    { name: 'filter spent ≥ 300 EUR, shops in EUR and USD', query: 'shop=all&spent_min=300&spent_currency=EUR', secondCurrency: true },
    { name: 'filter spent ≥ 8,000 EUR (none), shops in EUR and USD', query: 'shop=all&spent_min=8000&spent_currency=EUR', secondCurrency: true },
    { name: 'filter spent ≤ 10 EUR, shops in EUR and USD', query: 'shop=all&spent_max=10&spent_currency=EUR', secondCurrency: true },
  ];

  if (!(await knex('savedViews').where({ staffUserId: staffId, name: 'VIP by spend' }).first('id'))) await saveView(knex, staffId, 'VIP by spend', SAVED_VIEW);

  // The app as production runs it (`npm run start:web`, one web process per core), in processes of
  // its own: inside this one it shared a thread and a heap with the client timing it.
  const webServer = await spawnWeb(await freePort(), WEB_PROCESSES);
  // Stopped however the run ends: a failed scenario must not leave web processes holding the port.
  try {
    const client = createClient(webServer.port, config.adminHost);
    await client.login(STAFF.email, STAFF.password);
    const repClient = createClient(webServer.port, config.adminHost);
    await repClient.login(REP.email, REP.password);
    const results: Result[] = [];
    // A running app samples the common search trigrams after its first search, in the background
    // (its process answers all of this client's requests: one keep-alive connection); so does the
    // bench for the queries it times alone.
    await client.get('/admin/customers?shop=all&q=bench', { 'HX-Request': 'true' });
    await refreshCommonTrigrams(knex);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const chosen = scenarios.filter((s) => !ONLY || s.name.toLowerCase().includes(ONLY));
    if (chosen.length === 0) throw new Error(`BENCH_ONLY=${ONLY} matches no scenario; the scenarios are:\n  ${scenarios.map((s) => s.name).join('\n  ')}`);
    const measure = async (scenario: Scenario) => {
      const path = `/admin/customers?${scenario.query}`;
      const parsed = parseCustomerListQuery(Object.fromEntries(new URLSearchParams(scenario.query).entries()));
      const multi = new URLSearchParams(scenario.query);
      parsed.filters.tag = multi.getAll('tag');
      const source = resolveListSource('all', shops, parsed.shop)!;
      const headers: Record<string, string> = scenario.fullPage ? {} : { 'HX-Request': 'true' };
      const viewer = scenario.rep ? repClient : client;
      const salesTeamId = scenario.rep ? team : null;
      for (let i = 0; i < 5; i++) await viewer.get(path, headers);
      const http: number[] = [];
      const db: number[] = [];
      let rows = 0;
      let countInPage = 0;
      for (let i = 0; i < SAMPLES; i++) {
        let t = performance.now();
        const res = await viewer.get(path, headers);
        http.push(performance.now() - t);
        if (res.status !== 200) throw new Error(`${scenario.name}: HTTP ${res.status}`);
        if (!res.body.includes('hx-get="/admin/customers/count')) countInPage += 1;
        t = performance.now();
        rows = (await listCustomers(knex, source, parsed, salesTeamId)).rows.length;
        db.push(performance.now() - t);
      }
      const countPath = `/admin/customers/count?${scenario.query}`;
      const counting: number[] = [];
      let count = '';
      for (let i = 0; i < SAMPLES; i++) {
        const t = performance.now();
        const res = await viewer.get(countPath, { 'HX-Request': 'true' });
        counting.push(performance.now() - t);
        if (res.status !== 200) throw new Error(`${scenario.name}, count: HTTP ${res.status}`);
        count = res.body.trim();
      }
      const result = { scenario: scenario.name, httpP50: percentile(http, 50), httpP95: percentile(http, 95), dbP50: percentile(db, 50), overheadP50: percentile(http, 50) - percentile(db, 50), rows, count, countP50: percentile(counting, 50), countInPage };
      results.push(result);
      console.log(`${result.scenario.padEnd(72)} http p50 ${result.httpP50.toFixed(1)} p95 ${result.httpP95.toFixed(1)} db p50 ${result.dbP50.toFixed(1)} ms; count ${result.countP50.toFixed(1)} ms`);
    };
    for (const scenario of chosen.filter((s) => !s.secondCurrency)) await measure(scenario);
    const twoCurrencies = chosen.filter((s) => s.secondCurrency);
    // The last shop by name, never the one-shop scenarios' own; switching moves its customers' spend (seconds).
    const other = shops.filter((s) => s.id !== north.id).at(-1);
    if (twoCurrencies.length && other) {
      const { currency } = (await knex('shops').where({ id: other.id }).first('currency')) as { currency: string };
      await knex('shops').where({ id: other.id }).update({ currency: SECOND_CURRENCY });
      // The switch rewrote its customers' sums: measured as autovacuum would leave them soon after.
      await knex.raw('VACUUM (ANALYZE) customer_spent_by_currency');
      try {
        for (const scenario of twoCurrencies) await measure(scenario);
      } finally {
        await knex('shops').where({ id: other.id }).update({ currency });
      }
    }

    // Throughput: 20 connections asking for first pages for a fixed time, from this process.
    const session = createClient(webServer.port, config.adminHost);
    await session.login(STAFF.email, STAFF.password);
    const load = (seconds: number) =>
      loadPages({ port: webServer.port, host: config.adminHost, path: '/admin/customers?shop=all&sort=email&dir=asc', headers: { Cookie: session.cookie(), 'HX-Request': 'true' }, connections: 20, seconds });
    // Fresh processes run slower until V8 has compiled the hot paths: warm them up first, unmeasured.
    await load(THROUGHPUT_WARMUP_SECONDS);
    const webCpuBefore = await webServer.cpuSeconds();
    const loadCpuBefore = process.cpuUsage();
    // In windows, to show how much the machine's own speed moves during the measurement.
    const windowSeconds = THROUGHPUT_SECONDS / THROUGHPUT_WINDOWS;
    const windowPages: number[] = [];
    for (let window = 0; window < THROUGHPUT_WINDOWS; window++) windowPages.push(await load(windowSeconds));
    const pages = windowPages.reduce((sum, n) => sum + n, 0);
    const loadCpu = process.cpuUsage(loadCpuBefore);
    const throughput = pages / THROUGHPUT_SECONDS;
    const windowRates = windowPages.map((n) => Math.round(n / windowSeconds));
    const windowRange = `${windowSeconds}-second windows ${Math.min(...windowRates)}–${Math.max(...windowRates)}`;
    const webCpuPerPageMs = ((await webServer.cpuSeconds()) - webCpuBefore) * 1000 / pages;
    const loadCpuShare = (loadCpu.user + loadCpu.system) / 1e6 / THROUGHPUT_SECONDS;
    console.log(`throughput, 20 connections, ${WEB_PROCESSES} web processes: ${throughput.toFixed(0)} list pages/s (${windowRange}); web CPU ${webCpuPerPageMs.toFixed(2)} ms a page; load generator ${(loadCpuShare * 100).toFixed(0)} % of a core`);
    session.close();

    const customers = Number((await knex('customers').count('* as n').first())?.n ?? 0);
    const orders = Number((await knex('orders').count('* as n').first())?.n ?? 0);
    const report = { date: new Date().toISOString(), customers, orders, samples: SAMPLES, results, throughputPagesPerSecond: Math.round(throughput), throughputWindowPagesPerSecond: windowRates, webCpuPerPageMs: Number(webCpuPerPageMs.toFixed(2)), loadGeneratorCoreShare: Number(loadCpuShare.toFixed(2)), webProcesses: WEB_PROCESSES };
    const dir = path.resolve('bench/results');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'customer-list.json'), JSON.stringify(report, null, 2));
    const table = [
      `Customer list at ${customers.toLocaleString('en-GB')} customers / ${orders.toLocaleString('en-GB')} orders, ${SAMPLES} samples each (ms):`,
      '',
      '| scenario | HTTP p50 | HTTP p95 | DB p50 | app overhead p50 | rows | count shown | count HTTP p50 | pages showing the count |',
      '|---|---:|---:|---:|---:|---:|---|---:|---:|',
      ...results.map((r) => `| ${r.scenario} | ${r.httpP50.toFixed(1)} | ${r.httpP95.toFixed(1)} | ${r.dbP50.toFixed(1)} | ${r.overheadP50.toFixed(1)} | ${r.rows} | ${r.count} | ${r.countP50.toFixed(1)} | ${r.countInPage}/${SAMPLES} |`),
      '',
      `Throughput with 20 concurrent connections to ${WEB_PROCESSES} web processes: ${Math.round(throughput)} list pages/s (${windowRange}; web CPU ${webCpuPerPageMs.toFixed(2)} ms a page; the load generator took ${Math.round(loadCpuShare * 100)} % of a core).`,
    ].join('\n');
    await writeFile(path.join(dir, 'customer-list.md'), table + '\n');
    console.log(`\n${table}`);

    client.close();
    repClient.close();
  } finally {
    await webServer.stop();
  }
  await ctx.close();
}

/**
 * A segment of one group, created once (the seed makes the other segment), linked as the groups
 * page links it (which also refreshes the planner's statistics).
 */
async function segmentOfGroup(knex: Knex, staffId: number, name: string, groupId: number): Promise<number> {
  const [segment] = (await knex('segments').insert({ name, description: 'Large benchmark set' }).onConflict('name').merge({ updatedAt: knex.fn.now() }).returning('id')) as Array<{ id: number }>;
  await addSegmentGroup(knex, (await loadStaffPrincipal(knex, staffId))!, segment!.id, groupId);
  return segment!.id;
}

await main();

/**
 * The bench's sales team, one customer in a hundred (drawn by id, of those without a team), and
 * its sales rep, who sees the shop of `shopCode`; created once.
 */
async function benchSalesTeam(knex: Knex, shopCode: string): Promise<number> {
  const existing = (await knex('salesTeams').where({ name: 'Bench team' }).first('id')) as { id: number } | undefined;
  if (existing) return existing.id;
  const [created] = (await knex('salesTeams').insert({ name: 'Bench team' }).returning('id')) as Array<{ id: number }>;
  await knex.raw('UPDATE customers SET sales_team_id = ? WHERE sales_team_id IS NULL AND (hashint8(id * 7919 + 45) & 2147483647) % 100 = 0', [created!.id]);
  await knex.raw('VACUUM (ANALYZE) customers');
  const repId = await createStaff(knex, { ...REP, role: 'sales_rep', shopCodes: [shopCode] });
  await knex('staffUsers').where({ id: repId }).update({ salesTeamId: created!.id });
  return created!.id;
}
