// `npm run bench:jobs`: the customer list's jobs at scale — bulk tag of 100,000 customers, export of
// every customer (as a job and streamed), import of a 1,000,000-row Shopify CSV. The web side runs
// in this process; the jobs run in a separate worker process (`npm run start:worker`) whose peak
// memory is measured. See bench/README.md.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { once } from 'node:events';
import { createContext, type AppContext } from '../app/context.js';
import { createKnex } from '../app/db/knex.js';
import { createLogger } from '../app/lib/logger.js';
import { enqueueImportAnalysis, enqueueImportRun } from '../app/queues/import.queue.js';
import { createImport, startImportRun } from '../app/services/imports/import.service.js';
import { createStaff, loadStaffPrincipal } from '../app/services/staff.service.js';
import { createHttpServer } from '../app/http/http-server.js';
import { createApp } from '../app/server.js';
import { seedDemoData } from '../seeds/demo.seed.js';
import { benchConfig, createDatabase, DATABASE_URL, ensureBenchDatabase, spawnWorker, STAFF, waitFor } from './bench-setup.js';
import { createClient } from './http-client.js';

const BULK_SIZE = Number(process.env.BENCH_BULK_CUSTOMERS ?? 100_000);
const IMPORT_ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 1_000_000);
const IMPORT_DATABASE_URL = process.env.BENCH_IMPORT_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/cp_bench_import';

interface JobResult {
  scenario: string;
  seconds: number;
  rows: number;
  workerPeakMb: number | null;
  target: string;
}

const results: JobResult[] = [];
function report(result: JobResult) {
  results.push(result);
  console.log(`${result.scenario.padEnd(60)} ${result.seconds.toFixed(1)} s  ${result.rows.toLocaleString('en-GB')} rows  worker peak ${result.workerPeakMb?.toFixed(0) ?? '–'} MB  (target ${result.target})`);
}

/** The bulk form's hidden fields as the list page renders them. */
async function formOf(client: ReturnType<typeof createClient>, listQuery: string, formId: string) {
  const page = await client.get(`/admin/customers?${listQuery}`);
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(page.body)?.[1];
  const key = new RegExp(`${formId}[\\s\\S]*?name="key" value="([^"]+)"`).exec(page.body)?.[1];
  if (!csrf || !key) throw new Error(`no ${formId} on the list page`);
  return { _csrf: csrf, key };
}

async function bulkTag(ctx: AppContext, client: ReturnType<typeof createClient>, worker: Awaited<ReturnType<typeof spawnWorker>>) {
  const knex = ctx.knex;
  // A created-date range holding about BULK_SIZE customers.
  const [edge] = await knex('customers').orderBy('createdAt').offset(BULK_SIZE).limit(1).select(knex.raw("to_char(created_at - interval '1 day', 'YYYY-MM-DD') AS day"));
  const query = `shop=all&created_to=${edge.day}`;
  for (const [action, label] of [['add_tag', 'bulk add tag'], ['remove_tag', 'bulk remove tag']] as const) {
    const form = await formOf(client, query, 'id="bulk-form"');
    const started = performance.now();
    const res = await client.request('POST', '/admin/customers/bulk', new URLSearchParams({ ...form, action, tag: 'bench-bulk', target: 'all', query }).toString());
    const id = Number(/\/bulk\/(\d+)$/.exec(String(res.headers.location))?.[1]);
    if (!id) throw new Error(`bulk form refused: ${res.status}`);
    const done = await waitFor(async () => {
      const op = await knex('bulkOperations').where({ id }).first('status', 'processed', 'error');
      if (op.status === 'failed') throw new Error(`bulk operation failed: ${op.error}`);
      return op.status === 'done' ? op : undefined;
    }, 300_000, label);
    report({ scenario: `${label} (${done.processed.toLocaleString('en-GB')} customers)`, seconds: (performance.now() - started) / 1000, rows: done.processed, workerPeakMb: await worker.peakRssMb(), target: action === 'add_tag' ? '< 3 s' : '—' });
  }
}

async function exportAll(ctx: AppContext, client: ReturnType<typeof createClient>, worker: Awaited<ReturnType<typeof spawnWorker>>) {
  const form = await formOf(client, 'shop=all', 'action="/admin/customers/exports"');
  let started = performance.now();
  const res = await client.request('POST', '/admin/customers/exports', new URLSearchParams({ ...form, query: 'shop=all' }).toString());
  const id = Number(/\/exports\/(\d+)$/.exec(String(res.headers.location))?.[1]);
  if (!id) throw new Error(`export form refused: ${res.status}`);
  const done = await waitFor(async () => {
    const job = await ctx.knex('customerExports').where({ id }).first('status', 'rowsWritten', 'bytes', 'error');
    if (job.status === 'failed') throw new Error(`export failed: ${job.error}`);
    return job.status === 'done' ? job : undefined;
  }, 300_000, 'the export');
  report({ scenario: `export as a job, all customers (${(Number(done.bytes) / 1048576).toFixed(0)} MB)`, seconds: (performance.now() - started) / 1000, rows: done.rowsWritten, workerPeakMb: await worker.peakRssMb(), target: '< 20 s, flat memory' });

  // The same export streamed to the browser, for comparison (the web process's memory, sampled).
  started = performance.now();
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const streamed = await client.get('/admin/customers/export.csv?shop=all');
  clearInterval(sampler);
  const rows = streamed.body.split('\n').length - 2;
  report({ scenario: 'export streamed over HTTP, all customers', seconds: (performance.now() - started) / 1000, rows, workerPeakMb: null, target: '< 20 s' });
  console.log(`  (web process peak RSS during the streamed export, including the bench client's buffered body: ${(peak / 1048576).toFixed(0)} MB)`);
}

/** A Shopify customer export with `rows` customers, written once and reused. */
async function shopifyCsv(rows: number): Promise<string> {
  const file = path.resolve(`.data/bench/shopify-${rows}.csv`);
  if (await stat(file).then(() => true, () => false)) return file;
  await mkdir(path.dirname(file), { recursive: true });
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write('Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,Default Address Address1,Default Address Address2,Default Address City,Default Address Province Code,Default Address Country Code,Default Address Zip,Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,Tax Exempt,Tags\n');
  const countries = ['DE', 'AT', 'CH', 'NL', 'FR', 'US', 'GB', 'NO'];
  let chunk = '';
  for (let i = 1; i <= rows; i++) {
    chunk += `'${7_000_000 + i},Import${i % 997},Customer${i % 1009},import-${i}@bench.example.test,${i % 3 ? 'no' : 'yes'},${i % 5 ? '' : `"Firm ${i % 301}, Ltd"`},${i % 200} Bench Street,,City ${i % 89},,${countries[i % countries.length]},'${10000 + (i % 89999)},,'+49 30 ${1000000 + i},no,0.00,0,,${i % 11 ? 'no' : 'yes'},"bench, import-${i % 7}"\n`;
    if (i % 5_000 === 0) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  out.end();
  await once(out, 'finish');
  return file;
}

async function importShopify() {
  await createDatabase(IMPORT_DATABASE_URL, { fresh: true });
  const setup = createKnex(IMPORT_DATABASE_URL);
  await seedDemoData(setup, { customers: 10 });
  const staffId = await createStaff(setup, { ...STAFF, role: 'owner' });
  await setup.destroy();

  const file = await shopifyCsv(IMPORT_ROWS);
  const ctx = await createContext(benchConfig(IMPORT_DATABASE_URL), createLogger('warn'), IMPORT_DATABASE_URL);
  const worker = await spawnWorker(IMPORT_DATABASE_URL);
  try {
    const knex = ctx.knex;
    const staff = (await loadStaffPrincipal(knex, staffId))!;
    const shop = await knex('shops').where({ code: 'north' }).first('id');
    let started = performance.now();
    const stored = await ctx.files.receive(createReadStream(file));
    const importId = await createImport(knex, { staffId, shopId: shop.id, originalName: path.basename(file), storageKey: stored.key, byteSize: stored.bytes, format: 'csv', tag: 'bench-import' });
    await enqueueImportAnalysis(ctx.queues.imports, importId);
    const analysed = await waitFor(async () => {
      const record = await knex('customerImports').where({ id: importId }).first('status', 'mapping', 'rowCount', 'error');
      if (record.status === 'failed') throw new Error(`analysis failed: ${record.error}`);
      return record.status === 'ready' ? record : undefined;
    }, 600_000, 'the analysis');
    report({ scenario: `import: upload + analysis (${(stored.bytes / 1048576).toFixed(0)} MB)`, seconds: (performance.now() - started) / 1000, rows: analysed.rowCount, workerPeakMb: await worker.peakRssMb(), target: '—' });

    started = performance.now();
    const run = await startImportRun(knex, staff, importId, { mapping: analysed.mapping, tag: 'bench-import', mode: 'import' });
    await enqueueImportRun(ctx.queues.imports, importId, 'import', run);
    const done = await waitFor(async () => {
      const record = await knex('customerImports').where({ id: importId }).first('status', 'createdCount', 'updatedCount', 'rejectedCount', 'error');
      if (record.status === 'failed') throw new Error(`import failed: ${record.error}`);
      return record.status === 'done' ? record : undefined;
    }, 1_800_000, 'the import');
    report({
      scenario: `import: merge (${done.createdCount} created, ${done.updatedCount} updated, ${done.rejectedCount} rejected)`,
      seconds: (performance.now() - started) / 1000,
      rows: done.createdCount + done.updatedCount + done.rejectedCount,
      workerPeakMb: await worker.peakRssMb(),
      target: '< 90 s in all, worker < 400 MB',
    });
  } finally {
    await worker.stop();
    await ctx.close();
  }
}

async function bulkAndExport(only: Set<string>) {
  await ensureBenchDatabase();
  const ctx = await createContext(benchConfig(), createLogger('warn'), DATABASE_URL);
  const web = createApp(ctx);
  const server = createHttpServer(web.app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = createClient((server.address() as AddressInfo).port, ctx.config.adminHost);
  await client.login(STAFF.email, STAFF.password);
  const worker = await spawnWorker();
  try {
    if (only.has('bulk')) await bulkTag(ctx, client, worker);
    if (only.has('export')) await exportAll(ctx, client, worker);
  } finally {
    await worker.stop();
    client.close();
    server.close();
    await web.close();
    await ctx.close();
  }
}

async function main() {
  const only = new Set((process.env.BENCH_JOBS ?? 'bulk,export,import').split(','));
  if (only.has('bulk') || only.has('export')) await bulkAndExport(only);
  // The import runs against its own fresh database, so it needs nothing of the large one.
  if (only.has('import')) await importShopify();

  const table = [
    '| job | seconds | rows | worker peak RSS (MB) | target |',
    '|---|---:|---:|---:|---|',
    ...results.map((r) => `| ${r.scenario} | ${r.seconds.toFixed(1)} | ${r.rows.toLocaleString('en-GB')} | ${r.workerPeakMb?.toFixed(0) ?? '–'} | ${r.target} |`),
  ].join('\n');
  const dir = path.resolve('bench/results');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'customer-jobs.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
  await writeFile(path.join(dir, 'customer-jobs.md'), `${table}\n`);
  console.log(`\n${table}`);
}

await main();
