// `npm run bench:dashboard`: the customer dashboard for a customer with 1 order and one with 10,000.
// Uses the benchmark database of `npm run bench` (run that first; see bench/README.md).
import { performance } from 'node:perf_hooks';
import { createContext } from '../app/context.js';
import { createLogger } from '../app/lib/logger.js';
import { sameEmail } from '../app/models/customer.model.js';
import { benchConfig, DATABASE_URL, freePort, SAMPLES, spawnWeb, STAFF } from './bench-setup.js';
import { createClient, percentile } from './http-client.js';

const HEAVY_EMAIL = 'bench-10k-orders@example.test';

const config = benchConfig();
const ctx = await createContext(config, createLogger('warn'), DATABASE_URL);
const knex = ctx.knex;
if (!(await knex('staffUsers').where({ email: STAFF.email }).first('id'))) throw new Error('Run `npm run bench` first: it builds the benchmark database.');

const shop = await knex('shops').where({ code: 'north' }).first('id');
const light = await knex('customerShops').where({ shopId: shop.id, ordersCount: 1 }).first('customerId');
let heavy = await knex('customers').where(sameEmail(knex, HEAVY_EMAIL)).first('id');
if (!heavy) {
  // 10,000 orders in one statement, with the per-order trigger off and the figures computed once.
  [heavy] = await knex('customers').insert({ email: HEAVY_EMAIL, firstName: 'Heavy', lastName: 'Buyer', state: 'active' }).returning('id');
  await knex('customerShops').insert({ customerId: heavy.id, shopId: shop.id, status: 'active' });
  await knex.transaction(async (trx) => {
    await trx.raw('ALTER TABLE orders DISABLE TRIGGER orders_customer_stats');
    await trx.raw(
      `INSERT INTO orders (shop_id, customer_id, number, status, currency, subtotal, total, placed_at)
       SELECT ?, ?, 'H-' || n, 'completed', 'EUR', 1000 + n, 1000 + n, now() - n * interval '1 hour' FROM generate_series(1, 10000) n`,
      [shop.id, heavy.id],
    );
    await trx.raw('ALTER TABLE orders ENABLE TRIGGER orders_customer_stats');
    await trx.raw('SELECT refresh_customer_shop_order_stats(?, ?), refresh_customer_order_stats(?)', [heavy.id, shop.id, heavy.id]);
  });
}

// The app as production runs it, in a process of its own (see customer-list.bench.ts).
const web = await spawnWeb(await freePort(), 1);
// Stopped however the run ends (see customer-list.bench.ts).
try {
  const client = createClient(web.port, config.adminHost);
  await client.login(STAFF.email, STAFF.password);

  const rows: string[] = [];
  for (const [label, id] of [
    ['customer with 1 order', light.customerId],
    ['customer with 10,000 orders', heavy.id],
  ] as const) {
    const path = `/admin/customers/${id}`;
    for (let i = 0; i < 5; i++) await client.get(path);
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const t = performance.now();
      const res = await client.get(path);
      samples.push(performance.now() - t);
      if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status}`);
    }
    rows.push(`| ${label} | ${percentile(samples, 50).toFixed(1)} | ${percentile(samples, 95).toFixed(1)} |`);
  }
  console.log(['| dashboard (full page) | HTTP p50 ms | HTTP p95 ms |', '|---|---:|---:|', ...rows].join('\n'));
  client.close();
} finally {
  await web.stop();
}
await ctx.close();
